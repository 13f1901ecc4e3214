/**
 * The usearch engine: an HNSW index (npm `usearch`) in a file beside the database (`<db>.usearch`, plus a
 * JSON sidecar with its watermark, parameters and checksum), derived from `document_embeddings`.
 *
 * - The index lives in a worker thread (usearch calls are synchronous and slow to build); this thread keeps a
 *   RowMap (seq -> id, tags, page id) to turn index keys into chunk ids and to filter by tag without DuckDB.
 * - Start-up: read the rows, then load the saved index when its sidecar agrees with the table (same build
 *   parameters, same size and SHA-1, and no row up to its watermark appeared since), adding rows stored
 *   since and removing rows deleted since (unless over a quarter of it was deleted); otherwise rebuild
 *   from DuckDB. Until the index is complete, exact search in
 *   DuckDB answers (`status().ready` is false).
 * - Commits: inserts are added and deletes removed after COMMIT (VectorIndexer's onCommit hooks); a large commit's
 *   rows are copied and sent over several turns of the event loop, exact search answering until the last. Bulk
 *   inserts that outrun the index (a migration) switch it to catch-up: exact search answers until the rows
 *   are read back from DuckDB in batches. After many deletes the index is rebuilt in the background (usearch
 *   only marks removed entries), the old one serving until the new one is complete.
 * - Saves are debounced (a few seconds after the last change, at most a minute late) and happen on close;
 *   the worker writes the file, so request handling is never blocked by a save (searches wait in the
 *   worker's queue for its duration; see bench/results/vector-engines.md). A save rewrites the whole file,
 *   so large indexes save less often: automatic saves take at most SAVE_DUTY of the time (1M rows: a
 *   ~13 s save, then none for ~11 minutes; rows stored meanwhile are read back from DuckDB after a crash).
 * - For `:memory:` databases the index is built in memory at every open and never saved.
 */
import { LATE, within } from '../deadline.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { EngineRow, EngineStatus, VectorEngine, VectorHit, VectorSearchRequest } from './engine.js';
import { ExactEngine } from './exact.js';
import { RowMap } from './row-map.js';
import { BATCH_ROWS, readRowInfo, readVectorBatch } from './row-source.js';
import {
  SIDECAR_FORMAT,
  fileSha1,
  fileSize,
  indexPathOf,
  readSidecar,
  buildParamsChange,
  sameBuildParams,
  sidecarPathOf,
  writeSidecar,
} from './sidecar.js';
import { WorkerIndex } from './usearch-client.js';
import { resolveParams, type IndexParams } from './usearch-protocol.js';

export interface UsearchEngineOptions {
  params: IndexParams;
  /** Database file path; the index goes to `<path>.usearch`. Undefined (or ':memory:'): in memory only. */
  dbPath?: string;
  log?: Logger;
  /** Save this long after the last change (default 5 s)... */
  saveDelayMs?: number;
  /** ...but at most this long after the first unsaved change (default 60 s). */
  maxSaveDelayMs?: number;
  /** Largest share of time automatic saves may take (default SAVE_DUTY, 2%). */
  saveDuty?: number;
  /** Rows waiting in the worker beyond which inserts switch to catch-up from DuckDB (default 20,000). */
  maxBacklogRows?: number;
  /** Tuning of tag-filtered search (see `searchFiltered`). */
  filter?: Partial<FilterTuning>;
  /** How long a search waits for the index worker before exact search answers it (default 2 s). */
  searchDeadlineMs?: number;
  /** Silence after which the index worker counts as stuck (default DEFAULT_STUCK_AFTER_MS, 10 minutes). */
  stuckAfterMs?: number;
  /** How long closing waits for the index to be saved (default 60 s). */
  closeSaveMs?: number;
}

/**
 * A search waits this long for the index worker, which answers requests in order: behind a large add (a
 * catch-up, a bulk commit) or a save, or when stuck, exact search answers instead (hundreds of ms at 100k rows).
 */
const SEARCH_DEADLINE_MS = 2000;

export interface FilterTuning {
  /** Over-fetch factor: ask the index for limit / selectivity * this many neighbours. */
  overfetch: number;
  /** Largest k asked of the index; a filter needing more is answered exactly. */
  maxK: number;
  /** Below this selectivity the filter is answered exactly. */
  minSelectivity: number;
}

/**
 * Defaults measured at 100k 1536-d rows (bench/results/vector-engines.md): exact search over a 1% filter in
 * DuckDB costs ~20-25 ms and grows with the matching rows (~150 ms at 20%), while an index search costs
 * ~0.5 ms at k = 10 and grows roughly linearly with k (k = 2,000: a few ms). So: over-fetch from the index
 * whenever the k it needs stays under maxK, else go exact, and fall back to exact when post-filtering still
 * leaves the page short (a tag whose rows all lie far from the query).
 */
export const DEFAULT_FILTER_TUNING: FilterTuning = { overfetch: 2, maxK: 4096, minSelectivity: 0.002 };

/**
 * Largest share of time automatic saves may take: after a save that took S ms, the next automatic one waits
 * at least S / SAVE_DUTY ms. Searches queue behind a save in the worker, so this bounds how often they do.
 */
const SAVE_DUTY = 0.02;

/** Rows per add message for commits: small, so searches queued behind it wait little. */
const COMMIT_ADD_SLICE = 64;

/**
 * Most committed rows copied and sent to the index in one turn of the event loop. A larger commit (one 20 MB
 * document's ~20,000 chunks) goes in several turns, with the server answering other requests between them:
 * copying it all at once held the event loop for ~0.5 s. Exact search answers until its last row is sent.
 */
const COMMIT_SEND_TURN_ROWS = 1024;

/**
 * The share of an index's rows that may be removed before it is rebuilt (also on load), however small the
 * index. Not only to save space: usearch's key lookup table (a flat hash set) keeps every removed key as a
 * tombstone until it grows, and once re-added rows have used up its empty slots, every further remove() spins
 * forever in the worker (usearch 2.25: equal_range never reaches its end), so searches and shutdown hang. The
 * table has over 1.5 slots per live row, so rebuilding before removals reach a quarter of the rows keeps
 * tombstones well below the third it can hold. (The floor of 1,000 removals this replaced let a small index,
 * re-crawled ~25 times, reach that state.)
 */
const REBUILD_SHARE = 0.25;

type State = 'idle' | 'loading' | 'building' | 'catching-up' | 'ready' | 'failed' | 'closed';

interface Live {
  index: WorkerIndex;
  /** Vectors in the index (per the worker's last reply). */
  size: number;
  /** Largest seq sent to the index. */
  maxSeq: number;
  /** Rows removed since it was built (usearch keeps them as tombstones). */
  removed: number;
  /** Rows sent but not yet acknowledged. */
  backlog: number;
  /** Set when inserts stopped being sent: rows with seq >= this must be read back from DuckDB. */
  lagFrom?: number;
  /** Settles once the last add or remove sent for a commit is acknowledged (the worker answers in order). */
  lastSent?: Promise<unknown>;
  /** Committed rows not sent yet, in commit order (`queueHead`: rows of the first entry already taken). */
  queue: (readonly EngineRow[])[];
  queueHead: number;
  /** Settles once the queue has been sent (see COMMIT_SEND_TURN_ROWS). */
  sending?: Promise<void>;
}

export interface BuildProgress {
  done: number;
  total: number;
}

export class UsearchEngine implements VectorEngine {
  readonly name = 'usearch';
  private readonly exact: ExactEngine;
  private readonly rows = new RowMap();
  private readonly indexPath?: string;
  private readonly sidecarPath?: string;
  private readonly tuning: FilterTuning;
  private live?: Live;
  /** An index being prepared (loaded + caught up, or built): receives commits too. */
  private pending?: Live;
  /** Seqs deleted while an index was being prepared: removed again once it is complete (closes read races). */
  private deletedMeanwhile?: Set<number>;
  private state: State = 'idle';
  private detail = 'not started';
  private progress?: BuildProgress;
  private started?: Promise<void>;
  private building?: Promise<void>;
  private catchingUp?: Promise<void>;
  private aborted = false;
  private dirty = false;
  private firstDirtyAt?: number;
  private saveTimer?: NodeJS.Timeout;
  private saving: Promise<void> = Promise.resolve();
  private lastSave?: { at: string; ms: number; bytes: number };
  /** Why the last save failed (a full disk...); cleared by a save that succeeds. */
  private saveError?: string;
  /** When the last save finished (Date.now()); 0 before the first. */
  private lastSaveEnd = 0;
  private progressListeners = new Set<(p: BuildProgress) => void>();
  private origin?: 'loaded' | 'built';
  /** How searches were answered (for status and the benchmark). */
  readonly stats: SearchStats = { index: 0, filteredIndex: 0, filteredExact: 0, shortPageFallbacks: 0, notReady: 0, slowIndexFallbacks: 0 };

  constructor(
    private readonly db: Database,
    private readonly dimension: number,
    private readonly opts: UsearchEngineOptions,
  ) {
    this.exact = new ExactEngine(db, dimension);
    if (opts.dbPath && opts.dbPath !== ':memory:') {
      this.indexPath = indexPathOf(opts.dbPath);
      this.sidecarPath = sidecarPathOf(opts.dbPath);
    }
    this.tuning = { ...DEFAULT_FILTER_TUNING, ...opts.filter };
  }

  /** Starts loading or building the index in the background; exact search answers meanwhile. */
  start(): Promise<void> {
    this.started ??= this.init().catch((e) => this.fail('could not prepare the index', e));
    return this.started;
  }

  /**
   * Resolves once the index is complete and holds every commit sent to it so far (or preparing it failed:
   * then exact search keeps answering).
   */
  async whenReady(): Promise<void> {
    await this.start();
    for (;;) {
      // rows diverted to a catch-up that waits for inserts to pause: the caller waits, so start it now
      if (!this.building) this.startCatchUp();
      const work = this.building ?? this.catchingUp ?? this.live?.sending ?? this.live?.lastSent;
      if (!work) return;
      await work.catch(() => undefined);
      if (work === this.live?.lastSent) this.live.lastSent = undefined;
    }
  }

  get isReady(): boolean {
    return this.state === 'ready' && !!this.live && this.live.lagFrom === undefined && this.live.queue.length === 0;
  }

  // ---- search ---------------------------------------------------------------------------------------

  async search(req: VectorSearchRequest): Promise<VectorHit[]> {
    const live = this.live;
    // rows committed but not yet sent to the index (a large commit goes over several turns): exact finds them
    if (!live || live.lagFrom !== undefined || live.queue.length > 0 || this.state === 'closed') {
      this.stats.notReady++;
      return this.exact.search(req);
    }
    const deadline = this.opts.searchDeadlineMs ?? SEARCH_DEADLINE_MS;
    if (live.index.silentForMs() > deadline) {
      // the worker is still busy with something older than a search may wait for (or stuck)
      this.stats.slowIndexFallbacks++;
      return this.exact.search(req);
    }
    try {
      if (req.tags && req.tags.length > 0) return await this.searchFiltered(live, req);
      const want = Math.min(req.limit, this.rows.size);
      if (want === 0) return [];
      const hits = await this.annSearch(live, req.query, want);
      if (hits === LATE) {
        this.stats.slowIndexFallbacks++;
        return this.exact.search(req);
      }
      // A short page (entries of rows deleted meanwhile, or an unreachable graph region): exact is complete.
      if (hits.length < want) {
        this.stats.shortPageFallbacks++;
        return this.exact.search(req);
      }
      this.stats.index++;
      return hits.slice(0, req.limit);
    } catch (e) {
      if ((this.state as State) === 'closed') throw e;
      // A rebuild replaced (and closed) the index this search was running on: the engine is fine.
      if (this.live !== live) return this.exact.search(req);
      this.fail('the index failed during a search', e);
      return this.exact.search(req);
    }
  }

  /**
   * Tag filters. usearch's JS API has no filtered search, and post-filtering the usual top-k would return
   * short pages (a 1% tag leaves ~0.1 of 10 hits). So, by the filter's selectivity s (rows carrying a tag /
   * all rows, kept in memory):
   * - few matching rows (s < minSelectivity, or the needed k = limit / s * overfetch exceeds maxK): exact
   *   search in DuckDB over the matching rows only. Its cost grows with the rows that match, so it is cheap
   *   exactly when over-fetching would be expensive.
   * - otherwise: ask the index for k neighbours and keep those carrying a tag. With tags independent of the
   *   query, k * s ~ overfetch * limit rows match, so a short page is rare; when it happens (a tag whose rows
   *   all lie far from the query), fall back to exact search, so `limit` results come back whenever that
   *   many rows match.
   */
  private async searchFiltered(live: Live, req: VectorSearchRequest): Promise<VectorHit[]> {
    const tags = req.tags!;
    const matching = this.rows.matchingUpperBound(tags);
    if (matching === 0) return [];
    const selectivity = matching / Math.max(1, this.rows.size);
    const k = Math.ceil((req.limit / selectivity) * this.tuning.overfetch);
    if (matching <= req.limit || selectivity < this.tuning.minSelectivity || k > this.tuning.maxK) {
      this.stats.filteredExact++;
      return this.exact.search(req);
    }
    const wanted = new Set(tags);
    const hits = await this.annSearch(live, req.query, Math.min(k, this.rows.size), (t) => t.some((x) => wanted.has(x)));
    if (hits === LATE) {
      this.stats.slowIndexFallbacks++;
      return this.exact.search(req);
    }
    if (hits.length >= req.limit) {
      this.stats.filteredIndex++;
      return hits.slice(0, req.limit);
    }
    this.stats.shortPageFallbacks++;
    return this.exact.search(req);
  }

  /** The index's hits (LATE when the worker has not answered within the search deadline). */
  private async annSearch(
    live: Live,
    query: Float32Array,
    k: number,
    keep?: (tags: readonly string[]) => boolean,
  ): Promise<VectorHit[] | typeof LATE> {
    const searching = live.index.search(query, k);
    const reply = await within(searching, this.opts.searchDeadlineMs ?? SEARCH_DEADLINE_MS);
    if (reply === LATE) {
      searching.catch(() => undefined); // answered (or failed) later, unread
      return LATE;
    }
    const { keys, distances } = reply;
    const out: VectorHit[] = [];
    for (let i = 0; i < keys.length; i++) {
      const row = this.rows.get(Number(keys[i]));
      if (!row || (keep && !keep(row.tags))) continue;
      out.push({ id: row.id, score: 1 - distances[i]!, pageId: row.pageId });
    }
    // Equal scores in id order, as exact search orders them: the graph's traversal order among ties
    // changes with every build (threaded inserts), and answers should not change with it.
    return out.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  // ---- commits --------------------------------------------------------------------------------------

  afterInsert(rows: readonly EngineRow[]): void {
    for (const r of rows) this.rows.add(Number(r.seq), r.id, r.tags, r.pageId);
    if (this.state === 'closed' || rows.length === 0) return;
    for (const target of [this.live, this.pending]) if (target) this.sendAdds(target, rows);
    this.markDirty();
  }

  afterDelete(seqs: readonly bigint[]): void {
    const nums = seqs.map(Number);
    for (const s of nums) this.rows.remove(s);
    if (this.state === 'closed' || nums.length === 0) return;
    if (this.deletedMeanwhile) for (const s of nums) this.deletedMeanwhile.add(s);
    const keys = BigUint64Array.from(nums, (s) => BigInt(s));
    for (const target of [this.live, this.pending]) {
      if (!target) continue;
      target.removed += nums.length;
      // The index a rebuild is replacing takes no further removes once it needs that rebuild (see REBUILD_SHARE):
      // during a long rebuild a re-crawl could otherwise fill its key table. Its answers go through the row map,
      // which drops deleted rows.
      if (target === this.live && this.building && target.removed > REBUILD_SHARE * target.size) continue;
      target.lastSent = target.index.remove(keys).then(
        (size) => (target.size = size),
        (e) => this.onIndexError(target, e),
      );
    }
    this.markDirty();
    const live = this.live;
    if (live && !this.building && live.removed > REBUILD_SHARE * live.size) {
      this.opts.log?.info({ removed: live.removed, size: live.size }, 'many vectors deleted: rebuilding the usearch index');
      void this.rebuild().catch(() => undefined);
    }
  }

  private sendAdds(target: Live, rows: readonly EngineRow[]): void {
    const maxBacklog = this.opts.maxBacklogRows ?? 20_000;
    if (target.lagFrom !== undefined || target.backlog + rows.length > maxBacklog) {
      // The index cannot keep up (bulk load): read these rows back from DuckDB later, in large batches.
      const lowest = rows.reduce((m, r) => Math.min(m, Number(r.seq)), Infinity);
      target.lagFrom = Math.min(target.lagFrom ?? Infinity, lowest);
      if (target === this.live) this.scheduleCatchUp();
      return;
    }
    target.backlog += rows.length;
    target.queue.push(rows);
    if (target.sending) return; // sent after the rows queued before them
    // The first turn's rows go now, so a small commit is in the index's queue before any later search.
    this.sendTurn(target);
    if (target.queue.length > 0) target.sending = this.sendRest(target);
  }

  /** Sends the queue's remaining rows, one turn's worth at a time, letting the event loop run in between. */
  private async sendRest(target: Live): Promise<void> {
    while (target.queue.length > 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (target !== this.live && target !== this.pending) {
        // replaced, failed or closed: its queue is of no use any more
        target.queue = [];
        break;
      }
      this.sendTurn(target);
    }
    target.sending = undefined; // in the same turn as the last check: a commit arriving later starts anew
  }

  /**
   * Copies and sends up to COMMIT_SEND_TURN_ROWS queued rows, in add messages of COMMIT_ADD_SLICE rows. Rows
   * deleted since their commit are skipped: their remove already reached the index, which must not get them after.
   */
  private sendTurn(target: Live): void {
    const dim = this.dimension;
    const take: EngineRow[] = [];
    let skipped = 0;
    while (take.length < COMMIT_SEND_TURN_ROWS && target.queue.length > 0) {
      const head = target.queue[0]!;
      const end = Math.min(head.length, target.queueHead + COMMIT_SEND_TURN_ROWS - take.length);
      for (let i = target.queueHead; i < end; i++) {
        const r = head[i]!;
        if (this.rows.has(Number(r.seq))) take.push(r);
        else skipped++;
      }
      target.queueHead = end;
      if (end === head.length) {
        target.queue.shift();
        target.queueHead = 0;
      }
    }
    target.backlog -= skipped;
    for (let start = 0; start < take.length; start += COMMIT_ADD_SLICE) {
      const part = take.slice(start, start + COMMIT_ADD_SLICE);
      const keys = BigUint64Array.from(part, (r) => r.seq);
      const vectors = new Float32Array(part.length * dim);
      part.forEach((r, i) => vectors.set(r.vector, i * dim));
      for (const r of part) target.maxSeq = Math.max(target.maxSeq, Number(r.seq));
      target.lastSent = target.index.add(keys, vectors, 1).then(
        (reply) => {
          target.backlog -= part.length;
          target.size = reply.size;
        },
        (e) => this.onIndexError(target, e),
      );
    }
  }

  private catchUpTimer?: NodeJS.Timeout;

  /** Once inserts pause for a second, reads the rows the live index missed back from DuckDB. */
  private scheduleCatchUp(): void {
    if (this.catchUpTimer) clearTimeout(this.catchUpTimer);
    this.catchUpTimer = setTimeout(() => {
      this.catchUpTimer = undefined;
      this.startCatchUp();
    }, 1000);
    this.catchUpTimer.unref();
  }

  /** Reads the missed rows back now, when the live index lags and no catch-up runs (a scheduled one is not waited for). */
  private startCatchUp(): void {
    const live = this.live;
    if (!live || live.lagFrom === undefined || this.catchingUp || this.state === 'closed') return;
    if (this.catchUpTimer) clearTimeout(this.catchUpTimer);
    this.catchUpTimer = undefined;
    this.catchingUp = this.catchUp(live).finally(() => (this.catchingUp = undefined));
  }

  private async catchUp(live: Live): Promise<void> {
    const from = live.lagFrom!;
    this.state = 'catching-up';
    this.deletedMeanwhile ??= new Set();
    try {
      // New inserts keep being diverted (lagFrom stays set) until the batches below are in; the last check
      // and clearing lagFrom happen in one synchronous step, so no insert falls between them.
      await this.fill(live, from - 1, () => this.aborted || this.live !== live);
      while (this.rows.seqsAfter(live.maxSeq).length > 0 && !this.aborted && this.live === live) {
        await this.fill(live, live.maxSeq, () => this.aborted || this.live !== live);
      }
      if (this.aborted || this.live !== live) return;
      live.lagFrom = undefined;
      await this.removeMeanwhile(live);
      if (!this.pending) this.deletedMeanwhile = undefined;
      if (this.live === live) this.state = 'ready';
      this.markDirty();
    } catch (e) {
      this.fail('catching up with inserted rows failed', e);
    }
  }

  // ---- start-up, builds -----------------------------------------------------------------------------

  private async init(): Promise<void> {
    this.state = 'loading';
    this.detail = 'reading rows';
    this.deletedMeanwhile = new Set();
    await readRowInfo(this.db, (seq, id, tags, pageId) => this.rows.add(seq, id, tags, pageId));
    if (this.aborted) return;
    const loaded = this.indexPath ? await this.tryLoad() : undefined;
    if (loaded) {
      this.live = loaded;
      this.pending = undefined;
      this.state = 'ready';
      this.origin = 'loaded';
      this.detail = 'loaded from file';
      this.deletedMeanwhile = undefined;
      return;
    }
    await this.rebuild();
  }

  /** The saved index when it can be trusted (caught up with rows stored since); undefined otherwise. */
  private async tryLoad(): Promise<Live | undefined> {
    const why = (reason: string) => {
      this.opts.log?.info({ index: this.indexPath, reason }, 'rebuilding the usearch index from the database');
      this.detail = `rebuilding: ${reason}`;
      return undefined;
    };
    const path = this.indexPath!;
    const sc = readSidecar(this.sidecarPath!);
    const bytes = fileSize(path);
    if (bytes === undefined) return why('no index file');
    if (!sc) return why('its sidecar is missing, unreadable or from an earlier version');
    if (!sameBuildParams(sc.params, this.opts.params)) return why(`it was built with other parameters (${buildParamsChange(sc.params, this.opts.params)})`);
    if (bytes !== sc.bytes) return why(`the file is ${bytes} bytes, ${sc.bytes} expected (truncated or replaced)`);
    // Seqs only grow and commits are serialised, so rows up to the watermark can only have been deleted since
    // the save: they are removed from the loaded index, unless so many went that a rebuild is cheaper.
    const held = this.rows.countUpTo(sc.maxSeq);
    const deleted = sc.rows - held;
    const stale = savedIndexStaleness(sc.rows, held, sc.maxSeq, sc.removed);
    if (stale) return why(stale);
    if ((await fileSha1(path)) !== sc.sha1) return why('the file is damaged (checksum differs)');
    if (this.aborted) return undefined;
    const index = await WorkerIndex.create(resolveParams(this.opts.params, this.rows.size), { stuckAfterMs: this.opts.stuckAfterMs });
    try {
      const size = await index.load(path);
      if (size !== sc.rows) {
        await index.terminate();
        return why(`the file holds ${size} vectors, ${sc.rows} expected`);
      }
      const live: Live = { index, size, maxSeq: sc.maxSeq, removed: sc.removed, backlog: 0, queue: [], queueHead: 0 };
      index.onFailure((e) => this.onIndexError(live, e));
      this.pending = live;
      if (deleted > 0) {
        this.detail = `removing ${deleted} rows deleted since the index was saved`;
        await this.removeDeletedSince(live, sc.maxSeq);
        live.removed += deleted;
        if (live.size !== held) {
          this.pending = undefined;
          await index.terminate();
          return why(`after removing deleted rows it holds ${live.size} vectors, ${held} expected`);
        }
        this.markDirty();
      }
      const newer = this.rows.seqsAfter(sc.maxSeq).length;
      if (newer > 0) {
        this.state = 'catching-up';
        this.detail = `adding ${newer} rows stored since the index was saved`;
        await this.fill(live, sc.maxSeq, () => this.aborted);
        this.markDirty();
      }
      await this.removeMeanwhile(live);
      this.lastSave = { at: sc.savedAt, ms: 0, bytes: sc.bytes };
      return live;
    } catch (e) {
      this.pending = undefined;
      await index.terminate();
      return why(`loading failed: ${(e as Error).message}`);
    }
  }

  /**
   * Builds a new index from every stored row, in a worker; the current index (if any) keeps answering
   * until the new one is complete. Concurrent calls share one build.
   */
  rebuild(onProgress?: (p: BuildProgress) => void): Promise<void> {
    if (onProgress) this.progressListeners.add(onProgress);
    if (this.building) return this.building.finally(() => onProgress && this.progressListeners.delete(onProgress));
    this.building = this.build()
      .catch((e) => this.fail('building the index failed', e))
      .finally(() => {
        this.building = undefined;
        if (onProgress) this.progressListeners.delete(onProgress);
      });
    return this.building;
  }

  private async build(): Promise<void> {
    if (!this.started) {
      // Called before start(): read the rows first (start() then finds the build under way).
      this.started = Promise.resolve();
      this.state = 'loading';
      this.deletedMeanwhile = new Set();
      await readRowInfo(this.db, (seq, id, tags, pageId) => this.rows.add(seq, id, tags, pageId));
    }
    if (!this.live) this.state = 'building';
    this.deletedMeanwhile ??= new Set();
    const t0 = performance.now();
    const index = await WorkerIndex.create(resolveParams(this.opts.params, this.rows.size), { stuckAfterMs: this.opts.stuckAfterMs });
    const next: Live = { index, size: 0, maxSeq: 0, removed: 0, backlog: 0, queue: [], queueHead: 0 };
    index.onFailure((e) => this.onIndexError(next, e));
    this.pending = next;
    try {
      await this.fill(next, 0, () => this.aborted, true);
      await this.removeMeanwhile(next);
    } catch (e) {
      if (this.pending === next) this.pending = undefined;
      await index.terminate();
      throw e;
    }
    if (this.aborted) {
      if (this.pending === next) this.pending = undefined;
      await index.terminate();
      return;
    }
    const old = this.live;
    this.live = next;
    this.origin = 'built';
    this.pending = undefined;
    this.deletedMeanwhile = undefined;
    this.state = next.lagFrom === undefined ? 'ready' : 'catching-up';
    this.detail = `built in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
    this.progress = undefined;
    this.opts.log?.info({ rows: next.size, seconds: (performance.now() - t0) / 1000 }, 'usearch index built');
    if (next.lagFrom !== undefined) this.scheduleCatchUp();
    if (old) await old.index.terminate();
    this.dirty = true;
    await this.save();
  }

  /**
   * Adds every row with seq > `after` known to the row map, read from DuckDB in batches of ~BATCH_ROWS rows
   * (the seq ranges are cut so that each holds that many rows). Rows inserted meanwhile reach `target`
   * through afterInsert; duplicates are skipped by the worker.
   */
  private async fill(target: Live, after: number, stop: () => boolean, reportProgress = false): Promise<void> {
    const seqs = this.rows.seqsAfter(after);
    const total = seqs.length;
    let done = 0;
    const report = () => {
      if (!reportProgress) return;
      this.progress = { done, total };
      this.detail = `building: ${done}/${total} rows`;
      for (const l of this.progressListeners) l(this.progress);
    };
    report();
    // The next batch is read from DuckDB while the worker adds the current one (usearch's threaded add
    // keeps both cores busy; the read would otherwise leave them idle). At most two batches are held.
    const read = (i: number) => {
      const lo = i === 0 ? after : seqs[i - 1]!;
      const hi = seqs[Math.min(seqs.length, i + BATCH_ROWS) - 1]!;
      const p = readVectorBatch(this.db, this.dimension, lo, hi, Math.min(seqs.length, i + BATCH_ROWS) - i);
      p.catch(() => undefined); // awaited below, or abandoned when the build stops
      return p;
    };
    let next = seqs.length > 0 ? read(0) : undefined;
    for (let i = 0; i < seqs.length && !stop(); i += BATCH_ROWS) {
      const batch = await next!;
      next = i + BATCH_ROWS < seqs.length ? read(i + BATCH_ROWS) : undefined;
      if (batch.keys.length > 0) {
        let maxKey = 0;
        for (const k of batch.keys) maxKey = Math.max(maxKey, Number(k));
        target.maxSeq = Math.max(target.maxSeq, maxKey);
        const reply = await target.index.add(batch.keys, batch.vectors, 0);
        target.size = reply.size;
      }
      done = Math.min(total, i + BATCH_ROWS);
      report();
    }
    await next?.catch(() => undefined);
  }

  /** Removes from `target` every key up to `maxSeq` that is no longer a stored row (absent keys are no-ops). */
  private async removeDeletedSince(target: Live, maxSeq: number): Promise<void> {
    const chunk: bigint[] = [];
    const flush = async () => {
      if (chunk.length === 0) return;
      target.size = await target.index.remove(BigUint64Array.from(chunk));
      chunk.length = 0;
    };
    for (let seq = 0; seq <= maxSeq; seq++) {
      if (this.rows.has(seq)) continue;
      chunk.push(BigInt(seq));
      if (chunk.length >= 1 << 20) await flush();
    }
    await flush();
  }

  private async removeMeanwhile(target: Live): Promise<void> {
    const gone = this.deletedMeanwhile;
    if (!gone || gone.size === 0) return;
    target.size = await target.index.remove(BigUint64Array.from(gone, (s) => BigInt(s)));
    if (this.live === target || this.pending === target) gone.clear();
  }

  // ---- saving ---------------------------------------------------------------------------------------

  private markDirty(): void {
    // a database opened read-only: the index built here stays in memory (the next start with write access saves one)
    if (!this.indexPath || this.state === 'closed' || this.db.readOnly) return;
    this.dirty = true;
    const now = Date.now();
    this.firstDirtyAt ??= now;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    const debounced = Math.min(this.opts.saveDelayMs ?? 5000, Math.max(0, this.firstDirtyAt + (this.opts.maxSaveDelayMs ?? 60_000) - now));
    const earliest = this.lastSaveEnd + (this.lastSave?.ms ?? 0) / (this.opts.saveDuty ?? SAVE_DUTY);
    const delay = Math.max(debounced, earliest - now);
    this.saveTimer = setTimeout(() => void this.save().catch(() => undefined), delay);
    this.saveTimer.unref();
  }

  /** Writes the live index and its sidecar (when something changed); saves never overlap. */
  save(): Promise<void> {
    this.saving = this.saving.then(() => this.saveNow()).then(
      () => {
        if (!this.dirty) this.saveError = undefined;
      },
      (e) => {
        this.saveError = (e as Error).message;
        this.dirty = true; // not saved: the next save (or close) tries again
        this.opts.log?.warn({ err: this.saveError, index: this.indexPath }, 'saving the usearch index failed');
      },
    );
    return this.saving;
  }

  private async saveNow(): Promise<void> {
    // Committed rows still being sent go in this save (maxSeq only counts rows sent, so a save without them would
    // be consistent too, but would leave them to the next start's catch-up).
    await this.live?.sending;
    const live = this.live;
    if (!this.indexPath || !live || !this.dirty || live.lagFrom !== undefined) return;
    if (live.removed > REBUILD_SHARE * live.size) {
      // usearch aborts the process loading a file whose removed entries pass about a third: such an index is not
      // written (the rebuild it waits for is saved instead; a start without one finds the older file stale and rebuilds)
      this.opts.log?.info({ removed: live.removed, size: live.size }, 'not saving the usearch index: too many removed entries; it is rebuilt');
      return;
    }
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    this.dirty = false;
    this.firstDirtyAt = undefined;
    const t0 = performance.now();
    const maxSeq = live.maxSeq;
    const removed = live.removed;
    const rows = await live.index.save(this.indexPath);
    const bytes = fileSize(this.indexPath) ?? 0;
    const sha1 = await fileSha1(this.indexPath);
    const savedAt = new Date().toISOString();
    writeSidecar(this.sidecarPath!, { format: SIDECAR_FORMAT, params: this.opts.params, rows, maxSeq, removed, bytes, sha1, savedAt });
    this.lastSave = { at: savedAt, ms: performance.now() - t0, bytes };
    this.lastSaveEnd = Date.now();
  }

  // ---- status, failures, close ----------------------------------------------------------------------

  async status(): Promise<EngineStatus & UsearchStatusExtra> {
    const live = this.live;
    const ready = this.isReady;
    let freshness: string;
    if (this.state === 'failed') freshness = `failed (${this.detail}); exact search answers`;
    else if (!live) freshness = `${this.detail}; exact search answers meanwhile`;
    else if (live.lagFrom !== undefined) freshness = 'catching up with inserted rows; exact search answers meanwhile';
    else if (live.queue.length > 0) freshness = `sending ${queuedRows(live)} committed rows to the index; exact search answers meanwhile`;
    else if (this.building) freshness = `current; ${this.detail} (rebuilding in the background)`;
    else freshness = 'current';
    if (this.indexPath && live) {
      freshness += this.saveError
        ? `; saving it failed (${this.saveError})`
        : this.dirty ? '; changes not yet saved' : this.lastSave ? `; saved ${this.lastSave.at}` : '';
    }
    return {
      engine: this.name,
      ready,
      rows: this.rows.size,
      indexedRows: live?.size ?? 0,
      indexBytes: this.indexPath ? fileSize(this.indexPath) : undefined,
      detail: freshness,
      indexPath: this.indexPath,
      state: this.state,
      progress: this.progress,
      lastSaveMs: this.lastSave?.ms,
      saveError: this.saveError,
      origin: this.origin,
      expansionSearch: live?.index.params.expansionSearch,
      stats: { ...this.stats },
    };
  }

  private onIndexError(target: Live, e: unknown): void {
    if (this.state === 'closed') return;
    if (target === this.live || target === this.pending) this.fail('the index worker failed', e);
  }

  private fail(what: string, e: unknown): void {
    if (this.state === 'closed') return;
    const msg = (e as Error)?.message ?? String(e);
    this.opts.log?.warn({ err: msg, index: this.indexPath }, `${what}; exact search answers instead`);
    const live = this.live;
    this.live = undefined;
    if (live) void live.index.terminate();
    this.state = 'failed';
    this.detail = `${what}: ${msg}`;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    if (this.catchUpTimer) clearTimeout(this.catchUpTimer);
    // A build in progress is abandoned (the next start rebuilds); a complete index is saved, unless its worker
    // does not get to it in time (stuck in usearch): then the next start rebuilds or catches up instead.
    this.aborted = true;
    const saveMs = this.opts.closeSaveMs ?? 60_000;
    if ((await within(this.save(), saveMs)) === LATE && this.live) {
      this.opts.log?.warn({ index: this.indexPath, seconds: saveMs / 1000 }, 'the usearch index was not saved in time at shutdown; the next start rebuilds or catches up');
      this.live.index.giveUp(`saving the index did not finish within ${saveMs / 1000} s`);
    }
    const workers = [this.live, this.pending].filter((x): x is Live => !!x);
    this.state = 'closed';
    this.live = undefined;
    this.pending = undefined;
    await Promise.all(workers.map((w) => w.index.terminate()));
    await this.building?.catch(() => undefined);
    await this.catchingUp?.catch(() => undefined);
  }
}

/** Rows in `target`'s queue not sent yet. */
function queuedRows(target: Live): number {
  return target.queue.reduce((n, rows) => n + rows.length, 0) - target.queueHead;
}

export interface UsearchStatusExtra {
  indexPath?: string;
  state: string;
  progress?: BuildProgress;
  lastSaveMs?: number;
  /** Why the last save of the index file failed (a full disk...), until a save succeeds. */
  saveError?: string;
  /** Whether the current index was loaded from its file or built from the database. */
  origin?: 'loaded' | 'built';
  /** The search expansion the current index answers with (DOCTOR_USEARCH_EXPANSION_SEARCH, or auto by size). */
  expansionSearch?: number;
  stats: SearchStats;
}

export interface SearchStats {
  /** Unfiltered searches answered by the index. */
  index: number;
  /** Tag-filtered searches answered by over-fetching from the index. */
  filteredIndex: number;
  /** Tag-filtered searches sent to exact search because the filter is selective. */
  filteredExact: number;
  /** Searches whose index page came back short, answered exactly instead. */
  shortPageFallbacks: number;
  /** Searches answered exactly because the index was not complete. */
  notReady: number;
  /** Searches answered exactly because the index worker did not answer within the search deadline (busy or stuck). */
  slowIndexFallbacks: number;
}

export interface IndexFileAssessment {
  /** current: usable as is; behind: usable after adding `newerRows`; otherwise rebuilt on the next open. */
  state: 'current' | 'behind' | 'stale' | 'missing' | 'damaged' | 'other-parameters';
  reason: string;
  indexPath: string;
  indexBytes?: number;
  indexedRows?: number;
  newerRows?: number;
  rows: number;
  savedAt?: string;
}

/**
 * Why a saved index (holding `saved` rows up to seq `maxSeq`, of which `stillStored` are still in the
 * table) is rebuilt rather than loaded; undefined when it can be loaded. Deleted rows are removed on load
 * unless they are so many that the index would be mostly tombstones (usearch only marks removals), or
 * the seq range to check is huge.
 */
export function savedIndexStaleness(saved: number, stillStored: number, maxSeq: number, removed = 0): string | undefined {
  if (stillStored > saved) return `stale: it holds ${saved} rows up to seq ${maxSeq}, the table ${stillStored}`;
  const deleted = saved - stillStored;
  if (deleted + removed > REBUILD_SHARE * saved) {
    return removed > 0
      ? `${deleted} of its ${saved} rows were deleted since it was saved, and it already held ${removed} removed entries (rebuilding beats removing them)`
      : `${deleted} of its ${saved} rows were deleted since it was saved (rebuilding beats removing them)`;
  }
  if (deleted > 0 && maxSeq > 50_000_000) return `rows were deleted since it was saved and its seq range (${maxSeq}) is too large to check`;
  return undefined;
}

/**
 * What the next start-up would do with the saved index, without loading it (for `doctor index status`):
 * the same checks as UsearchEngine's start-up, with counts from SQL instead of the row map.
 */
export async function assessIndexFile(db: Database, dbPath: string, params: IndexParams): Promise<IndexFileAssessment> {
  const indexPath = indexPathOf(dbPath);
  const sc = readSidecar(sidecarPathOf(dbPath));
  const bytes = fileSize(indexPath);
  const [t] = await db.all<{ n: number; upto: number }>(
    'SELECT count(*)::BIGINT AS n, count(*) FILTER (WHERE seq <= $max)::BIGINT AS upto FROM document_embeddings',
    { max: BigInt(sc?.maxSeq ?? 0) },
  );
  const rows = Number(t?.n ?? 0);
  const base = { indexPath, indexBytes: bytes, rows, indexedRows: sc?.rows, savedAt: sc?.savedAt };
  if (bytes === undefined) return { ...base, state: 'missing', reason: 'no index file' };
  if (!sc) return { ...base, state: 'damaged', reason: 'its sidecar is missing, unreadable or from an earlier version' };
  if (!sameBuildParams(sc.params, params)) return { ...base, state: 'other-parameters', reason: `built with other parameters (${buildParamsChange(sc.params, params)})` };
  if (bytes !== sc.bytes) return { ...base, state: 'damaged', reason: `the file is ${bytes} bytes, ${sc.bytes} expected` };
  const upto = Number(t?.upto ?? 0);
  const stale = savedIndexStaleness(sc.rows, upto, sc.maxSeq, sc.removed);
  if (stale) return { ...base, state: 'stale', reason: stale };
  if ((await fileSha1(indexPath)) !== sc.sha1) return { ...base, state: 'damaged', reason: 'the checksum differs' };
  const newerRows = rows - upto;
  const deleted = sc.rows - upto;
  const changes = [
    ...(newerRows > 0 ? [`${newerRows} rows stored since it was saved (added on the next start)`] : []),
    ...(deleted > 0 ? [`${deleted} rows deleted since it was saved (removed on the next start)`] : []),
  ];
  if (changes.length) return { ...base, state: 'behind', newerRows, reason: changes.join('; ') };
  return { ...base, state: 'current', reason: 'holds every stored row' };
}
