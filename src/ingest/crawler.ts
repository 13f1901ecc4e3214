/**
 * One crawl job: breadth-first from the start URL within its scope, up to max_pages and max_depth.
 * Each page is fetched, extracted to Markdown, chunked, embedded and stored (page + chunks in one
 * transaction); progress goes to the jobs row as it happens. The frontier is persisted
 * (crawl_frontier), so an interrupted job resumes where it stopped and skips pages already stored.
 */
import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { DoctorConfig } from '../config/config.js';
import type { Logger } from '../log.js';
import type { Embedder } from '../embed/embedder.js';
import type { Store } from '../store/store.js';
import type { JobRecord } from '../store/jobs.js';
import type { PageRecord } from '../store/pages.js';
import { FrontierStore, type FrontierEntry } from '../store/frontier.js';
import { DiskFullError } from '../db/database.js';
import { Fetcher } from './fetch/fetcher.js';
import { RobotsCache } from './fetch/robots.js';
import { discoverLlmsTxtUrls, discoverSitemapUrls } from './fetch/sitemap.js';
import { makeScopeFilter, normalizeUrl, TrapGuard, type Scope } from './fetch/url.js';
import type { ExtractedPage } from './extract/extract.js';
import type { Chunk } from './extract/chunker.js';
import type { ChunkTerms } from '../text/chunk-terms.js';
import { fetchAndExtract, type SkippedPage } from './fetch-page.js';
import type { Renderer } from './fetch/renderer.js';
import { GroupWriter } from './group-writer.js';
import { contentHash, writePage } from './page-writer.js';
import { chunkWorkFor, processPage, type ProcessedPage, type ProcessPageInput } from './process-page.js';
import type { ProcessPool } from './process-pool.js';
import { EmbedFailureStreak } from './embed-failures.js';
import { SiteFailureStreak } from './site-failures.js';

export interface CrawlOptions {
  scope: Scope;
  include?: string[];
  exclude?: string[];
  render: 'never' | 'auto' | 'always';
  respectRobots: boolean;
}

export interface CrawlDeps {
  config: DoctorConfig;
  store: Store;
  embedder: Embedder;
  log: Logger;
  dispatcher?: Dispatcher;
  renderer?: Renderer;
  /** Worker threads for extraction and chunking; without one, pages are processed on this thread. */
  pool?: ProcessPool;
  /** Called after each progress write (for MCP progress notifications, CLI bars). */
  onProgress?: (job: JobRecord) => void;
  /** Where pages are fetched and extracted when not in this process (remote crawl workers). */
  pageSource?: PageSource;
}

/**
 * A frontier entry made into a page, with what was computed with it (chunks, vectors, keyword terms: by the
 * processing step here, or by a remote worker), or a reason to skip it.
 */
export type SourcedPage = {
  kind: 'page';
  finalUrl: string;
  page: ExtractedPage;
  chunks?: readonly Chunk[];
  vectors?: readonly Float32Array[];
  terms?: readonly ChunkTerms[];
  /** The page's chunks could not be embedded where it was processed (a remote worker): why. */
  embedError?: Error;
};
export type SourcedEntry = SourcedPage | SkippedPage;

/**
 * Thrown by a PageSource that can take no page at all (its Redis refuses writes): the crawl stops with it,
 * as on a full disk, and the page stays queued instead of being skipped like every page after it.
 */
export class PageSourceDown extends Error {
  override name = 'PageSourceDown';
}

/**
 * Turns frontier entries into pages somewhere other than this process (src/ingest/remote/: workers through
 * Redis). The crawl keeps its frontier, scope, duplicates and storage; the source only fetches and extracts.
 */
export interface PageSource {
  /** Pages of one job in flight at once (instead of DOCTOR_CRAWL_CONCURRENCY). */
  readonly concurrency: number;
  /** Rejects with the signal's reason when the crawl is cancelled or stopped. */
  process(job: JobRecord, entry: FrontierEntry, signal: AbortSignal): Promise<SourcedEntry>;
}

/** Per-stage wall time in ms, summed over pages (reported by the crawl benchmark). */
export interface StageTimes {
  fetch: number;
  render: number;
  extract: number;
  chunk: number;
  embed: number;
  store: number;
}

export class CrawlCancelled extends Error {
  override name = 'CrawlCancelled';
}

const MAX_SKIPPED_IN_JOB_ROW = 200;
/** Pages in flight per fetch slot, counting those that only wait for their commit (see Crawler.run). */
const STORE_BACKLOG_FACTOR = 4;
/**
 * And pages that wait for an open group commit, which stays open until it holds a row group's worth of chunks
 * (GroupWriter): ~45 pages of a Sphinx site, ~170 of postgresql-doc-15 (those wait for at most 3 s).
 */
const GROUP_BACKLOG = 96;
/** Queued frontier entries read at once. */
const READ_AHEAD = 64;
/**
 * URLs a crawl queues at most: max_pages times this, plus FRONTIER_SPARE. A crawl stores at most max_pages pages
 * and visits the rest of its queue only as pages are skipped (not found, duplicates, no text); a site whose pages
 * each link 10,000 distinct generated URLs made a 100-page crawl queue 1,000,000 of them and hold 2.9 GB.
 */
const FRONTIER_PER_PAGE = 20;
const FRONTIER_SPARE = 1_000;

export class Crawl {
  readonly stages: StageTimes = { fetch: 0, render: 0, extract: 0, chunk: 0, embed: 0, store: 0 };
  private readonly frontier: FrontierStore;
  private readonly fetcher: Fetcher;
  private readonly robots: RobotsCache;
  private readonly inScope: (url: string) => boolean;
  private readonly traps = new TrapGuard();
  private readonly options: CrawlOptions;
  private readonly maxDepth: number;
  private crawled = 0;
  private rootPageId: string | null = null;
  /** The start URL was processed (stored or skipped): the crawl may go wide. */
  private startSettled = false;
  private lastProgressWrite = 0;
  /** Pages done or skipped when this run started: progress beyond it clears the job's attempt count. */
  private handledAtStart = 0;
  private progressMade = false;
  /** Pages crawled + skipped in the last progress published to listeners. */
  private published = 0;
  private fatal?: Error;
  /** Aborted with `fatal`: pages in flight stop (and stay queued) instead of failing one by one. */
  private readonly halt = new AbortController();
  /** The crawl's signal and `halt`: what the work on pages listens to. */
  private readonly work: AbortSignal;
  /** Pages in a row whose embedding failed: too many stop the crawl (./embed-failures.ts). */
  private readonly embedFailures: EmbedFailureStreak;
  /** Pages in a row the site refused or did not answer: too many stop the crawl (./site-failures.ts). */
  private readonly siteFailures: SiteFailureStreak;
  private readonly writer: GroupWriter;
  /** Queued frontier entries already read, in breadth-first order, not started yet. */
  private readonly ahead: FrontierEntry[] = [];
  /** Frontier entries whose page is written and waits for its group commit (see run()). */
  private readonly storing = new Set<string>();
  /** Pages in flight (Crawler.run's map), for the group writer: those not storing are still on their way. */
  private inFlightCount = 0;
  /** Wakes run()'s loop when a page moves from fetching to storing. */
  private wake: (() => void) | undefined;
  /** URLs already in the frontier: most links (navigation) repeat on every page. */
  private known = new Set<string>();
  /** The frontier holds as many URLs as this crawl queues (FRONTIER_PER_PAGE): further links are dropped. */
  private frontierFull = false;
  /** The URL each page text of this job was stored under (hash of its Markdown; before a resume too): a twin is skipped. */
  private readonly stored = new Map<string, string>();

  constructor(
    private readonly job: JobRecord,
    private readonly deps: CrawlDeps,
    private readonly signal: AbortSignal,
  ) {
    const o = job.options as Partial<{ scope: Scope; include: string[]; exclude: string[]; render: CrawlOptions['render']; respect_robots: boolean }>;
    this.options = {
      scope: o.scope ?? 'prefix',
      include: o.include,
      exclude: o.exclude,
      render: o.render ?? deps.config.render,
      respectRobots: o.respect_robots ?? deps.config.respectRobots,
    };
    this.maxDepth = job.max_depth ?? 3;
    this.work = AbortSignal.any([signal, this.halt.signal]);
    this.siteFailures = new SiteFailureStreak(job.start_url);
    this.embedFailures = new EmbedFailureStreak(deps.embedder, {
      run: 'the crawl',
      items: 'pages',
      again: 'crawl the site again: the pages stored so far are kept and not embedded again',
    });
    this.frontier = new FrontierStore(deps.store.db);
    // Groups of a row group's chunks while pages are still being fetched or processed (see GroupWriter).
    this.writer = new GroupWriter(deps.store.db, {
      targetRows: deps.store.db.rowGroupSize ?? 0,
      moreComing: () => this.inFlightCount > this.storing.size,
    });
    this.fetcher = new Fetcher({
      userAgent: deps.config.userAgent,
      timeoutMs: deps.config.requestTimeoutMs,
      maxBodyBytes: deps.config.maxPageBytes,
      maxRedirects: deps.config.maxRedirects,
      perHostConcurrency: deps.config.perHostConcurrency,
      perHostDelayMs: deps.config.perHostDelayMs,
      dispatcher: deps.dispatcher,
    });
    this.robots = new RobotsCache(this.fetcher, this.fetcher.userAgent, this.work);
    this.inScope = makeScopeFilter(job.start_url, this.options.scope, this.options.include, this.options.exclude);
  }

  /** Runs the crawl to the end (or until cancelled); returns the final status and reason. */
  async run(): Promise<{ status: 'completed' | 'failed'; error?: string }> {
    const { store } = this.deps;
    const counts = await this.frontier.counts(this.job.job_id);
    this.crawled = counts.done;
    this.handledAtStart = counts.done + counts.skipped;
    this.known = await this.frontier.urls(this.job.job_id);
    if (counts.total === 0) await this.seed();
    else {
      this.rootPageId = (await this.frontier.pageIdOf(this.job.job_id, this.job.start_url)) ?? null;
      this.startSettled = true;
      // resumed: the query-string variants queued before the interruption use up their paths' budgets
      for (const url of this.known) this.traps.remember(url);
      // resumed: the pages stored before the interruption count for the duplicate check too
      for (const [hash, url] of await this.frontier.storedTexts(this.job.job_id)) this.stored.set(hash, url);
    }
    await this.writeProgress(true);

    const concurrency = Math.max(1, this.deps.pageSource?.concurrency ?? this.deps.config.crawlConcurrency);
    // Pages waiting for their group commit free their fetch slot: the next pages are fetched and processed
    // while the writer commits, and the writer gets larger groups. At most this many pages in all.
    const maxInFlight = concurrency * STORE_BACKLOG_FACTOR + GROUP_BACKLOG;
    const inFlight = new Map<string, Promise<void>>();
    for (;;) {
      await this.throwIfStopped(inFlight);
      // The start page first, alone: pages stored before it would not know their site's root page.
      const width = this.startSettled ? concurrency : 1;
      const fetching = this.startSettled ? inFlight.size - this.storing.size : inFlight.size;
      const room = Math.min(width - fetching, maxInFlight - inFlight.size, this.job.max_pages - this.crawled - inFlight.size);
      if (room > 0 && !this.work.aborted) {
        // Queued entries are read ahead in breadth-first order (one query per batch, not per page); links
        // found meanwhile are never shallower than what was read, so the order holds.
        if (this.ahead.length < room) {
          const skip = [...inFlight.keys(), ...this.ahead.map((e) => e.url)];
          this.ahead.push(...(await this.frontier.next(this.job.job_id, Math.max(room, READ_AHEAD), skip)));
        }
        for (const entry of this.ahead.splice(0, room)) {
          // processEntry never rejects (an unexpected error becomes `fatal`), so no page can leave a
          // rejected promise behind that nobody awaits
          const p = this.processEntry(entry).finally(() => {
            inFlight.delete(entry.url);
            this.inFlightCount = inFlight.size;
            this.storing.delete(entry.url);
            if (entry.depth === 0) this.startSettled = true;
          });
          inFlight.set(entry.url, p);
          this.inFlightCount = inFlight.size;
        }
      }
      if (inFlight.size === 0) break;
      await Promise.race([...inFlight.values(), new Promise<void>((resolve) => (this.wake = resolve))]);
      this.wake = undefined;
    }
    await this.throwIfStopped(inFlight);
    await this.writeProgress(true);
    await store.db.checkpoint().catch(() => {});
    if (this.crawled === 0) {
      const skipped = await this.frontier.skipped(this.job.job_id, 3);
      const why = skipped.length ? skipped.map((s) => `${s.url}: ${s.reason}`).join('; ') : 'no page could be fetched';
      return { status: 'failed', error: `no page was stored (${why})` };
    }
    return { status: 'completed' };
  }

  /** The start URL, plus sitemap.xml and llms.txt URLs in scope. */
  private async seed(): Promise<void> {
    const start = this.job.start_url;
    const entries: FrontierEntry[] = [{ url: start, depth: 0, parent_page_id: null }];
    const origin = new URL(start).origin;
    try {
      const robotsMaps = this.options.respectRobots ? await this.robots.sitemaps(origin) : [];
      // honour robots.txt Crawl-delay (capped: a site asking for minutes between pages is crawled at 1 page / 10 s)
      const delay = this.options.respectRobots ? await this.robots.crawlDelay(origin) : undefined;
      if (delay && delay > 0) this.fetcher.setHostDelay(origin, Math.min(delay * 1000, 10_000));
      // With the crawl's signal: a cancel or a shutdown must not wait for connections to a host that never answers.
      const fromSitemaps = await discoverSitemapUrls(this.fetcher, origin, robotsMaps, { limit: this.job.max_pages * 5, signal: this.work });
      const fromLlms = await discoverLlmsTxtUrls(this.fetcher, start, { signal: this.work });
      for (const raw of [...fromLlms, ...fromSitemaps]) {
        const url = normalizeUrl(raw);
        if (url && url !== start && this.inScope(url)) entries.push({ url, depth: 1, parent_page_id: null });
      }
    } catch (e) {
      this.deps.log.debug({ err: (e as Error).message }, 'sitemap/llms.txt discovery failed');
    }
    await this.addToFrontier(entries);
  }

  /**
   * Queues URLs not seen before: at once in memory (the read-ahead, kept in breadth-first order) and in the
   * frontier table with the next group commit, which comes before (or is) the commit of the page they were
   * found on, since writes commit in order. Resolves when they are committed.
   */
  private addToFrontier(entries: FrontierEntry[]): Promise<void> {
    let fresh = dedupe(entries).filter((e) => !this.known.has(e.url));
    const room = this.job.max_pages * FRONTIER_PER_PAGE + FRONTIER_SPARE - this.known.size;
    if (fresh.length > room) {
      if (!this.frontierFull) {
        this.frontierFull = true;
        this.deps.log.warn(
          { job_id: this.job.job_id, queued: this.known.size },
          `the crawl has queued ${this.known.size} URLs, its most (${FRONTIER_PER_PAGE} per page it may store, max_pages ` +
            `${this.job.max_pages}, and ${FRONTIER_SPARE} more); links found from now on are not followed`,
        );
      }
      fresh = fresh.slice(0, Math.max(0, room));
    }
    if (fresh.length === 0) return Promise.resolve();
    for (const e of fresh) {
      this.known.add(e.url);
      let i = this.ahead.length;
      while (i > 0 && this.ahead[i - 1]!.depth > e.depth) i--;
      this.ahead.splice(i, 0, e);
    }
    return this.writer.write(async (tx) => {
      await this.frontier.add(this.job.job_id, fresh, tx);
    });
  }

  /**
   * Marks an entry skipped, through the writer: after the write that queued its URL (which may not be
   * committed yet). Meanwhile the entry counts as storing: it frees its fetch slot, and an open group commit
   * does not wait for it.
   */
  private async markSkipped(entry: FrontierEntry, reason: string): Promise<void> {
    this.storing.add(entry.url);
    this.wake?.();
    await this.writer.write((tx) => this.frontier.mark(this.job.job_id, entry.url, 'skipped', { reason }, tx));
  }

  /** Fetches, extracts and stores one frontier entry, or marks it skipped. Never rejects. */
  private async processEntry(entry: FrontierEntry): Promise<void> {
    try {
      try {
        const outcome = await this.processUrl(entry);
        if (outcome.kind === 'stored') {
          this.crawled++; // the frontier entry was marked done in the page's own transaction
        } else {
          await this.markSkipped(entry, outcome.reason);
        }
      } catch (e) {
        if (e instanceof CrawlCancelled || this.work.aborted) return; // stays queued: resumed later
        // The disk is full: no later page can be stored either. The page stays queued for a resumed job.
        if (e instanceof DiskFullError || e instanceof PageSourceDown) return this.stop(e);
        const reason = errorMessage(e);
        this.deps.log.warn({ url: entry.url, err: reason }, 'page failed');
        await this.markSkipped(entry, `error: ${reason}`);
      }
      await this.writeProgress(false);
    } catch (e) {
      // the page could not even be marked (e.g. the database refused the write): the job stops with the reason
      if (!this.work.aborted) this.stop(e instanceof Error ? e : new Error(errorMessage(e)));
    }
  }

  /** Ends the crawl with this error (the first one given): pages in flight are abandoned, run() throws it. */
  private stop(e: Error): void {
    this.fatal ??= e;
    this.halt.abort(e);
    this.wake?.();
  }

  /**
   * Counts pages in a row that failed to embed (a page embedded resets the count) and stops the crawl when
   * the embeddings API is down or misconfigured, not the page (./embed-failures.ts).
   */
  private embedOutcome(outcome: { ok: true } | { ok: false; error: unknown }): void {
    if (outcome.ok) return this.embedFailures.succeeded();
    if (this.work.aborted) return; // cancelled or stopping: not the API's failure
    const fatal = this.embedFailures.failed(outcome.error);
    if (fatal) this.stop(fatal);
  }

  /**
   * Counts pages in a row the site refused or did not answer (any other outcome resets the count) and stops
   * the crawl when the site, not the page, is unavailable (./site-failures.ts).
   */
  private siteOutcome(url: string, got: SourcedEntry): void {
    if (got.kind !== 'skipped' || !got.unavailable) return this.siteFailures.answered(url);
    if (this.work.aborted) return;
    const fatal = this.siteFailures.failed(url, got.reason);
    if (fatal) this.stop(fatal);
  }

  private async processUrl(entry: FrontierEntry): Promise<{ kind: 'stored'; pageId: string } | { kind: 'skipped'; reason: string }> {
    const got = this.deps.pageSource ? await this.deps.pageSource.process(this.job, entry, this.work) : await this.fetchHere(entry);
    this.throwIfCancelled();
    this.siteOutcome(entry.url, got);
    if (got.kind === 'skipped') return got;
    const { finalUrl, page } = got;
    if (finalUrl !== entry.url) {
      if (!this.inScope(finalUrl)) return { kind: 'skipped', reason: `redirected out of scope to ${finalUrl}` };
      if (this.known.has(finalUrl)) return { kind: 'skipped', reason: `duplicate: redirects to ${finalUrl}` };
      this.known.add(finalUrl);
    }

    // The page id is known before its links are queued, so pages found on it can name it as parent.
    const existing = await this.deps.store.pages.getByUrl(finalUrl);
    const pageId = existing?.id ?? randomUUID();
    // The page's <meta name="robots">, honoured as robots.txt is (not with --no-robots).
    const robots = this.options.respectRobots ? page.robots : undefined;
    // Links first: even a page with no text of its own can lead to others.
    if (entry.depth < this.maxDepth && !robots?.nofollow) this.enqueueLinks(page.links, entry, pageId);
    if (robots?.noindex) return { kind: 'skipped', reason: 'noindex: its <meta name="robots"> asks not to index it' };
    if (page.markdown.trim().length === 0) return { kind: 'skipped', reason: 'no text content' };
    // A page with the text of one already stored by this run (a "not found" page served with 200 for every
    // URL, one page under two URLs) is stored once: its twins would repeat every search hit, and identical
    // vectors are what the HNSW index inserts worst.
    const hash = contentHash(page.markdown);
    const twin = this.stored.get(hash);
    if (twin !== undefined && twin !== finalUrl) return { kind: 'skipped', reason: `duplicate: same text as ${twin}` };
    this.stored.set(hash, finalUrl);
    try {
      await this.storePage(finalUrl, entry, got, pageId, existing, hash);
    } catch (e) {
      if (this.stored.get(hash) === finalUrl) this.stored.delete(hash); // not stored after all
      throw e;
    }
    if (entry.depth === 0 && !this.rootPageId) this.rootPageId = pageId;
    return { kind: 'stored', pageId };
  }

  /** This process fetches the page and processes it (in the pool's worker threads when there is a pool). */
  private async fetchHere(entry: FrontierEntry): Promise<SourcedEntry> {
    const { config, renderer, log } = this.deps;
    const got = await fetchAndExtract(
      {
        fetcher: this.fetcher,
        robots: this.robots,
        renderer,
        log,
        respectRobots: this.options.respectRobots,
        render: this.options.render,
        inScope: this.inScope,
        requestTimeoutMs: config.requestTimeoutMs,
        maxPageBytes: config.maxPageBytes,
        process: (body, contentType, url) => this.process(body, contentType, url),
        stages: this.stages,
      },
      entry.url,
      this.work,
    );
    if (got.kind === 'skipped') return got;
    const { page, chunks, vectors, terms } = got.processed;
    return { kind: 'page', finalUrl: got.finalUrl, page, chunks, vectors, terms };
  }

  /** Queues a page's links without waiting for their commit (a failed one is logged; this crawl still visits them). */
  private enqueueLinks(links: readonly string[], from: FrontierEntry, parentId: string): void {
    const entries: FrontierEntry[] = [];
    for (const raw of links) {
      const url = normalizeUrl(raw);
      // URLs already queued (navigation repeats on every page) are not matched against the patterns again
      if (!url || this.known.has(url) || !this.inScope(url) || !this.traps.allow(url)) continue;
      entries.push({ url, depth: from.depth + 1, parent_page_id: parentId });
    }
    this.addToFrontier(entries).catch((e: unknown) =>
      this.deps.log.warn({ url: from.url, err: errorMessage(e) }, 'could not queue the links of a page'),
    );
  }

  /** Stores page + chunks in one transaction with the frontier mark (src/ingest/page-writer.ts). */
  private async storePage(url: string, entry: FrontierEntry, got: SourcedPage, id: string, existing: PageRecord | undefined, hash: string): Promise<string> {
    const { store, embedder, config } = this.deps;
    const times = await writePage(
      { store, embedder, writer: this.writer, chunking: { maxChars: config.chunkSize, overlap: config.chunkOverlap } },
      {
        id,
        url,
        page: got.page,
        hash,
        chunks: got.chunks,
        vectors: got.vectors,
        terms: got.terms,
        embedError: got.embedError,
        existing,
        tags: this.job.tags,
        job_id: this.job.job_id,
        parent_page_id: entry.parent_page_id ?? null,
        root_page_id: entry.depth === 0 ? id : (this.rootPageId ?? existing?.root_page_id ?? id),
        depth: entry.depth,
        alsoInTx: (tx) => this.frontier.mark(this.job.job_id, entry.url, 'done', { page_id: id }, tx),
        signal: this.work,
        onEmbed: (outcome) => this.embedOutcome(outcome),
        beforeWrite: () => {
          this.throwIfCancelled();
          // from here the page only waits for its commit: its fetch slot goes to the next page
          this.storing.add(entry.url);
          this.wake?.();
        },
      },
    );
    this.stages.chunk += times.chunk;
    this.stages.embed += times.embed;
    this.stages.store += times.store;
    return id;
  }

  /**
   * Extraction, chunking, and (when they can be computed off this thread) lexical vectors and keyword
   * terms: in the pool's worker threads, or here without a pool.
   */
  private process(body: string, contentType: string, url: string): Promise<ProcessedPage> {
    const { config, embedder, pool } = this.deps;
    const input: ProcessPageInput = { body, contentType, url, ...chunkWorkFor(embedder, { maxChars: config.chunkSize, overlap: config.chunkOverlap }) };
    return pool ? pool.process(input) : Promise.resolve().then(() => processPage(input));
  }

  /** Progress goes to the jobs row at most every 100 ms (always when `force`). */
  private async writeProgress(force: boolean): Promise<void> {
    const now = Date.now();
    if (!force && now - this.lastProgressWrite < 100) return;
    this.lastProgressWrite = now;
    const counts = await this.frontier.counts(this.job.job_id);
    const skipped = await this.frontier.skipped(this.job.job_id, MAX_SKIPPED_IN_JOB_ROW);
    // The job got somewhere in this run: it is not in a crash loop (see JobRunner, MAX_JOB_ATTEMPTS).
    const clearAttempts = !this.progressMade && counts.done + counts.skipped > this.handledAtStart;
    await this.deps.store.jobs.update(this.job.job_id, {
      pages_discovered: counts.total,
      pages_crawled: counts.done,
      pages_skipped: counts.skipped,
      skipped,
    });
    if (clearAttempts) {
      await this.deps.store.jobs.setAttempts(this.job.job_id, 0);
      this.progressMade = true;
    }
    const job = await this.deps.store.jobs.get(this.job.job_id);
    // Two pages finishing together write progress concurrently; a read that saw the older row is not
    // published after a newer one (listeners see counts that never go back).
    if (!job || job.pages_crawled + job.pages_skipped < this.published) return;
    this.published = job.pages_crawled + job.pages_skipped;
    try {
      this.deps.onProgress?.(job);
    } catch (e) {
      // a listener's failure (a closed MCP stream, a CLI bar) is not the crawl's
      this.deps.log.warn({ job_id: job.job_id, err: errorMessage(e) }, 'progress listener failed');
    }
  }

  /**
   * Cancelled or stopping: waits for the pages already written that wait for their group commit, then throws
   * CrawlCancelled; the other pages in flight are abandoned (none of them writes a page any more: see
   * beforeWrite). So no page of the crawl is stored after it is reported cancelled (a delete_docs that cancels
   * it deletes what it stored, and nothing comes back). Stopped by an error: waits for every page in flight,
   * then throws it.
   */
  private async throwIfStopped(inFlight: Map<string, Promise<void>>): Promise<void> {
    if (this.signal.aborted) {
      await Promise.allSettled([...inFlight].filter(([url]) => this.storing.has(url)).map(([, p]) => p));
      throw new CrawlCancelled('crawl cancelled');
    }
    if (!this.fatal) return;
    await Promise.allSettled(inFlight.values());
    if (this.signal.aborted) throw new CrawlCancelled('crawl cancelled');
    // the counts of the pages stored and skipped so far stay with the failed job
    await this.writeProgress(true).catch(() => {});
    throw this.fatal;
  }

  private throwIfCancelled(): void {
    if (this.work.aborted) throw new CrawlCancelled('crawl cancelled');
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function dedupe(entries: FrontierEntry[]): FrontierEntry[] {
  const seen = new Set<string>();
  return entries.filter((e) => (seen.has(e.url) ? false : (seen.add(e.url), true)));
}
