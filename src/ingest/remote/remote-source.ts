/**
 * The server's side of remote crawling (`doctor serve --redis`): each frontier entry a crawl takes becomes a
 * BullMQ job on the `pages` queue; workers (page-worker.ts) answer on the `results` queue; the crawl stores
 * the result in its group commit as if it had fetched the page itself. The frontier stays in DuckDB.
 *
 * Faults:
 * - a worker dies mid-page: BullMQ's stalled-job check hands the page to another worker;
 * - Redis restarts (and, without persistence, forgets every job): connections wait and reconnect, and a
 *   reconciliation pass re-adds every request this server still waits for whose job Redis no longer knows;
 * - the server restarts: request ids carry this run's id, so results addressed to an earlier run (pages that
 *   may be stored already) are dropped, and the resumed crawl asks again for what its frontier still queues;
 * - a page job that failed for good (every attempt) comes back as a skipped page with BullMQ's reason;
 * - a page the worker could not embed comes back with the embedder's error, which the crawl counts as its own
 *   (too many in a row stop it: src/ingest/embed-failures.ts).
 */
import { createHash, randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DoctorConfig } from '../../config/config.js';
import { EmbeddingError } from '../../embed/embedder.js';
import type { Logger } from '../../log.js';
import type { EmbeddingIdentity } from '../../store/embedding-identity.js';
import { sameEmbedding } from '../../store/embedding-identity.js';
import type { FrontierEntry } from '../../store/frontier.js';
import type { JobRecord } from '../../store/jobs.js';
import { PageSourceDown, type PageSource, type SourcedEntry } from '../crawler.js';
import { connectRedis, openRedis, redactUrl, warnIfEvicting } from './connection.js';
import { clip } from '../extract/bounds.js';
import { within } from '../../deadline.js';
import {
  describeEmbedding,
  EMBEDDING_KEY,
  PAGES_QUEUE,
  PREFIX,
  PROTOCOL_VERSION,
  RESULTS_QUEUE,
  SERVER_KEY,
  workerKey,
  WORKERS_KEY,
  type PageRequest,
  type PageResult,
  type WorkerInfo,
} from './protocol.js';
import { checkOutcome, InvalidResult } from './result-check.js';

export interface RemoteSourceOptions {
  redisUrl: string;
  config: DoctorConfig;
  log: Logger;
  /** The database's vector space now (it changes with a re-embedding). */
  embedding: () => EmbeddingIdentity;
  /** Pages of one crawl job in flight at once. */
  concurrency: number;
  /** How often lost requests are looked for (ms). */
  reconcileMs?: number;
  /** The content hash of the page stored at a URL, if any (a re-crawl's unchanged pages are not embedded again). */
  knownHash?: (url: string) => Promise<string | undefined>;
}

interface Pending {
  request: PageRequest;
  resolve: (r: SourcedEntry) => void;
  reject: (e: unknown) => void;
  since: number;
  /** Times the page was asked for (a new request id each time: ./reconcile). */
  asked: number;
  /** When its page job was first seen completed with no result here. */
  answeredAt?: number;
}

/** Page jobs are attempted this many times (a worker crash or stall counts as one) before the page is skipped. */
const PAGE_ATTEMPTS = 4;
/**
 * A page job completed this long ago with no result here: its result was lost (evicted by a maxmemory policy,
 * flushed, unreadable, taken by another server on the same Redis). A worker adds the result before it completes
 * the page job, and results are taken within milliseconds.
 */
const RESULT_LOST_MS = 10_000;
/** How long closing waits for the result worker's connections to be ready before closing them gracefully. */
const RESULTS_READY_WAIT_MS = 2000;

/** How long the claim on the Redis (SERVER_KEY) outlives the server's last renewal (every reconcile pass). */
const SERVER_CLAIM_MS = 15_000;

export class RedisPageSource implements PageSource {
  readonly concurrency: number;
  /** This server run: results for requests of an earlier run are stale. */
  private readonly run = randomUUID().replace(/-/g, '').slice(0, 12);
  private readonly pending = new Map<string, Pending>();
  private readonly redis: Redis;
  private readonly queue: Queue;
  private results?: Worker;
  /** BullMQ leaves a connection it was given open: closed here. */
  private resultsRedis?: Redis;
  private timer?: NodeJS.Timeout;
  private reconciling = false;
  private closed = false;
  /** Counters since start (for /health and tests). */
  readonly counters = { requested: 0, results: 0, stale: 0, readded: 0, failed: 0, refused: 0, invalid: 0, lost: 0 };

  constructor(private readonly o: RemoteSourceOptions) {
    this.concurrency = o.concurrency;
    this.redis = openRedis(o.redisUrl, o.log, 'server');
    this.queue = new Queue(PAGES_QUEUE, { connection: this.redis, prefix: PREFIX });
    this.queue.on('error', () => {}); // the connection logs it
  }

  async start(): Promise<void> {
    await connectRedis(this.redis, this.o.redisUrl);
    await warnIfEvicting(this.redis, this.o.redisUrl, this.o.log);
    await this.claim();
    await this.announce();
    this.resultsRedis = openRedis(this.o.redisUrl, this.o.log, 'server-results', false);
    this.results = new Worker(RESULTS_QUEUE, (job) => this.onResult(job), {
      connection: this.resultsRedis,
      prefix: PREFIX,
      concurrency: 64,
      // results are handled in microseconds; a long lock only delays a result of a killed server, which is stale anyway
      lockDuration: 30_000,
    });
    // a full Redis also stops results from being taken (BullMQ retries forever): the crawls stop, saying why
    this.results.on('error', (e) => this.outOfMemory(e));
    const every = this.o.reconcileMs ?? 2000;
    this.timer = setInterval(() => void this.reconcile(), every);
    this.timer.unref();
  }

  async process(job: JobRecord, entry: FrontierEntry, signal: AbortSignal): Promise<SourcedEntry> {
    signal.throwIfAborted();
    const request = this.requestFor(job, entry);
    const known = await this.o.knownHash?.(entry.url).catch(() => undefined);
    if (known) request.known_hash = known;
    signal.throwIfAborted(); // the listener below would never hear an abort that already happened
    let p!: Pending;
    const result = new Promise<SourcedEntry>((resolve, reject) => {
      p = { request, resolve, reject, since: Date.now(), asked: 1 };
      this.pending.set(request.request, p);
    });
    // the request's id changes when the page is asked for again (reconcile)
    const forget = (): string | undefined => {
      const id = p.request.request;
      if (this.pending.get(id) !== p) return undefined;
      this.pending.delete(id);
      return id;
    };
    const onAbort = () => {
      const id = forget();
      if (!id) return;
      p.reject(signal.reason);
      // a waiting page job is taken back: no worker fetches a cancelled crawl's pages (one in progress finishes, its result is dropped)
      void this.queue.remove(id).catch(() => {});
    };
    setMaxListeners(this.concurrency + 32, signal); // one listener per page in flight
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.race([this.add(request).catch((e: unknown) => Promise.reject(this.outOfMemory(e) ?? e)), result]);
      this.counters.requested++;
      return await result;
    } finally {
      signal.removeEventListener('abort', onAbort);
      forget();
    }
  }

  /** Workers that sent a heartbeat in the last 30 s, newest first. */
  async workers(): Promise<WorkerInfo[]> {
    return listWorkers(this.redis);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const p of this.pending.values()) p.reject(new Error('the server is stopping'));
    this.pending.clear();
    if (this.results) {
      // Closed before its blocking connection is ready, BullMQ drops that connection mid-handshake and its
      // handshake commands fail with nobody listening: an unhandled rejection ("Connection is closed."), which
      // ends a process. So it gets a moment to be ready first (not forever: the Redis may be gone).
      await within(this.results.waitUntilReady().catch(() => undefined), RESULTS_READY_WAIT_MS);
      await this.results.close(true).catch(() => {});
    }
    // its connection's first connect settles first (see PageWorker.close)
    await this.queue.waitUntilReady().catch(() => {});
    await this.queue.close().catch(() => {});
    this.resultsRedis?.disconnect();
    // the next server (this one restarted, or another database) may start at once
    if ((await this.redis.get(SERVER_KEY).catch(() => null)) === this.claimValue) await this.redis.del(SERVER_KEY).catch(() => {});
    this.redis.disconnect();
  }

  private requestFor(job: JobRecord, entry: FrontierEntry): PageRequest {
    const { config } = this.o;
    const o = job.options as Partial<{ scope: PageRequest['scope']; include: string[]; exclude: string[]; render: PageRequest['render']; respect_robots: boolean }>;
    const urlHash = createHash('sha256').update(entry.url).digest('hex').slice(0, 24);
    return {
      v: PROTOCOL_VERSION,
      request: `${job.job_id}-${urlHash}-${this.run}`,
      crawl_job_id: job.job_id,
      url: entry.url,
      start_url: job.start_url,
      scope: o.scope ?? 'prefix',
      include: o.include ?? [],
      exclude: o.exclude ?? [],
      render: o.render ?? config.render,
      respect_robots: o.respect_robots ?? config.respectRobots,
      limits: {
        request_timeout_ms: config.requestTimeoutMs,
        max_page_bytes: config.maxPageBytes,
        max_redirects: config.maxRedirects,
        per_host_concurrency: config.perHostConcurrency,
        per_host_delay_ms: config.perHostDelayMs,
      },
      chunking: { max_chars: config.chunkSize, overlap: config.chunkOverlap },
      embedding: this.o.embedding(),
    };
  }

  private async add(request: PageRequest): Promise<void> {
    await this.queue.add('page', request, {
      jobId: request.request,
      attempts: PAGE_ATTEMPTS,
      backoff: { type: 'exponential', delay: 500 },
      // kept a while so that re-adding a finished request is a no-op (its result is on its way)
      removeOnComplete: { age: 3600, count: 100_000 },
      removeOnFail: { age: 3600 },
    });
  }

  private async onResult(job: Job): Promise<void> {
    // anyone who can write to this Redis can put a result here: nothing in it is trusted (./result-check.ts)
    const r: unknown = job.data;
    this.counters.results++;
    const id = typeof r === 'object' && r !== null ? (r as { request?: unknown }).request : undefined;
    const p = typeof id === 'string' ? this.pending.get(id) : undefined;
    if (!p) {
      // an earlier run's request, a cancelled crawl's, a duplicate (a page retried after a stall), or not a result
      this.counters.stale++;
      return;
    }
    this.pending.delete(p.request.request);
    try {
      p.resolve(this.toEntry(r as PageResult, p.request));
    } catch (e) {
      if (e instanceof InvalidResult) {
        this.counters.invalid++;
        const worker = typeof (r as PageResult).worker === 'string' ? clip((r as PageResult).worker, 100) : 'unknown';
        p.reject(new Error(`refused the result of crawl worker ${worker} (${e.message}): not stored`));
      } else p.reject(e);
    }
  }

  private toEntry(r: PageResult, request: PageRequest): SourcedEntry {
    const worker = typeof r.worker === 'string' ? clip(r.worker, 100) : 'unknown';
    if (r.v !== PROTOCOL_VERSION) throw new Error(`worker ${worker} speaks protocol ${String(r.v)}, this server ${PROTOCOL_VERSION}: run the same Doctor version`);
    const want = this.o.embedding();
    const kind = typeof r.outcome === 'object' && r.outcome !== null ? r.outcome.kind : undefined;
    if (kind === 'page' && !(typeof r.embedding === 'object' && r.embedding !== null && sameEmbedding(r.embedding, want))) {
      this.counters.refused++;
      const theirs = typeof r.embedding === 'object' && r.embedding !== null ? describeEmbedding(r.embedding) : 'no embedding it named';
      return { kind: 'skipped', reason: `worker ${worker} embedded with ${theirs}, but this index uses ${describeEmbedding(want)}: not stored` };
    }
    const o = checkOutcome(r.outcome, request, want.dimension);
    if (o.kind === 'skipped') return o;
    const page = { title: o.title, markdown: o.markdown, links: o.links, textLength: o.text_length, ...(o.robots ? { robots: o.robots } : {}) };
    if (o.kind === 'embed_failed') {
      // the crawl counts it as a page it failed to embed itself, naming the worker whose settings to check
      const message = `crawl worker ${worker}: ${o.error.message}`;
      return { kind: 'page', finalUrl: o.final_url, page, embedError: o.error.code ? new EmbeddingError(o.error.code, message) : new Error(message) };
    }
    // unchanged: writePage keeps the stored chunks (or, if the page's tags changed, chunks and embeds it here)
    if (o.unchanged) return { kind: 'page', finalUrl: o.final_url, page };
    return { kind: 'page', finalUrl: o.final_url, page, chunks: o.chunks, vectors: o.vectors };
  }

  /** Re-adds requests whose job Redis lost (a restart); turns page jobs that failed for good into skipped pages. */
  private async reconcile(): Promise<void> {
    if (this.reconciling || this.closed || this.redis.status !== 'ready') return;
    this.reconciling = true;
    try {
      await this.announce();
      const now = Date.now();
      for (const [id, p] of [...this.pending]) {
        if (now - p.since < 1000) continue;
        const state = await this.queue.getJobState(id);
        if (!this.pending.has(id)) continue;
        if (state === 'unknown') {
          this.counters.readded++;
          this.o.log.info({ url: p.request.url }, 'page request lost by Redis; queued again');
          await this.add(p.request);
        } else if (state === 'failed') {
          const job = await this.queue.getJob(id);
          this.counters.failed++;
          this.pending.delete(id);
          p.resolve({ kind: 'skipped', reason: `error: ${clip(job?.failedReason ?? 'the crawl workers failed on this page', 2000)}` });
        } else if (state === 'completed') {
          p.answeredAt ??= now;
          if (now - p.answeredAt >= RESULT_LOST_MS) await this.askAgain(id, p);
        }
      }
    } catch (e) {
      if (!this.outOfMemory(e)) this.o.log.debug({ err: (e as Error).message }, 'reconciling remote page requests failed; next time');
    } finally {
      this.reconciling = false;
    }
  }

  /**
   * When `e` is Redis refusing writes for want of memory: the error that stops the crawls (every page waiting
   * is failed with it; a crawl keeps it queued). Redis answers every write so until memory is freed.
   */
  private outOfMemory(e: unknown): PageSourceDown | undefined {
    if (!(e instanceof Error) || !/^OOM\b/.test(e.message)) return undefined;
    const down = new PageSourceDown(
      `Redis at ${redactUrl(this.o.redisUrl)} is out of memory and refuses the crawl's pages and results ` +
        `(${clip(e.message, 100)}): raise its maxmemory or free memory there, then crawl again ` +
        '(keep maxmemory-policy noeviction: other policies drop queued pages and results)',
    );
    if (this.pending.size > 0) this.o.log.error({ err: e.message }, down.message);
    for (const p of this.pending.values()) p.reject(down);
    this.pending.clear();
    return down;
  }

  /**
   * A worker answered the page, but its result never reached this server: the page is asked for again under
   * a new id (the lost result's id may still be taken in Redis), or skipped after PAGE_ATTEMPTS times.
   */
  private async askAgain(id: string, p: Pending): Promise<void> {
    this.pending.delete(id);
    this.counters.lost++;
    if (p.asked >= PAGE_ATTEMPTS) {
      p.resolve({
        kind: 'skipped',
        reason:
          `error: the crawl workers' result for this page did not reach the server ${p.asked} times: check the Redis ` +
          '(maxmemory-policy must be noeviction; FLUSHALL; another Doctor server on the same Redis and database number)',
      });
      return;
    }
    const base = p.request.request.replace(/-again\d+$/, '');
    p.request = { ...p.request, request: `${base}-again${p.asked}` };
    p.asked++;
    p.answeredAt = undefined;
    this.pending.set(p.request.request, p);
    this.o.log.warn({ url: p.request.url }, 'a crawl worker answered a page but its result did not reach the server (lost in Redis); asked again');
    await this.add(p.request);
  }

  /** This server's database: the same one restarted may take over the Redis at once. */
  private get claimValue(): string {
    return JSON.stringify({ database: this.o.config.dbPath, host: hostname() });
  }

  /** Refuses to start when another server (another database) uses this Redis (and database number). */
  private async claim(): Promise<void> {
    const taken = await this.redis.set(SERVER_KEY, this.claimValue, 'PX', SERVER_CLAIM_MS, 'NX');
    if (taken) return;
    const holder = await this.redis.get(SERVER_KEY);
    if (holder !== null && holder !== this.claimValue) {
      let other = holder;
      try {
        const h = JSON.parse(holder) as { database?: unknown; host?: unknown };
        other = `database ${String(h.database)} on ${String(h.host)}`;
      } catch {
        /* shown as it is */
      }
      this.redis.disconnect();
      throw new Error(
        `another Doctor server (${clip(other, 300)}) uses the Redis at ${redactUrl(this.o.redisUrl)}: servers sharing ` +
          'one would take each other\'s crawl results. Give this one its own Redis or database number ' +
          '(redis://host:6379/1; its workers the same URL), or, if that server has stopped, start again in 15 s',
      );
    }
    await this.redis.set(SERVER_KEY, this.claimValue, 'PX', SERVER_CLAIM_MS);
  }

  /** Tells workers which vector space the database holds (again after a Redis restart). */
  private async announce(): Promise<void> {
    await this.redis.set(SERVER_KEY, this.claimValue, 'PX', SERVER_CLAIM_MS);
    await this.redis.set(EMBEDDING_KEY, JSON.stringify({ ...this.o.embedding(), protocol: PROTOCOL_VERSION }));
  }
}

/** Workers registered in Redis with a heartbeat in the last `withinMs`. */
export async function listWorkers(redis: Redis, withinMs = 30_000): Promise<WorkerInfo[]> {
  const ids = await redis.zrevrangebyscore(WORKERS_KEY, '+inf', Date.now() - withinMs);
  if (ids.length === 0) return [];
  const raw = await redis.mget(ids.map(workerKey));
  return raw.flatMap((s) => {
    if (!s) return [];
    try {
      return [JSON.parse(s) as WorkerInfo];
    } catch {
      return [];
    }
  });
}
