/**
 * The web interface at `/`: Search, Sites, Add documentation, Jobs, the page viewer and Status. Screens
 * are rendered here from the service operations (the same ones REST and MCP call); the script
 * (assets/app.js) adds keyboard use, in-place navigation, the write actions (through the REST routes)
 * and live job progress (GET /job_events).
 *
 * Every screen URL answers two ways:
 * - a plain request (a browser navigating) gets the whole page. With DOCTOR_API_TOKEN set it gets an
 *   empty shell instead, without any data: a browser cannot send a bearer header when it navigates,
 *   so the script signs in and fetches the screen itself;
 * - a request with `X-Doctor-Fragment: main` (or `results`, the search results alone) gets the screen's
 *   content only, and like every data route needs the token.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { once } from 'node:events';
import { createGzip, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { clipTitle } from '../../ingest/extract/bounds.js';
import type { DoctorContext } from '../../service/index.js';
import { addScreen } from './add-screen.js';
import { assets } from './assets.js';
import { Html, html } from './html.js';
import { jobScreen, jobsScreen } from './jobs-screen.js';
import { UI_CSP, page, type LayoutOptions, type Screen } from './layout.js';
import { pageScreen } from './page-screen.js';
import { searchQueryOf, searchResults, searchScreen, searchTitle } from './search-screen.js';
import { sitesScreen } from './sites-screen.js';
import { statusScreen } from './status-screen.js';

export const FRAGMENT_HEADER = 'x-doctor-fragment';

const isUiPath = (path: string) => path === '/' || path === '/ui' || path.startsWith('/ui/');

/** Requests that need no token: interface pages without the fragment header (shells, no data) and assets. */
export function isPublicUiRequest(req: FastifyRequest, path: string): boolean {
  return isUiPath(path) && req.headers[FRAGMENT_HEADER] === undefined && (req.method === 'GET' || req.method === 'HEAD');
}

export interface UiOptions {
  readOnly: boolean;
  apiToken?: string;
}

const GZIP_MIN = 1024;

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', UI_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');
}

const gzipAsync = promisify(gzip);
/** Characters of HTML turned into bytes at a time for compression (see gzipHtml). */
const GZIP_SLICE_CHARS = 1 << 20;

/**
 * `text` gzipped on libuv's thread pool, its UTF-8 bytes made a slice at a time between turns of the event loop:
 * gzipping a 20 MB page's HTML on this thread kept the server from answering anyone for ~0.9 s, and encoding
 * it in one go for ~0.3 s.
 */
async function gzipHtml(text: string): Promise<Buffer> {
  if (text.length <= GZIP_SLICE_CHARS) return gzipAsync(text);
  const zip = createGzip();
  const out: Buffer[] = [];
  zip.on('data', (b: Buffer) => out.push(b));
  const ended = once(zip, 'end');
  for (let at = 0; at < text.length; ) {
    let end = Math.min(text.length, at + GZIP_SLICE_CHARS);
    const c = text.charCodeAt(end - 1);
    if (end < text.length && c >= 0xd800 && c <= 0xdbff) end--; // not between the halves of a surrogate pair
    if (!zip.write(Buffer.from(text.slice(at, end)))) await once(zip, 'drain');
    at = end;
  }
  zip.end();
  await ended;
  return Buffer.concat(out);
}

/** Sends HTML, gzipped when the client takes it and it is worth it (see gzipHtml). */
async function sendHtml(req: FastifyRequest, reply: FastifyReply, status: number, body: Html | string): Promise<FastifyReply> {
  const text = body.toString();
  secure(reply).code(status).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').header('vary', `accept-encoding, ${FRAGMENT_HEADER}`);
  if (text.length >= GZIP_MIN && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    return reply.header('content-encoding', 'gzip').send(await gzipHtml(text));
  }
  return reply.send(text);
}

/** What the HTTP app's not-found handler calls for a GET of an interface path that is no screen. */
export type UiNotFound = (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;

export function registerUi(app: FastifyInstance, ctx: DoctorContext, opts: UiOptions): UiNotFound {
  const layout: LayoutOptions = { readOnly: opts.readOnly, tokenRequired: !!opts.apiToken };
  const { readOnly } = opts;

  /** A screen: the whole page, the shell, or the content alone (see the module comment). */
  const respond = async (req: FastifyRequest, reply: FastifyReply, build: () => Promise<Screen> | Screen) => {
    const fragment = req.headers[FRAGMENT_HEADER];
    if (fragment === undefined && opts.apiToken) return sendHtml(req, reply, 200, page(undefined, layout));
    const s = await build();
    if (fragment === undefined) return sendHtml(req, reply, s.status ?? 200, page(s, layout));
    // A header has to stay small (Node's HTTP client takes 16 KB of them; browsers cap them too), and a title comes from
    // the page: an imported one may be of any length (a 30,000-character one failed the page view).
    reply.header('x-doctor-title', encodeURIComponent(`${clipTitle(s.title)} · Doctor`)).header('x-doctor-nav', s.nav);
    return sendHtml(req, reply, s.status ?? 200, s.body);
  };

  /** A screen route. `results` builds what `X-Doctor-Fragment: results` asks for (the search results alone, when Enter is pressed). */
  const screen = (path: string, build: (req: FastifyRequest) => Promise<Screen> | Screen, results?: (req: FastifyRequest) => Promise<Screen>) => {
    app.get(path, { schema: { hide: true } }, async (req, reply) =>
      respond(req, reply, () => (req.headers[FRAGMENT_HEADER] === 'results' && results ? results(req) : build(req))),
    );
  };
  const params = (req: FastifyRequest) => req.params as Record<string, string>;
  const query = (req: FastifyRequest) => (req.query ?? {}) as Record<string, unknown>;

  screen(
    '/',
    (req) => searchScreen(ctx, searchQueryOf(query(req))),
    async (req) => {
      const q = searchQueryOf(query(req));
      return { nav: 'search', title: searchTitle(q), body: await searchResults(ctx, q) };
    },
  );
  app.get('/ui', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/'));
  screen('/ui/sites', (req) => sitesScreen(ctx, { readOnly, tag: String(query(req).tag ?? '') || undefined }));
  screen('/ui/add', (req) => addScreen(ctx.config, { readOnly, url: typeof query(req).url === 'string' ? (query(req).url as string) : undefined }));
  screen('/ui/jobs', () => jobsScreen(ctx, { readOnly }));
  screen('/ui/jobs/:job_id', (req) => jobScreen(ctx, params(req).job_id!, { readOnly }));
  screen('/ui/page/:page_id', (req) => pageScreen(ctx, params(req).page_id!, String(query(req).q ?? '').slice(0, 2000)));
  screen('/ui/status', () => statusScreen(ctx, { readOnly, tokenRequired: !!opts.apiToken }));

  // A mistyped or outdated interface address (/ui/site): a page of the interface saying so, not the API's JSON.
  const notFound: UiNotFound = (req, reply) =>
    respond(req, reply, () => ({
      nav: 'page',
      title: 'Not found',
      status: 404,
      body: html`<h1>Not found</h1><p class="error">There is no screen at ${req.url.split('?')[0]!.slice(0, 200)}.</p><p><a href="/">Search</a> · <a href="/ui/sites">Sites</a> · <a href="/ui/jobs">Jobs</a></p>`,
    }));

  app.get('/ui/assets/:name', { schema: { hide: true } }, async (req, reply) => {
    const { name } = params(req);
    const a = assets().get(name!);
    if (!a) return reply.code(404).header('content-type', 'text/plain; charset=utf-8').send(`no asset ${name}`);
    const versioned = (query(req).v as string | undefined) === a.hash;
    secure(reply)
      .header('content-type', a.type)
      .header('etag', `"${a.hash}"`)
      .header('vary', 'accept-encoding')
      .header('cache-control', versioned ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (req.headers['if-none-match'] === `"${a.hash}"`) return reply.code(304).send();
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) return reply.header('content-encoding', 'gzip').send(a.gzip);
    return reply.send(a.body);
  });
  return notFound;
}
