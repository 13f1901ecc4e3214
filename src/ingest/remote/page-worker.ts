/**
 * A remote crawl worker (`doctor worker --redis ...`): no database. It takes page jobs from the `pages`
 * queue, fetches (through its own SSRF guard, on resolved addresses, with its own allow-list), extracts,
 * chunks and embeds, and puts the result on the `results` queue for the server to store. Politeness per
 * host is shared with every other worker through Redis (host-gate.ts). It announces itself with a
 * heartbeat (id, host, embedding model, throughput) and refuses to work for a server whose database holds
 * vectors of another model or dimension.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Dispatcher } from 'undici';
import type { DoctorConfig } from '../../config/config.js';
import { EmbeddingError, type Embedder } from '../../embed/embedder.js';
import type { Logger } from '../../log.js';
import { packageVersion } from '../../version.js';
import { sameEmbedding, type EmbeddingIdentity } from '../../store/embedding-identity.js';
import { chunkSearchText } from '../extract/chunker.js';
import { processPage } from '../process-page.js';
import { LEXICAL_MODEL } from '../../embed/lexical.js';
import { Fetcher } from '../fetch/fetcher.js';
import { createGuardedDispatcher } from '../fetch/net-guard.js';
import { ChromiumRenderer } from '../fetch/renderer.js';
import { RobotsCache } from '../fetch/robots.js';
import { makeScopeFilter, type UrlFilter } from '../fetch/url.js';
import { fetchAndExtract } from '../fetch-page.js';
import { contentHash } from '../page-writer.js';
import { within } from '../../deadline.js';
import { connectRedis, openRedis, warnIfEvicting } from './connection.js';
import { RedisHostGate } from './host-gate.js';
import {
  describeEmbedding,
  EMBEDDING_KEY,
  encodeVectors,
  PAGES_QUEUE,
  PREFIX,
  PROTOCOL_VERSION,
  RESULTS_QUEUE,
  workerKey,
  WORKERS_KEY,
  type PageRequest,
  type PageResult,
  type ResultOutcome,
  type WorkerInfo,
} from './protocol.js';

export interface PageWorkerOptions {
  redisUrl: string;
  /** The worker's own settings: SSRF allow-list, Chromium, User-Agent, its largest page. */
  config: DoctorConfig;
  embedder: Embedder;
  log: Logger;
  /** Pages processed at once. */
  concurrency: number;
  /** A page whose worker sends no lock renewal for this long is given to another worker (ms). */
  lockMs?: number;
  heartbeatMs?: number;
  /** How long to wait for a server to announce its embedding model before giving up (ms; default forever). */
  serverWaitMs?: number;
}

export class WorkerRefused extends Error {
  override name = 'WorkerRefused';
}

export class PageWorker {
  readonly id = `${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`;
  private readonly redis: Redis;
  private readonly results: Queue;
  private worker?: Worker;
  /** BullMQ leaves a connection it was given open: closed here. */
  private pagesRedis?: Redis;
  private readonly gate: RedisHostGate;
  private readonly dispatcher: Dispatcher;
  private readonly renderer: ChromiumRenderer;
  private readonly fetchers = new Map<string, { fetcher: Fetcher; robots: RobotsCache }>();
  private readonly scopes = new Map<string, UrlFilter>();
  private readonly crawlDelays = new Set<string>();
  private heartbeat?: NodeJS.Timeout;
  private refused?: string;
  private stopping?: Promise<void>;
  private readonly finishedAt: number[] = [];
  private readonly startedAt = new Date().toISOString();
  private readonly stats = { active: 0, pages_done: 0, pages_skipped: 0, pages_failed: 0, chunks: 0 };
  private readonly refusal: { promise: Promise<never>; reject: (e: Error) => void };

  constructor(private readonly o: PageWorkerOptions) {
    this.redis = openRedis(o.redisUrl, o.log, 'worker');
    this.results = new Queue(RESULTS_QUEUE, { connection: this.redis, prefix: PREFIX });
    this.results.on('error', () => {});
    const defaults = { max: o.config.perHostConcurrency, delayMs: o.config.perHostDelayMs };
    this.gate = new RedisHostGate(this.redis, () => defaults, o.config.requestTimeoutMs + 10_000);
    this.dispatcher = createGuardedDispatcher({ allowPrivate: o.config.allowPrivateNetwork, allowlist: o.config.allowHosts });
    this.renderer = new ChromiumRenderer(o.config.chromiumPath, o.config.userAgent, this.dispatcher);
    let reject!: (e: Error) => void;
    const promise = new Promise<never>((_, rej) => (reject = rej));
    promise.catch(() => {});
    this.refusal = { promise, reject };
  }

  /** Pages this worker fetched and handed back with their chunks. */
  get pagesDone(): number {
    return this.stats.pages_done;
  }

  /** Chunks this worker cut and embedded. */
  get chunksMade(): number {
    return this.stats.chunks;
  }

  /** The lexical embedder's vectors come from the processing step itself (no second pass over the chunks). */
  private get lexicalDimension(): number | undefined {
    const e = this.o.embedder;
    return e.provider === 'lexical' && e.model === LEXICAL_MODEL ? e.dimension : undefined;
  }

  get embedding(): EmbeddingIdentity {
    return { provider: this.o.embedder.provider, model: this.o.embedder.model, dimension: this.o.embedder.dimension };
  }

  /**
   * Connects, waits for a server to announce its embedding model, checks it, and starts taking pages.
   * Throws WorkerRefused when this worker embeds with another model or dimension.
   */
  async start(): Promise<void> {
    await connectRedis(this.redis, this.o.redisUrl);
    await warnIfEvicting(this.redis, this.o.redisUrl, this.o.log);
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat().catch(() => {}), this.o.heartbeatMs ?? 2000);
    this.heartbeat.unref();
    const server = await this.waitForServer();
    this.check(server);
    if (this.refused) {
      await this.beat().catch(() => {}); // `doctor workers` shows why
      throw new WorkerRefused(this.refused);
    }
    const lockMs = this.o.lockMs ?? 30_000;
    this.pagesRedis = openRedis(this.o.redisUrl, this.o.log, 'worker-pages', false);
    this.worker = new Worker(PAGES_QUEUE, (job) => this.process(job), {
      connection: this.pagesRedis,
      prefix: PREFIX,
      concurrency: this.o.concurrency,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      maxStalledCount: 3,
    });
    this.worker.on('error', () => {});
    this.o.log.info({ id: this.id, embedding: describeEmbedding(this.embedding), concurrency: this.o.concurrency }, 'crawl worker ready');
  }

  /** Resolves when the worker stops on its own: rejects with WorkerRefused if the server's model changes to another. */
  get refusedLater(): Promise<never> {
    return this.refusal.promise;
  }

  /** Stops taking pages, lets pages in progress finish, and leaves the registry. */
  close(): Promise<void> {
    return (this.stopping ??= (async () => {
      clearInterval(this.heartbeat);
      // ready first, or BullMQ drops its blocking connection mid-handshake (see RedisPageSource.close); not forever
      if (this.worker) await within(this.worker.waitUntilReady().catch(() => undefined), 2000);
      await this.worker?.close().catch(() => {});
      // a refused worker stays listed (with the reason) until its entry expires, so `doctor workers` can say why
      // only over a live connection: a command waits for one forever (maxRetriesPerRequest: null), and a worker
      // that never reached Redis (or lost it) has no entry to remove or one that expires on its own
      if (!this.refused && this.redis.status === 'ready') {
        await this.redis.multi().zrem(WORKERS_KEY, this.id).del(workerKey(this.id)).exec().catch(() => {});
      }
      // its connection's first connect settles first: closed before, BullMQ drops its error listeners and the
      // failed connect of a Redis never reached becomes an unhandled 'error' event (a stack trace)
      await this.results.waitUntilReady().catch(() => {});
      await this.results.close().catch(() => {});
      this.pagesRedis?.disconnect();
      this.redis.disconnect();
      await this.renderer.close().catch(() => {});
      await this.dispatcher.close().catch(() => {});
    })());
  }

  private async waitForServer(): Promise<EmbeddingIdentity & { protocol?: number }> {
    const deadline = this.o.serverWaitMs === undefined ? Infinity : Date.now() + this.o.serverWaitMs;
    let told = false;
    for (;;) {
      const raw = await this.redis.get(EMBEDDING_KEY);
      if (raw) return JSON.parse(raw) as EmbeddingIdentity & { protocol?: number };
      if (Date.now() > deadline) throw new Error('no Doctor server announced itself on this Redis: start `doctor serve --redis <same URL>`');
      if (!told) this.o.log.info('waiting for a Doctor server on this Redis (doctor serve --redis)');
      told = true;
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Sets `refused` when the server's vector space is not this worker's. */
  private check(server: EmbeddingIdentity & { protocol?: number }): void {
    if (server.protocol !== undefined && server.protocol !== PROTOCOL_VERSION) {
      this.refused = `the server speaks remote-crawl protocol ${server.protocol}, this worker ${PROTOCOL_VERSION}: run the same Doctor version on both`;
    } else if (!sameEmbedding(server, this.embedding)) {
      this.refused =
        `this worker embeds with ${describeEmbedding(this.embedding)}, but the server's index holds vectors of ` +
        `${describeEmbedding(server)}: start the worker with the same DOCTOR_EMBEDDING_PROVIDER, DOCTOR_EMBEDDING_MODEL and DOCTOR_EMBEDDING_DIM as the server`;
    }
  }

  private async process(job: Job): Promise<void> {
    const d = job.data as PageRequest;
    if (d.v !== PROTOCOL_VERSION || !sameEmbedding(d.embedding, this.embedding)) {
      this.check({ ...d.embedding, protocol: d.v });
      const why = this.refused ?? 'refused';
      this.o.log.error(why);
      // stop taking pages; this one goes back to the queue for a worker that can embed it
      this.refusal.reject(new WorkerRefused(why));
      void this.close();
      throw new Error(`worker ${this.id} refused the page: ${why}`);
    }
    this.stats.active++;
    try {
      const outcome = await this.makeOutcome(d);
      const result: PageResult = { v: PROTOCOL_VERSION, request: d.request, crawl_job_id: d.crawl_job_id, url: d.url, worker: this.id, embedding: this.embedding, outcome };
      await this.results.add('result', result, { jobId: d.request, removeOnComplete: true, removeOnFail: true });
      if (outcome.kind === 'page') {
        this.stats.pages_done++;
        this.stats.chunks += outcome.chunks.length;
      } else if (outcome.kind === 'embed_failed') {
        this.stats.pages_failed++;
        this.o.log.warn({ url: d.url, err: outcome.error.message }, 'page could not be embedded on this worker; the server counts it');
      } else this.stats.pages_skipped++;
      this.finished();
    } catch (e) {
      this.stats.pages_failed++;
      this.o.log.warn({ url: d.url, err: (e as Error).message }, 'page failed on this worker; BullMQ retries it');
      throw e;
    } finally {
      this.stats.active--;
    }
  }

  private async makeOutcome(d: PageRequest): Promise<ResultOutcome> {
    const { fetcher, robots } = this.fetcherFor(d);
    const host = new URL(d.url).host;
    const limits = { max: d.limits.per_host_concurrency, delayMs: d.limits.per_host_delay_ms };
    if (d.respect_robots && !this.crawlDelays.has(host)) {
      // robots.txt Crawl-delay, capped at 10 s as in the in-process crawl
      this.gate.setLimits(host, limits);
      const delay = await robots.crawlDelay(new URL(d.url).origin).catch(() => undefined);
      if (delay && delay > 0) limits.delayMs = Math.max(limits.delayMs, Math.min(delay * 1000, 10_000));
      this.crawlDelays.add(host);
      this.gate.setLimits(host, limits);
    } else if (!this.crawlDelays.has(host)) this.gate.setLimits(host, limits);
    let inScope = this.scopes.get(d.crawl_job_id);
    if (!inScope) {
      if (this.scopes.size > 100) this.scopes.clear();
      inScope = makeScopeFilter(d.start_url, d.scope, d.include, d.exclude);
      this.scopes.set(d.crawl_job_id, inScope);
    }
    const got = await fetchAndExtract(
      {
        fetcher,
        robots,
        renderer: this.renderer.available ? this.renderer : undefined,
        log: this.o.log,
        respectRobots: d.respect_robots,
        render: d.render,
        inScope,
        requestTimeoutMs: d.limits.request_timeout_ms,
        maxPageBytes: Math.min(d.limits.max_page_bytes, this.o.config.maxPageBytes),
        // The crawl's own processing step, on this thread (a worker process is one of many).
        process: async (body, contentType, url) =>
          processPage({ body, contentType, url, chunking: { maxChars: d.chunking.max_chars, overlap: d.chunking.overlap }, lexicalDimension: this.lexicalDimension }),
      },
      d.url,
    );
    if (got.kind === 'skipped') return got;
    const { finalUrl, processed } = got;
    const { page } = processed;
    const unchanged = d.known_hash !== undefined && finalUrl === d.url && contentHash(page.markdown) === d.known_hash;
    const chunks = unchanged ? [] : processed.chunks;
    const extracted = {
      final_url: finalUrl, title: page.title, markdown: page.markdown, links: page.links, text_length: page.textLength,
      ...(page.robots ? { robots: page.robots } : {}),
    };
    let vectors: Float32Array[];
    try {
      vectors = chunks.length === 0 ? [] : (processed.vectors ?? (await this.o.embedder.embed(chunks.map((c) => chunkSearchText(c, page.title)))));
    } catch (e) {
      // Not retried as a failed page job (the embedder has retried already): the server counts embedding
      // failures in a row and stops the crawl when the API is down, as it does for its own.
      const error = { ...(e instanceof EmbeddingError ? { code: e.code } : {}), message: e instanceof Error ? e.message : String(e) };
      return { kind: 'embed_failed', ...extracted, error };
    }
    return {
      kind: 'page',
      ...extracted,
      chunks,
      vectors: encodeVectors(vectors, this.o.embedder.dimension),
      dimension: this.o.embedder.dimension,
      ...(unchanged ? { unchanged } : {}),
    };
  }

  /** One fetcher per set of limits (normally one): the limits come with each page from the server. */
  private fetcherFor(d: PageRequest): { fetcher: Fetcher; robots: RobotsCache } {
    const maxBody = Math.min(d.limits.max_page_bytes, this.o.config.maxPageBytes);
    const key = `${d.limits.request_timeout_ms}/${maxBody}/${d.limits.max_redirects}`;
    let f = this.fetchers.get(key);
    if (!f) {
      const fetcher = new Fetcher({
        userAgent: this.o.config.userAgent,
        timeoutMs: d.limits.request_timeout_ms,
        maxBodyBytes: maxBody,
        maxRedirects: d.limits.max_redirects,
        // the shared gate in Redis holds the per-host limits across every worker
        perHostConcurrency: 1024,
        perHostDelayMs: 0,
        dispatcher: this.dispatcher,
        hostGate: (url, signal) => this.gate.acquire(url, signal),
      });
      f = { fetcher, robots: new RobotsCache(fetcher, fetcher.userAgent) };
      this.fetchers.set(key, f);
    }
    return f;
  }

  private finished(): void {
    const now = Date.now();
    this.finishedAt.push(now);
    while (this.finishedAt.length && this.finishedAt[0]! < now - 60_000) this.finishedAt.shift();
  }

  private async beat(): Promise<void> {
    const now = Date.now();
    while (this.finishedAt.length && this.finishedAt[0]! < now - 60_000) this.finishedAt.shift();
    const info: WorkerInfo = {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      version: packageVersion(),
      protocol: PROTOCOL_VERSION,
      embedding: this.embedding,
      concurrency: this.o.concurrency,
      started_at: this.startedAt,
      last_seen: new Date(now).toISOString(),
      ...this.stats,
      pages_last_minute: this.finishedAt.length,
      ...(this.refused ? { refused: this.refused } : {}),
    };
    const ttl = Math.max(10_000, 5 * (this.o.heartbeatMs ?? 2000));
    await this.redis
      .multi()
      .set(workerKey(this.id), JSON.stringify(info), 'PX', ttl)
      .zadd(WORKERS_KEY, now, this.id)
      .zremrangebyscore(WORKERS_KEY, '-inf', now - 3_600_000)
      .exec();
  }
}
