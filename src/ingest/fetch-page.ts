/**
 * One frontier URL to a processed page: robots.txt, fetch (redirects within scope only), content type, the
 * page-processing step (./process-page.ts: extraction, chunks, terms; in a worker thread when the caller
 * passes a pool's `process`), and JavaScript rendering when the static HTML looks empty. No database: the
 * in-process crawl (src/ingest/crawler.ts) and remote crawl workers (src/ingest/remote/page-worker.ts) both
 * call it.
 */
import type { Logger } from '../log.js';
import type { Fetcher, FetchResult } from './fetch/fetcher.js';
import type { RobotsCache } from './fetch/robots.js';
import type { Renderer } from './fetch/renderer.js';
import { normalizeUrl, type UrlFilter } from './fetch/url.js';
import type { ProcessedPage } from './process-page.js';
import { siteUnavailable } from './site-failures.js';

export const MIME_INDEXED: ReadonlySet<string> = new Set(['text/html', 'application/xhtml+xml', 'text/markdown', 'text/x-markdown', 'text/plain']);

export interface FetchPageDeps {
  fetcher: Fetcher;
  robots: RobotsCache;
  renderer?: Renderer;
  log: Logger;
  respectRobots: boolean;
  render: 'never' | 'auto' | 'always';
  inScope: UrlFilter;
  requestTimeoutMs: number;
  maxPageBytes: number;
  /** The page-processing step for a body (processPage, here or in a worker thread). */
  process: (body: string, contentType: string, url: string) => Promise<ProcessedPage>;
  /** Wall time per stage in ms, added to as pages go (a crawl's StageTimes). */
  stages?: { fetch: number; render: number; extract: number };
}

/**
 * A page not indexed, and why; `unavailable` when the site (not the page) refused or did not answer
 * (../ingest/site-failures.ts: too many in a row stop the crawl).
 */
export type SkippedPage = { kind: 'skipped'; reason: string; unavailable?: true };

export type FetchedPage = { kind: 'page'; finalUrl: string; processed: ProcessedPage } | SkippedPage;

/** Fetches and extracts one URL; a page that cannot be indexed comes back `skipped` with the reason. */
export async function fetchAndExtract(deps: FetchPageDeps, url: string, signal?: AbortSignal): Promise<FetchedPage> {
  const stages = deps.stages ?? { fetch: 0, render: 0, extract: 0 };
  if (deps.respectRobots && !(await deps.robots.isAllowed(url))) {
    return { kind: 'skipped', reason: 'disallowed by robots.txt' };
  }
  let t = performance.now();
  // Redirects leaving the crawl scope are not followed (nothing out of scope is fetched).
  const res: FetchResult = await deps.fetcher.fetch(url, { signal, followRedirect: deps.inScope });
  stages.fetch += performance.now() - t;
  signal?.throwIfAborted();
  if (!res.ok) return siteUnavailable(res) ? { kind: 'skipped', reason: res.reason, unavailable: true } : { kind: 'skipped', reason: res.reason };
  const finalUrl = normalizeUrl(res.url) ?? res.url;
  if (finalUrl !== url && !deps.inScope(finalUrl)) return { kind: 'skipped', reason: `redirected out of scope to ${finalUrl}` };
  if (!MIME_INDEXED.has(res.contentType)) {
    return { kind: 'skipped', reason: `unsupported content type ${res.contentType || 'unknown'}` };
  }

  t = performance.now();
  let processed = await deps.process(res.body, res.contentType, finalUrl);
  stages.extract += performance.now() - t;
  signal?.throwIfAborted();
  const isHtml = res.contentType === 'text/html' || res.contentType === 'application/xhtml+xml';
  const wantRender = isHtml && deps.renderer && (deps.render === 'always' || (deps.render === 'auto' && processed.jsOnly));
  if (wantRender && deps.renderer) {
    t = performance.now();
    try {
      const rendered = await deps.renderer.render(finalUrl, { timeoutMs: deps.requestTimeoutMs });
      if (rendered.length > deps.maxPageBytes) {
        throw new Error(`the rendered page is larger than the ${deps.maxPageBytes}-byte limit (DOCTOR_MAX_PAGE_BYTES)`);
      }
      stages.render += performance.now() - t;
      const t2 = performance.now();
      processed = await deps.process(rendered, 'text/html', finalUrl);
      stages.extract += performance.now() - t2;
    } catch (e) {
      stages.render += performance.now() - t;
      deps.log.warn({ url: finalUrl, err: (e as Error).message }, 'rendering failed; using the static HTML');
    }
  }
  return { kind: 'page', finalUrl, processed };
}
