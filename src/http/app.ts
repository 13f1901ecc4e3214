/**
 * The REST API (Fastify), compatible with the Python Doctor: same paths, parameter names, defaults and
 * response fields. Handlers are thin: input -> service function -> reply. Validation happens once, in the
 * service's zod schemas, so REST, MCP and CLI give the same messages; the same schemas document the
 * routes in OpenAPI (/openapi.json, UI at /docs).
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { z } from 'zod';
import * as service from '../service/index.js';
import type { DoctorContext } from '../service/index.js';
import { REQUEST_LANE, inReadLane } from '../db/read-lane.js';
import { MAX_FULL_TEXT_CHARS } from '../search/search-docs.js';
import { JOB_STATUSES } from '../store/jobs.js';
import { requireToken } from './auth.js';
import { clientErrorHandler, frameworkError, sendError } from './errors.js';
import { useStrictJsonBodies } from './json-body.js';
import { DEFAULT_TIMEOUTS, MAX_HEADER_BYTES, timeoutOptions, type HttpTimeouts } from './limits.js';
import { registerSiteMap } from './sitemap.js';
import { eventStreams } from './sse.js';
import { FRAGMENT_HEADER, isPublicUiRequest, registerUi, type UiNotFound } from './ui/routes.js';
import { registerPortableRoutes } from './portable.js';
import { registerLocalRoutes } from './local.js';
import { packageVersion } from '../version.js';
import { LATE, within } from '../deadline.js';

export interface HttpAppOptions {
  readOnly?: boolean;
  apiToken?: string;
  /** Fastify request logging (off by default; Doctor logs what matters itself). */
  logger?: boolean;
  /** Largest accepted request body in bytes (default 1 MiB); larger bodies get 413. */
  bodyLimit?: number;
  /**
   * Longest accepted query string in characters (default 24 KiB: a 2,000-character query in any script,
   * percent-encoded, fits); longer ones get 414. The server refuses request heads over 32 KiB (431,
   * MAX_HEADER_BYTES), so the limit sits below that to answer with a readable detail.
   */
  maxQueryLength?: number;
  /**
   * Host names the server answers to (the Host header, port aside). Set by `doctor serve` when it listens on
   * loopback without a token: a web page that rebinds its own DNS name to 127.0.0.1 then gets 403 instead
   * of reaching the API. Undefined: any Host.
   */
  allowedHosts?: readonly string[];
  /**
   * The key `doctor serve` writes into server.json: /export_index and /import_index (paths on this machine)
   * answer only requests carrying it (src/http/portable.ts). Undefined: they refuse every request.
   */
  localKey?: string;
  /** How long a client may take to send a request (src/http/limits.ts; defaults for a local service). */
  timeouts?: Partial<HttpTimeouts>;
  /** Reported by /health as instance_id, so the CLI can tell this server from another on the same address. */
  instanceId?: string;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_MAX_QUERY_LENGTH = 24 * 1024;

/** Query parameters that may repeat (`tags=a&tags=b`); every other one takes its last value, as FastAPI did. */
const REPEATABLE = new Set(['tags', 'status']);

/** Descriptions of every input field, for OpenAPI only (validation stays in src/service/inputs.ts). */
const FIELD_DOCS: Record<string, string> = {
  query: 'What to look for, in words or code identifiers.',
  tags: 'Only pages having one of these tags. Repeat the parameter (tags=a&tags=b) or separate with commas (tags=a,b).',
  max_results: 'How many pages to return (1 to 100); one result per page, its best-matching chunk.',
  return_full_document_text: "Return each page's whole Markdown text in chunk_text instead of the matching chunk.",
  mode: 'hybrid (vector + keyword, fused by reciprocal rank), vector (score = 1 - cosine distance) or keyword (BM25).',
  page: 'Which page of the listing (100 entries each), starting at 1.',
  page_id: 'A page id from search_docs or list_doc_pages.',
  starting_line: 'First line to return (1-based), at most total_lines (422 past the end).',
  ending_line: 'Last line to return (inclusive); -1 means to the end of the page; past the end reads to the end.',
  search_substring: 'Only tags containing this text (case-insensitive; small typos tolerated).',
  url: 'Start URL of the crawl (http or https). Links under it are followed.',
  max_pages: 'Stop after this many pages (1 to 1000).',
  max_depth: 'How many links away from the start URL to follow (0 to 20; default 3).',
  scope: 'Which links to follow: prefix (under the start URL, default), host (same host) or domain (same registrable domain).',
  include: 'Only follow URLs matching one of these patterns.',
  exclude: 'Never follow URLs matching one of these patterns.',
  render: 'Render pages in a headless browser: never, auto (when a page looks empty without it) or always.',
  respect_robots: "Honour the site's robots.txt and its pages' <meta name=\"robots\"> noindex / nofollow (default true).",
  job_id: 'A job id from fetch_url, or its first 8 or more characters.',
  domain: 'Delete every page of this domain (host name).',
  page_ids: 'Delete these pages.',
  root_page_id: 'A site: the root page of a crawl (root_page_id of its pages). delete_docs deletes every page of it.',
  limit: 'How many jobs to return, newest first (1 to 1000).',
  status: 'Only jobs in these states (pending, running, completed, failed, cancelled); repeatable or comma-separated.',
};

type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema>; anyOf?: JsonSchema[] };

/**
 * JSON Schema of a zod input schema, for documentation. Union inputs that exist for lenient parsing
 * (a tag list given as one string, "true"/"1" booleans) are shown in their plain form, which is what a
 * client should send; every field gets its description.
 */
function docSchema(schema: z.ZodType): JsonSchema {
  const s = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  delete s.$schema;
  for (const [key, prop] of Object.entries(s.properties ?? {})) {
    let p = prop;
    const variants = p.anyOf ?? [];
    const list = variants.find((v) => v.type === 'array');
    const bool = variants.find((v) => v.type === 'boolean');
    if (list) p = { ...list, ...(p.default !== undefined ? { default: p.default } : {}) };
    else if (bool) p = { type: 'boolean', ...(p.default !== undefined ? { default: p.default } : {}) };
    const description = FIELD_DOCS[key];
    s.properties![key] = description ? { ...p, description } : p;
  }
  return s;
}

const detail = { type: 'object', properties: { detail: { type: 'string', description: 'What went wrong and what to do.' } } };
const errors = (...codes: number[]) => {
  const text: Record<number, string> = {
    400: 'The body is not valid JSON.',
    401: 'Missing or wrong bearer token (when DOCTOR_API_TOKEN is set).',
    403: 'The server is read-only.',
    404: 'No such page or job.',
    409: 'This process does not run crawl jobs.',
    413: 'The body is larger than the limit (1 MiB by default).',
    414: 'The query string is longer than the limit (24 KiB by default).',
    415: 'The body is not sent as application/json.',
    422: 'An input is missing or out of range; detail names it.',
  };
  return Object.fromEntries(codes.map((c) => [c, { description: text[c], ...detail }]));
};

const obj = (properties: Record<string, unknown>, description: string) => ({ type: 'object', description, properties });
const str = { type: 'string' };
const num = { type: 'number' };
const int = { type: 'integer' };
const strings = { type: 'array', items: str };
const progressSchema = obj(
  {
    job_id: str, status: { type: 'string', enum: [...JOB_STATUSES] }, completed: { type: 'boolean' }, pages_crawled: int,
    pages_discovered: int, pages_skipped: int, pages_total: int, progress_percent: int, max_pages: int, url: str, tags: strings,
    error_message: { type: ['string', 'null'] }, created_at: str, updated_at: str,
  },
  "A crawl job's progress. completed is true once the job finished (completed, failed or cancelled).",
);

export async function buildHttpApp(ctx: DoctorContext, opts: HttpAppOptions = {}): Promise<FastifyInstance> {
  const maxQuery = opts.maxQueryLength ?? DEFAULT_MAX_QUERY_LENGTH;
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  const maxParamLength = 500;
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength },
    ...timeoutOptions(timeouts),
    clientErrorHandler: clientErrorHandler({ maxHeaderBytes: MAX_HEADER_BYTES, headersTimeoutMs: timeouts.headersMs, requestTimeoutMs: timeouts.requestMs }),
    frameworkErrors: frameworkError(maxParamLength),
  });
  // Validation is the service's (identical messages everywhere); route schemas only document, and
  // responses are sent as they are (a response schema must never drop a field).
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // Bodies are JSON only; anything else gets a 415 that says so (not a confusing 422 about a string).
  app.removeContentTypeParser('text/plain');
  useStrictJsonBodies(app);

  // Requests' database reads share one lane, taking turns with background work (crawls) when connections are busy.
  app.addHook('onRequest', (_req, _reply, done) => inReadLane(REQUEST_LANE, done));
  app.addHook('onRequest', async (req, reply) => {
    const q = req.url.indexOf('?');
    if (q >= 0 && req.url.length - q - 1 > maxQuery) {
      return reply.code(414).send({
        detail: `query string longer than ${maxQuery} characters: send fewer or shorter parameters (search_docs also takes its inputs as a JSON body: POST /search_docs)`,
      });
    }
  });
  if (opts.allowedHosts) {
    const allowed = new Set(opts.allowedHosts.map((h) => h.toLowerCase()));
    app.addHook('onRequest', async (req, reply) => {
      const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
      if (!allowed.has(host)) {
        return reply.code(403).send({
          detail: `requests for host "${host}" are refused (DNS rebinding protection): use http://127.0.0.1 or http://localhost, or set DOCTOR_API_TOKEN to serve other names`,
        });
      }
    });
  }
  if (opts.apiToken) requireToken(app, opts.apiToken, ['/health', isPublicUiRequest]);

  app.setErrorHandler((err: FastifyError | Error, req, reply) => sendError(ctx.log, req, reply, err, bodyLimit));
  let uiNotFound: UiNotFound | undefined;
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    // hasRoute reads its url as a route pattern (":name" a parameter, "*" a wildcard, which find-my-way refuses
    // anywhere but at the end): a requested path holding either is no route's own path, so it gets the 404.
    const literal = !/[:*]/.test(path);
    const allowed = literal ? (['GET', 'POST'] as const).filter((method) => app.hasRoute({ method, url: path })) : [];
    if (allowed.length) {
      return reply.code(405).header('allow', allowed.join(', ')).send({ detail: `${req.method} is not allowed on ${path}: use ${allowed.join(' or ')}` });
    }
    // a browser (it asks for HTML) or the interface's own script gets an interface page; API clients, JSON
    const wantsUi = /\btext\/html\b/.test(String(req.headers.accept ?? '')) || req.headers[FRAGMENT_HEADER] !== undefined;
    if (req.method === 'GET' && path.startsWith('/ui/') && wantsUi && uiNotFound) return uiNotFound(req, reply);
    return reply.code(404).send({ detail: `no route ${req.method} ${path}; the API is described at /docs` });
  });

  await app.register(swagger, {
    openapi: {
      // 3.1: its schema objects are JSON Schema 2020-12, which is what zod's toJSONSchema writes.
      openapi: '3.1.0',
      info: {
        title: 'Doctor',
        version: packageVersion(),
        description:
          'Crawl, index and search documentation. Compatible with the Python Doctor API (same paths, parameters and fields). ' +
          'Errors are JSON {"detail": "..."}: 422 for invalid input, 404 for unknown ids.',
      },
      tags: [
        { name: 'search', description: 'Search and read indexed pages' },
        { name: 'crawl', description: 'Crawl jobs' },
        { name: 'manage', description: 'Delete indexed pages; server health' },
        { name: 'site map', description: 'Browse crawled sites as HTML' },
      ],
      components: opts.apiToken ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : undefined,
      security: opts.apiToken ? [{ bearer: [] }] : undefined,
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const writeGuard = async (_req: FastifyRequest, reply: FastifyReply) => {
    if (opts.readOnly) return reply.code(403).send({ detail: 'this Doctor server is read-only (DOCTOR_READ_ONLY / --read-only): writes are refused' });
  };
  const query = (req: FastifyRequest) => singleValued(req.query);
  const body = (req: FastifyRequest) => (req.body ?? {}) as never;

  const searchResults = obj(
    {
      results: {
        type: 'array',
        items: obj(
          {
            chunk_text: str, page_id: str, tags: strings, score: num, url: str, title: { type: ['string', 'null'] },
            full_document: { type: 'boolean' },
            same_text_urls: {
              type: 'array',
              items: str,
              description: 'Lower-ranked pages whose best passage is this same text (a site publishing one text at several URLs), left out of the results; absent when none.',
            },
            truncated: { type: 'boolean', description: 'With return_full_document_text: the page text was cut, or left out, at the answer\'s limit.' },
          },
          'The best chunk of one page (or the whole page with return_full_document_text).',
        ),
      },
      note: {
        type: 'string',
        description:
          'Present when words of the query are in no indexed page (the results then match only its other words or its meaning), when it holds only ' +
          'common words, when nothing is indexed, or when full-document text was truncated: what happened and what to do.',
      },
    },
    `Results, best first. With return_full_document_text an answer carries at most ${MAX_FULL_TEXT_CHARS.toLocaleString('en-US')} characters of page text.`,
  );
  app.get('/search_docs', {
    schema: {
      tags: ['search'],
      summary: 'Search indexed documentation',
      description:
        'Hybrid search (vector similarity + BM25 keywords, fused with reciprocal rank fusion) over the indexed chunks. ' +
        "One result per page, carrying that page's best chunk; max_results pages come back when that many match. " +
        'score: in vector mode 1 - cosine distance; in keyword mode the BM25 score; in hybrid mode the fused RRF score (higher is better).',
      querystring: docSchema(service.searchDocsInput),
      response: {
        200: searchResults,
        ...errors(401, 414, 422),
      },
    },
  }, async (req) => service.searchDocs(ctx, query(req)));

  // The same search with its inputs in a JSON body: for inputs longer than a query string carries.
  app.post('/search_docs', {
    schema: {
      tags: ['search'],
      summary: 'Search indexed documentation (inputs as a JSON body)',
      description: 'The same as GET /search_docs, for clients whose inputs would make the query string too long.',
      body: docSchema(service.searchDocsInput),
      response: { 200: searchResults, ...errors(401, 413, 415, 422) },
    },
  }, async (req) => service.searchDocs(ctx, body(req)));

  app.get('/list_doc_pages', {
    schema: {
      tags: ['search'],
      summary: 'List indexed pages',
      description: 'Indexed pages, newest first, 100 per page, optionally only those with one of the given tags.',
      querystring: docSchema(service.listDocPagesInput),
      response: {
        200: obj(
          {
            doc_pages: { type: 'array', items: obj({ page_id: str, domain: str, tags: strings, crawl_date: str, url: str, title: str }, 'A page.') },
            total_pages: { type: 'integer', description: 'Pages matching (as the Python Doctor gave it; the same as total_docs).' },
            total_docs: int,
            listing_pages: { type: 'integer', description: 'Listing pages of 100 (at least 1): page goes from 1 to this.' },
            current_page: int,
            pages_per_page: int,
          },
          'One page of the listing.',
        ),
        ...errors(401, 422),
      },
    },
  }, async (req) => service.listDocPages(ctx, query(req)));

  app.get('/get_doc_page', {
    schema: {
      tags: ['search'],
      summary: "Read a page's text",
      description:
        "A page's Markdown text, whole, a range of its lines, or the section around a search result's passage (chunk_id), with the page's total line " +
        'count and the lines the text holds.',
      querystring: docSchema(service.getDocPageInput),
      response: {
        200: obj({ text: str, total_lines: int, page_id: str, url: str, title: str, starting_line: int, ending_line: int }, 'The text.'),
        ...errors(401, 404, 422),
      },
    },
  }, async (req) => service.getDocPage(ctx, query(req)));

  app.get('/list_tags', {
    schema: {
      tags: ['search'],
      summary: 'List tags',
      description: 'Every tag in use, optionally only those matching a substring (case-insensitive, typo-tolerant).',
      querystring: docSchema(service.listTagsInput),
      response: { 200: obj({ tags: strings }, 'Tags, sorted.'), ...errors(401, 422) },
    },
  }, async (req) => service.listTags(ctx, query(req)));

  app.post('/fetch_url', {
    preHandler: writeGuard,
    schema: {
      tags: ['crawl'],
      summary: 'Crawl a documentation site',
      description:
        'Starts a crawl job from url and returns its job_id at once; follow it with /job_progress. Pages are converted to Markdown, ' +
        'chunked, embedded and indexed as they arrive. Private and loopback addresses are refused unless allowed in the configuration.',
      body: docSchema(service.fetchUrlInput),
      response: { 200: obj({ job_id: str, status: str, url: str }, 'The job started.'), ...errors(400, 401, 403, 409, 413, 415, 422) },
    },
  }, async (req) => service.fetchUrl(ctx, body(req)));

  app.get('/job_progress', {
    schema: {
      tags: ['crawl'],
      summary: "A crawl job's progress",
      description: 'Progress of a crawl job, by its full id or its first 8 or more characters.',
      querystring: docSchema(service.jobProgressInput),
      response: { 200: progressSchema, ...errors(401, 404, 422) },
    },
  }, async (req) => service.jobProgress(ctx, query(req)));

  app.post('/cancel_job', {
    preHandler: writeGuard,
    schema: {
      tags: ['crawl'],
      summary: 'Cancel a crawl job',
      description: 'Cancels a pending or running crawl job. Pages already indexed stay (remove them with /delete_docs). Returns the final progress.',
      body: docSchema(service.jobProgressInput),
      response: { 200: progressSchema, ...errors(400, 401, 403, 404, 409, 415, 422) },
    },
  }, async (req) => service.cancelJob(ctx, body(req)));

  app.get('/jobs', {
    schema: {
      tags: ['crawl'],
      summary: 'List crawl jobs',
      description: 'Crawl jobs, newest first, optionally only those in the given states.',
      querystring: docSchema(service.listJobsInput),
      response: { 200: obj({ jobs: { type: 'array', items: progressSchema } }, 'Jobs.'), ...errors(401, 422) },
    },
  }, async (req) => service.listJobs(ctx, query(req)));

  app.post('/delete_docs', {
    preHandler: writeGuard,
    schema: {
      tags: ['manage'],
      summary: 'Delete indexed pages',
      description:
        'Deletes the pages the selectors pick (tags: pages with any of them; domain; page_ids; root_page_id: every page of that site) ' +
        'with their chunks and embeddings, in one transaction, and says what it deleted. At least one selector is required; ' +
        'when several are given, a page must match all of them. Deleting by tags, domain or root_page_id first cancels the ' +
        'crawl jobs that are storing pages of it (cancelled_jobs), which would store them again.',
      body: docSchema(service.deleteDocsInput),
      response: {
        200: obj({ deleted_pages: int, deleted_chunks: int, page_ids: strings, cancelled_jobs: strings }, 'What was deleted, and the crawl jobs cancelled.'),
        ...errors(400, 401, 403, 413, 415, 422),
      },
    },
  }, async (req) => service.deleteDocs(ctx, body(req)));

  app.get('/health', {
    schema: {
      tags: ['manage'],
      summary: 'Health and counts',
      description: 'Liveness, version, page and chunk counts, the vector engine in use. Never needs the token.',
      response: {
        200: obj(
          {
            status: { type: 'string', enum: ['ok'] }, version: str, pages: int, chunks: int, engine: str, embedding: { type: 'object' }, read_only: { type: 'boolean' },
            instance_id: { type: 'string', description: 'Identifies this server process (also in <data dir>/server.json).' },
            workers: {
              type: 'object',
              description: 'With --redis: the remote crawl workers connected (each with its throughput), as GET /workers.',
            },
          },
          'The server is up.',
        ),
      },
    },
  }, async () => {
    const { runs_crawls: _, ...status } = await service.healthStatus(ctx, { read_only: !!opts.readOnly });
    // a Redis outage must not make the server look down: the worker list is left out until Redis answers
    const listed = ctx.remote ? await within(service.listWorkers(ctx), 1000).catch(() => undefined) : undefined;
    const workers = listed === LATE ? undefined : listed;
    return { status: 'ok', ...status, ...(opts.instanceId ? { instance_id: opts.instanceId } : {}), ...(workers ? { workers } : {}) };
  });

  app.get('/sites', {
    schema: {
      tags: ['manage'],
      summary: 'Everything indexed, by site and by tag',
      description:
        'Sites (the root page of each crawl) with their tags, page and chunk counts and last crawl; every tag with its sites, pages and chunks; ' +
        'chunks stored without a page (e.g. migrated from Qdrant), by domain.',
      response: { 200: obj({ sites: { type: 'array' }, tags: { type: 'array' }, unattached: { type: 'array' }, totals: { type: 'object' } }, 'Counts.'), ...errors(401) },
    },
  }, async () => service.siteOverview(ctx));

  app.post('/recrawl_site', {
    preHandler: writeGuard,
    schema: {
      tags: ['crawl'],
      summary: 'Crawl a site again',
      description: 'Starts a crawl job with the settings of the job that crawled the site (start URL, tags, limits, scope, patterns). Unchanged pages are not re-embedded.',
      body: docSchema(service.siteInput),
      response: { 200: obj({ job_id: str, status: str, url: str }, 'The job started.'), ...errors(400, 401, 403, 404, 409, 415, 422) },
    },
  }, async (req) => service.recrawlSite(ctx, body(req)));

  app.get('/index_status', {
    schema: {
      tags: ['manage'],
      summary: 'The vector index',
      description: 'Engine, rows, indexed rows, index file and size, freshness (current, behind, building, ...) and settings: what `doctor index status` prints.',
      response: { 200: obj({ engine: str, ready: { type: 'boolean' }, rows: int, indexedRows: int, indexPath: str, indexBytes: int, freshness: str, detail: str, settings: str }, 'Status.'), ...errors(401) },
    },
  }, async () => service.indexStatus(ctx));

  app.get('/workers', {
    schema: {
      tags: ['crawl'],
      summary: 'Remote crawl workers',
      description:
        'With `doctor serve --redis`: the `doctor worker` processes connected through Redis (heartbeat in the last 30 s), each with its ' +
        'embedding model, pages in progress, pages done and pages per minute. Without --redis: remote is false and the list is empty.',
      response: { 200: obj({ remote: { type: 'boolean' }, pages_last_minute: int, workers: { type: 'array', items: { type: 'object', additionalProperties: true } } }, 'Workers.'), ...errors(401) },
    },
  }, async () => service.listWorkers(ctx));

  const openStream = eventStreams(app);
  app.get('/job_events', {
    schema: {
      tags: ['crawl'],
      summary: 'Live crawl progress (Server-Sent Events)',
      description:
        'A text/event-stream of `progress` events, each a job_progress object plus pages_per_second and eta_seconds, pushed as the crawl moves ' +
        '(at most ~10 a second per job). With job_id: that job, first its current state, ending with an `end` event once it finished. ' +
        'Without: every job, first each unfinished one.',
      querystring: docSchema(service.jobEventsInput),
      response: { 200: { description: 'text/event-stream', type: 'string' }, ...errors(401, 404, 409, 422) },
    },
  }, async (req, reply) => {
    const input = query(req) as { job_id?: string };
    let stream: ReturnType<typeof openStream> | undefined;
    const pending: service.JobEvent[] = [];
    const send = (e: service.JobEvent) => {
      if (!stream) return void pending.push(e);
      stream.send('progress', e);
      if (input.job_id && e.completed) {
        stream.send('end', {});
        stream.end();
      }
    };
    // Errors (unknown job, no job runner) are thrown here, before the stream starts, as JSON.
    const watch = await service.watchJobs(ctx, input, send);
    stream = openStream(req, reply);
    stream.onEnd(() => watch.close());
    for (const e of [...watch.initial, ...pending]) send(e);
  });

  registerSiteMap(app, ctx);
  uiNotFound = registerUi(app, ctx, { readOnly: !!opts.readOnly, apiToken: opts.apiToken });
  registerPortableRoutes(app, ctx, { localKey: opts.localKey, readOnly: opts.readOnly });
  registerLocalRoutes(app, ctx, { localKey: opts.localKey, readOnly: opts.readOnly });
  return app;
}

/** Query parameters as the service expects them: repeatable ones as given, the others their last value. */
function singleValued(query: unknown): never {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    out[key] = Array.isArray(value) && !REPEATABLE.has(key) ? value[value.length - 1] : value;
  }
  return out as never;
}

