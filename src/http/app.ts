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
import { ConflictError, NotFoundError, ValidationError, type DoctorContext } from '../service/index.js';
import { requireToken } from './auth.js';
import { registerSiteMap } from './sitemap.js';
import { packageVersion } from '../version.js';

export interface HttpAppOptions {
  readOnly?: boolean;
  apiToken?: string;
  /** Fastify request logging (off by default; Doctor logs what matters itself). */
  logger?: boolean;
  bodyLimit?: number;
  maxQueryLength?: number;
}

const jsonSchema = (schema: z.ZodType) => {
  const s = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete s.$schema;
  return s;
};

export async function buildHttpApp(ctx: DoctorContext, opts: HttpAppOptions = {}): Promise<FastifyInstance> {
  const maxQuery = opts.maxQueryLength ?? 8 * 1024;
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
  });
  // Validation is the service's (identical messages everywhere); route schemas only document.
  app.setValidatorCompiler(() => () => true);

  app.addHook('onRequest', async (req, reply) => {
    const q = req.url.indexOf('?');
    if (q >= 0 && req.url.length - q > maxQuery) {
      return reply.code(414).send({ detail: `query string longer than ${maxQuery} characters` });
    }
  });
  if (opts.apiToken) requireToken(app, opts.apiToken, ['/health']);

  app.setErrorHandler((err: FastifyError | Error, _req, reply) => sendError(ctx, reply, err));
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ detail: `no route ${req.method} ${req.url.split('?')[0]}` }));

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Doctor',
        version: packageVersion(),
        description: 'Crawl, index and search documentation. Compatible with the Python Doctor API.',
      },
      components: opts.apiToken ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : undefined,
      security: opts.apiToken ? [{ bearer: [] }] : undefined,
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const writeGuard = async (_req: FastifyRequest, reply: FastifyReply) => {
    if (opts.readOnly) return reply.code(403).send({ detail: 'this Doctor server is read-only (DOCTOR_READ_ONLY / --read-only)' });
  };

  app.get('/search_docs', {
    schema: { summary: 'Search indexed documentation (hybrid vector + keyword, one result per page)', querystring: jsonSchema(service.searchDocsInput) },
  }, async (req) => service.searchDocs(ctx, req.query as service.SearchDocsInput));

  app.get('/list_doc_pages', {
    schema: { summary: 'List indexed pages, 100 per page, optionally filtered by tags', querystring: jsonSchema(service.listDocPagesInput) },
  }, async (req) => service.listDocPages(ctx, req.query as service.ListDocPagesInput));

  app.get('/get_doc_page', {
    schema: { summary: "A page's Markdown text, or a range of its lines", querystring: jsonSchema(service.getDocPageInput) },
  }, async (req) => service.getDocPage(ctx, req.query as service.GetDocPageInput));

  app.get('/list_tags', {
    schema: { summary: 'Tags in use, optionally matching a substring (typo-tolerant)', querystring: jsonSchema(service.listTagsInput) },
  }, async (req) => service.listTags(ctx, req.query as service.ListTagsInput));

  app.post('/fetch_url', {
    preHandler: writeGuard,
    schema: { summary: 'Start crawling a documentation site; returns a job id at once', body: jsonSchema(service.fetchUrlInput) },
  }, async (req) => service.fetchUrl(ctx, (req.body ?? {}) as service.FetchUrlInput));

  app.get('/job_progress', {
    schema: { summary: "A crawl job's progress (full id or its first 8+ characters)", querystring: jsonSchema(service.jobProgressInput) },
  }, async (req) => service.jobProgress(ctx, req.query as service.JobProgressInput));

  app.post('/cancel_job', {
    preHandler: writeGuard,
    schema: { summary: 'Cancel a pending or running crawl job', body: jsonSchema(service.jobProgressInput) },
  }, async (req) => service.cancelJob(ctx, (req.body ?? {}) as service.JobProgressInput));

  app.get('/jobs', {
    schema: { summary: 'Crawl jobs, newest first', querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000 } } } },
  }, async (req) => service.listJobs(ctx, { limit: Number((req.query as { limit?: string }).limit ?? 50) || 50 }));

  app.post('/delete_docs', {
    preHandler: writeGuard,
    schema: { summary: 'Delete pages (and their chunks) by tags, domain or page ids', body: jsonSchema(service.deleteDocsInput) },
  }, async (req) => service.deleteDocs(ctx, (req.body ?? {}) as service.DeleteDocsInput));

  app.get('/health', { schema: { summary: 'Liveness and counts' } }, async () => ({
    status: 'ok',
    version: packageVersion(),
    pages: await ctx.store.pages.count(),
    chunks: await ctx.store.chunks.count(),
    engine: ctx.store.chunks.vectorEngine.name,
    embedding: ctx.store.embedding,
    read_only: !!opts.readOnly,
  }));

  registerSiteMap(app, ctx);
  return app;
}

function sendError(ctx: DoctorContext, reply: FastifyReply, err: FastifyError | Error) {
  if (err instanceof ValidationError) return reply.code(422).send({ detail: err.message });
  if (err instanceof NotFoundError) return reply.code(404).send({ detail: err.message });
  if (err instanceof ConflictError) return reply.code(409).send({ detail: err.message });
  const fe = err as FastifyError;
  if (fe.statusCode === 413) return reply.code(413).send({ detail: 'request body too large' });
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    return reply.code(fe.statusCode === 415 ? 415 : 400).send({ detail: fe.message });
  }
  ctx.log.error({ err: err.message, stack: err.stack }, 'request failed');
  return reply.code(500).send({ detail: `internal error: ${err.message}` });
}
