/**
 * `doctor migrate qdrant`: copies a Qdrant collection (ids, vectors, payloads) into document_embeddings,
 * without re-embedding anything. Qdrant is only read. Pages through `scroll` with `next_page_offset`,
 * one batch in memory at a time; each batch is validated and written through the bulk path in one
 * transaction together with the resume point, so a crash loses nothing committed and `--resume`
 * continues after the last committed batch. Re-running replaces rows by id (idempotent).
 */
import { LIST, VARCHAR, listValue } from '../db/duckdb.js';
import type { Tx, TxPipeline } from '../db/database.js';
import type { Store } from '../store/store.js';
import { getMeta, setMeta } from '../db/meta.js';
import type { ChunkPayload } from '../store/embeddings.js';
import { MigrationError } from './errors.js';
import type { DecodedPage } from './page-protocol.js';
import { PageStream } from './page-stream.js';
import { termsAt } from '../text/packed-terms.js';
import { sourceTag, type PointId } from './points.js';
import { MAX_RETRIES, type SourceCalls, type SourceConfig } from './source.js';

export { MigrationError } from './errors.js';
export { sourceTag } from './points.js';

export interface QdrantMigrationOptions {
  /** Qdrant's REST URL (read when `grpcUrl` is not given; also the URL named in messages). */
  url: string;
  /** Qdrant's gRPC URL (port 6334): when given, everything is read over gRPC. */
  grpcUrl?: string;
  apiKey?: string;
  /** See SourceConfig.timeoutMs (default 60 s). */
  timeoutMs?: number;
  collection: string;
  vectorName?: string;
  batchSize: number;
  dryRun?: boolean;
  resume?: boolean;
  onError: 'skip' | 'stop';
  force?: boolean;
  /** Retries of a failing request before giving up. */
  maxRetries?: number;
  /** Rows written per transaction (pages are grouped up to this; default WRITE_GROUP_ROWS). */
  writeGroupRows?: number;
  /** Points compared element by element in the verification. */
  sampleSize?: number;
}

/**
 * Rows per write transaction by default: one DuckDB row group of the migration's store (see
 * migrationRowGroupSize), so that each transaction's rows go straight into the file.
 */
export const WRITE_GROUP_ROWS = 2048;

/**
 * Decoded pages the reader thread may hand over before this thread has taken them (beyond them, one answer
 * waits to be decoded). This thread still stops for a few milliseconds at a time (appender flushes, the
 * keyword index's update after a commit): with 2, the reader then stopped too, and a gRPC run of 50,000
 * 1536-d points took ~5% longer than with 3 (4 gained nothing more).
 */
export const READ_AHEAD_PAGES = 3;

/**
 * Rows a group's transaction appends at once (or what is left of the group): each append has a fixed cost
 * (sequence numbers, two appenders) on this thread; page by page (256 rows) used ~0.3 s more CPU per 50,000
 * points, and the REST run, whose reader thread is the slower one, lost ~5%.
 */
const TAKE_ROWS = 1024;

/**
 * The row group size to open the migration's store with (OpenOptions.rowGroupSize), or undefined for
 * Doctor's default (DEFAULT_ROW_GROUP_SIZE, also 2,048 rows since crawls commit whole row groups too). With
 * scroll pages that tile WRITE_GROUP_ROWS (the default 256 does), every full transaction appends whole row
 * groups, which DuckDB writes straight into the file instead of copying them into the WAL at COMMIT and again
 * at the checkpoint (1536-d vectors: ~200 instead of ~300 µs of CPU per row). Other page sizes leave a partial
 * row group per transaction, kept as it is (checkpoints vacuum only after deletes).
 */
export function migrationRowGroupSize(batchSize: number): number | undefined {
  return WRITE_GROUP_ROWS % batchSize === 0 || batchSize % WRITE_GROUP_ROWS === 0 ? WRITE_GROUP_ROWS : undefined;
}

export interface MigrationProgress {
  read: number;
  written: number;
  skipped: number;
  total: number;
}

export interface MigrationReport extends MigrationProgress {
  collection: string;
  dimension: number;
  distance: string;
  notes: string[];
  skippedPoints: { id: string; reason: string }[];
  elapsedSeconds: number;
  pointsPerSecond: number;
  resumedFrom?: string | number | null;
  dryRun: boolean;
  verification?: { qdrantCount: number; rows: number; countsMatch: boolean; sampled: number; sampleMismatches: string[] };
}

const saveState = (st: ResumeState) => JSON.stringify(st, (_k, v: unknown) => (typeof v === 'bigint' ? { bigint: String(v) } : v));
const loadStateText = (raw: string) =>
  JSON.parse(raw, (_k, v: unknown) =>
    v && typeof v === 'object' && 'bigint' in v && typeof (v as { bigint: unknown }).bigint === 'string' ? BigInt((v as { bigint: string }).bigint) : v,
  ) as ResumeState;
/**
 * The meta keys of a collection's resume point. Transactions write it in turn to one key and the other (by
 * `serial`): two of them may be open at once (Database.pipelined), and DuckDB fails the later of two open
 * transactions that write the same row. The first key is the one earlier versions wrote (without a serial).
 */
const stateKeys = (collection: string) => [`migration:qdrant:${collection}`, `migration:qdrant@2:${collection}`] as const;
const stateKey = (collection: string, serial: number) => stateKeys(collection)[serial % 2]!;
/** Where an unfinished earlier run stopped (undefined: start from the beginning). */
const resumePoint = (saved: ResumeState | undefined) => (saved && !saved.done ? saved.next_offset : undefined);

export interface ResumeState {
  /** Counts the transactions that wrote a resume point for this collection (0 in earlier versions' states). */
  serial: number;
  next_offset: PointId | null;
  read: number;
  written: number;
  skipped: number;
  done: boolean;
}

/** Where to read from: gRPC when `grpcUrl` is given, else REST. */
export function sourceConfig(opts: Pick<QdrantMigrationOptions, 'url' | 'grpcUrl' | 'apiKey' | 'timeoutMs'>): SourceConfig {
  const common = { apiKey: opts.apiKey, timeoutMs: opts.timeoutMs };
  return opts.grpcUrl ? { kind: 'grpc', url: opts.grpcUrl, ...common } : { kind: 'rest', url: opts.url, ...common };
}

/**
 * Starts the page reader thread of a migration with these options: it opens the source (loading its client
 * library) at once, and answers the migration's requests to Qdrant. Pass it to inspectCollection and then to
 * migrateQdrant, which closes it.
 */
export function openReader(opts: Pick<QdrantMigrationOptions, 'url' | 'grpcUrl' | 'apiKey' | 'timeoutMs' | 'maxRetries'>): PageStream {
  return new PageStream(sourceConfig(opts), opts.maxRetries ?? MAX_RETRIES);
}

/** Reads the collection's vector parameters, checking size and distance. */
export async function inspectCollection(source: Pick<SourceCalls, 'collectionInfo'>, opts: Pick<QdrantMigrationOptions, 'collection' | 'vectorName' | 'force'>) {
  const info = await source.collectionInfo(opts.collection);
  const vectors = info.vectors;
  let params: { size: number; distance: string } | undefined;
  const notes: string[] = [];
  if (vectors && 'size' in vectors && typeof vectors.size === 'number') {
    if (opts.vectorName) notes.push(`the collection has one unnamed vector: --vector-name ${opts.vectorName} is ignored`);
    params = vectors as { size: number; distance: string };
  } else if (vectors) {
    const named = vectors as Record<string, { size: number; distance: string }>;
    const names = Object.keys(named);
    if (!opts.vectorName) {
      throw new MigrationError(`collection "${opts.collection}" has named vectors (${names.join(', ')}): choose one with --vector-name.`);
    }
    params = named[opts.vectorName];
    if (!params) {
      throw new MigrationError(`collection "${opts.collection}" has no vector named "${opts.vectorName}"; its vectors are: ${names.join(', ')}.`);
    }
  }
  if (!params) throw new MigrationError(`collection "${opts.collection}" has no dense vectors to migrate.`);
  const distance = String(params.distance);
  if (distance === 'Dot') {
    notes.push('the collection uses Dot distance: accepted because Doctor ranks by cosine, which equals dot product on normalised vectors (OpenAI embeddings are normalised)');
  } else if (distance !== 'Cosine') {
    if (!opts.force) {
      throw new MigrationError(`collection "${opts.collection}" uses ${distance} distance; Doctor ranks by cosine similarity, so results would differ. Pass --force to migrate anyway.`);
    }
    notes.push(`the collection uses ${distance} distance (migrated with --force; Doctor ranks by cosine)`);
  }
  return { size: Number(params.size), distance, pointsCount: info.pointsCount, notes };
}

/**
 * Migrates the collection into `store`. `reader`: the run's page reader (openReader with the same options),
 * when the caller has started it already (to inspect the collection first); else one is started here. Either
 * way it is closed when this returns.
 */
export async function migrateQdrant(
  store: Store,
  opts: QdrantMigrationOptions,
  hooks: { onProgress?: (p: MigrationProgress) => void; onNote?: (note: string) => void } = {},
  reader: PageStream = openReader(opts),
): Promise<MigrationReport> {
  const started = performance.now();
  // The page reader starts first: it loads its client (a gRPC client takes ~0.15 s) and asks for the first
  // pages, while this thread reads the resume point; this thread loads no client: the reader also answers its
  // requests to Qdrant. It reads vectors of the database's dimension; a collection of another dimension stops
  // the run below, before any page is written.
  try {
    const saved = opts.resume ? await resumeState(store, opts.collection) : undefined;
    reader.start({
      collection: opts.collection,
      vectorName: opts.vectorName,
      dimension: store.embedding.dimension,
      batchSize: opts.batchSize,
      offset: resumePoint(saved) ?? null,
      window: READ_AHEAD_PAGES,
    });
    return await migrate(store, reader, saved, opts, hooks, started);
  } finally {
    await reader.close();
  }
}

async function migrate(
  store: Store,
  reader: PageStream,
  saved: ResumeState | undefined,
  opts: QdrantMigrationOptions,
  hooks: { onProgress?: (p: MigrationProgress) => void; onNote?: (note: string) => void },
  started: number,
): Promise<MigrationReport> {
  const counting = reader.count(opts.collection);
  counting.catch(() => {}); // awaited below, once the collection is known to fit
  const info = await inspectCollection(reader, opts);
  if (info.size !== store.embedding.dimension) {
    throw new MigrationError(
      `collection "${opts.collection}" holds ${info.size}-dimensional vectors but this database stores ${store.embedding.dimension}-dimensional ones. ` +
        'Migrate into a new database (another DATA_DIR) or choose the matching collection.',
    );
  }
  for (const n of info.notes) hooks.onNote?.(n);
  const total = await counting;

  if (opts.resume && !saved) hooks.onNote?.('nothing to resume: starting from the beginning');
  if (saved?.done) hooks.onNote?.('the previous run had finished: reading the collection again (rows are replaced, not duplicated)');
  const serial = saved?.serial ?? 0;
  const state: ResumeState = saved && !saved.done ? { ...saved, serial } : { serial, next_offset: null, read: 0, written: 0, skipped: 0, done: false };
  const resumedFrom = resumePoint(saved);
  const skippedPoints: { id: string; reason: string }[] = [];

  // Ids can only collide when chunks are already stored (an earlier run, another collection): only then
  // are existing rows replaced by id (deleting first costs a lookup per batch).
  const replace = (await store.chunks.count()) > 0;
  // A pipeline with bounded memory: a worker thread fetches, decodes and checks pages (the next request in
  // flight while this thread writes; at most READ_AHEAD_PAGES decoded pages waiting), and this thread writes
  // groups of pages (about `writeGroupRows` rows) each in one transaction: one group committing while the next
  // one's transaction appends its pages. Large groups mean fewer commits (each costs a WAL sync); groups of
  // whole row groups skip the WAL.
  const groupRows = Math.max(opts.batchSize, opts.writeGroupRows ?? WRITE_GROUP_ROWS);
  /**
   * Writes pages' good points inside `tx`, leaving out (or stopping at) ids that already belong to chunks from
   * elsewhere; returns how many were written.
   */
  const writePages = async (tx: Tx, pages: readonly DecodedPage[], foreignSkips: { id: string; reason: string }[]): Promise<number> => {
    // views on each page's buffers: vectors and keyword terms (computed by the reader) are not copied here
    let vectors: Float32Array[] = [];
    let payloads: ChunkPayload[] = [];
    let ids: string[] = [];
    for (const page of pages) {
      for (let i = 0; i < page.ids.length; i++) {
        vectors.push(page.vectors.subarray(i * info.size, (i + 1) * info.size));
        const payload = page.payloads[i]!;
        payload.keyword_terms = termsAt(page.terms, i);
        payloads.push(payload);
        ids.push(page.ids[i]!);
      }
    }
    if (replace && ids.length) {
      // An id already used by a chunk from elsewhere (a crawl, another collection) is not overwritten.
      const foreign = await foreignIds(tx, ids, sourceTag(opts.collection));
      if (foreign.size) {
        const [firstId, firstSource] = foreign.entries().next().value!;
        if (opts.onError === 'stop') {
          throw new MigrationError(
            `point ${firstId}: this id already belongs to a chunk from ${firstSource} (${foreign.size} such point(s) in this batch); ` +
              'overwriting it would lose that chunk. Migrate this collection into its own database (DOCTOR_DB_PATH), ' +
              'or pass --on-error skip to leave such points out. Nothing after the last committed batch was written.',
          );
        }
        const keep = ids.map((id) => !foreign.has(id));
        for (const [id, src] of foreign) foreignSkips.push({ id, reason: `id already used by a chunk from ${src}` });
        vectors = vectors.filter((_, i) => keep[i]);
        payloads = payloads.filter((_, i) => keep[i]);
        ids = ids.filter((_, i) => keep[i]);
      }
    }
    if (ids.length) await store.chunks.writeBatch(tx, vectors, payloads, ids, { replace });
    return ids.length;
  };

  // The state after the last group handed over: each group's resume point builds on the one before it, whose
  // transaction may still be committing.
  let lastState: Promise<ResumeState> = Promise.resolve({ ...state });
  /**
   * Writes one group with the resume point after it, in one transaction that appends its pages as they arrive
   * and commits after the previous group's, once the group is complete; then counts it as committed. Without
   * `pipe` (a dry run), nothing is written.
   */
  const commit = async (feed: GroupFeed, pipe: TxPipeline | undefined): Promise<void> => {
    const g = feed.group;
    const before = lastState;
    let settle!: { resolve: (s: ResumeState) => void; reject: (e: unknown) => void };
    lastState = new Promise<ResumeState>((resolve, reject) => (settle = { resolve, reject }));
    lastState.catch(() => {}); // the next group awaits it
    const foreignSkips: { id: string; reason: string }[] = [];
    const write = async (tx: Tx | undefined): Promise<ResumeState> => {
      try {
        let written = 0;
        if (tx) {
          for (let pages = await feed.take(); pages.length; pages = await feed.take()) {
            written += await writePages(tx, pages, foreignSkips);
          }
        } else {
          while ((await feed.take()).length);
          written = g.rows;
        }
        const next = after(await before, g, written, foreignSkips.length);
        settle.resolve(next);
        if (tx) await setMeta(tx, stateKey(opts.collection, next.serial), saveState(next));
        return next;
      } catch (e) {
        settle.reject(e);
        throw e;
      }
    };
    const next = pipe ? await pipe.transaction(write) : await write(undefined);
    if (next.serial > state.serial) Object.assign(state, next);
    for (const f of foreignSkips) if (skippedPoints.length < 1000) skippedPoints.push(f);
    hooks.onProgress?.({ read: state.read, written: state.written, skipped: state.skipped, total });
  };
  const after = (prev: ResumeState, g: Group, written: number, foreign: number): ResumeState => ({
    serial: prev.serial + 1,
    next_offset: g.next,
    read: prev.read + g.read,
    written: prev.written + written,
    skipped: prev.skipped + g.skipped + foreign,
    done: g.next === null,
  });

  let handed = state.read; // points read, in groups handed over to commit (state.read counts committed ones)
  /**
   * Whether a group (not the collection's last) is ready to commit: once it holds `groupRows` points. When
   * groups fill whole row groups (as the CLI writes), the points left (by Qdrant's count) that would make a
   * smaller last group join this one instead, up to twice `groupRows`: a transaction smaller than a row group
   * is not written straight into the file, its rows go through the WAL and the final checkpoint writes them
   * again (a final checkpoint of ~140 ms after the last 848 of 50,000 1536-d points, ~20 ms without them).
   */
  const rowGroup = store.db.rowGroupSize;
  const tailJoins = rowGroup !== undefined && groupRows >= rowGroup;
  const groupDone = (g: Group): boolean => {
    const size = g.rows + g.skipped;
    if (size < groupRows) return false;
    const left = total - (handed + g.read);
    return !tailJoins || left <= 0 || left >= groupRows || size >= 2 * groupRows;
  };
  // The group being filled (its transaction appends its pages as they arrive, then waits for the previous
  // group's COMMIT before its own), and the last one handed over (committing, or about to).
  let filling: { feed: GroupFeed; committed: Promise<void> } | undefined;
  let previous: Promise<void> = Promise.resolve();
  const run = async (pipe: TxPipeline | undefined): Promise<void> => {
    try {
      for (;;) {
        const page = await reader.next();
        reader.ack();
        if (page.bad.length) {
          const firstBad = page.bad[0]!;
          if (opts.onError === 'stop') {
            throw new MigrationError(`point ${firstBad.id}: ${firstBad.reason}. Nothing after the last committed batch was written; pass --on-error skip to skip such points, then --resume.`);
          }
          for (const b of page.bad) if (skippedPoints.length < 1000) skippedPoints.push(b);
        }
        if (!filling) {
          // Groups commit in order (the resume point only moves forward). Each group's transaction appends its
          // pages as they arrive, while the one before it commits (Database.pipelined): this thread never blocks
          // in one long appender flush, so pages keep coming from the reader, and the COMMIT (compressing and
          // writing the row group, on a DuckDB thread) overlaps the next group's appends.
          const feed = new GroupFeed();
          const committed = commit(feed, pipe);
          committed.catch(() => {}); // awaited when the next group is complete, at the end, or on failure below
          filling = { feed, committed };
        }
        filling.feed.add(page);
        if (page.next !== null && !groupDone(filling.feed.group)) continue;
        filling.feed.close();
        await previous; // one group committing while the next one's transaction appends, at most
        handed += filling.feed.group.read;
        previous = filling.committed;
        filling = undefined;
        if (page.next === null) break;
      }
      await previous;
    } catch (e) {
      // The transaction in flight settles first: its own failure is the one to report; else the reader's. The
      // group being filled is rolled back (nothing of it is committed).
      filling?.feed.abort(e);
      await previous;
      await filling?.committed.catch(() => {});
      throw e;
    }
  };
  await (opts.dryRun ? run(undefined) : store.db.pipelined(run));
  if (!opts.dryRun) await store.db.checkpoint();

  const report: MigrationReport = {
    collection: opts.collection,
    dimension: info.size,
    distance: info.distance,
    notes: info.notes,
    read: state.read,
    written: state.written,
    skipped: state.skipped,
    total,
    skippedPoints,
    elapsedSeconds: 0,
    pointsPerSecond: 0,
    resumedFrom: typeof resumedFrom === 'bigint' ? String(resumedFrom) : resumedFrom,
    dryRun: !!opts.dryRun,
  };
  // the verification's sample is the reader's last request (its thread is closed by migrateQdrant)
  if (!opts.dryRun) report.verification = await verify(store, reader, opts, total, state.skipped);
  // The time includes the final checkpoint and the verification.
  report.elapsedSeconds = (performance.now() - started) / 1000;
  report.pointsPerSecond = state.read / Math.max(report.elapsedSeconds, 1e-9);
  return report;
}

type Group = { rows: number; read: number; skipped: number; next: PointId | null };

/**
 * One write group's pages, as its transaction takes them: what has arrived since the last take; aborted when
 * the run stops before the group is complete.
 */
class GroupFeed {
  readonly group: Group = { rows: 0, read: 0, skipped: 0, next: null };
  private queued: DecodedPage[] = [];
  private complete = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;

  add(page: DecodedPage): void {
    const g = this.group;
    g.rows += page.ids.length;
    g.skipped += page.bad.length;
    g.read += page.read;
    g.next = page.next;
    this.queued.push(page);
    this.wake?.();
  }

  /** Rows waiting (a page of only skipped points counts as one, so that it is taken too). */
  private queuedRows(): number {
    let n = 0;
    for (const p of this.queued) n += p.ids.length;
    return n || (this.queued.length ? 1 : 0);
  }

  close(): void {
    this.complete = true;
    this.wake?.();
  }

  abort(error: unknown): void {
    this.failure = { error };
    this.wake?.();
  }

  /**
   * The pages not taken yet, once they hold TAKE_ROWS rows or the group is complete; none once the group is
   * complete and everything was taken. Throws the run's error when it was aborted.
   */
  async take(): Promise<DecodedPage[]> {
    while (!this.failure && !this.complete && this.queuedRows() < TAKE_ROWS) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    this.wake = undefined;
    if (this.failure) throw this.failure.error;
    return this.queued.splice(0);
  }
}

/** Ids among `ids` already stored for another source than `source` (id -> that source). */
async function foreignIds(tx: Tx, ids: readonly string[], source: string): Promise<Map<string, string>> {
  const rows = await tx.all<{ id: string; src: string | null }>(
    `SELECT id, json_extract_string(extra, '$._source') AS src FROM document_embeddings
     WHERE id IN (SELECT unnest($ids)) AND coalesce(json_extract_string(extra, '$._source'), '') <> $source`,
    { ids: listValue([...ids]), source },
    { ids: LIST(VARCHAR), source: VARCHAR },
  );
  return new Map(rows.map((r) => [r.id, r.src ?? 'a crawl or an upgraded database']));
}

/** The collection's resume point: the last one committed (undefined when no run has committed any). */
export async function resumeState(store: Store, collection: string): Promise<ResumeState | undefined> {
  let latest: ResumeState | undefined;
  for (const key of stateKeys(collection)) {
    const raw = await getMeta(store.db, key);
    if (!raw) continue;
    const st = loadStateText(raw);
    st.serial ??= 0;
    if (!latest || st.serial > latest.serial) latest = st;
  }
  return latest;
}

/** Qdrant's count equals the rows migrated from this collection (plus skipped), and a sample matches exactly. */
async function verify(store: Store, source: PageStream, opts: QdrantMigrationOptions, qdrantCount: number, skipped: number) {
  const [row] = await store.db.all<{ n: number }>(
    "SELECT count(*)::INTEGER AS n FROM document_embeddings WHERE json_extract_string(extra, '$._source') = ?",
    [sourceTag(opts.collection)],
  );
  const rows = row?.n ?? 0;
  // a deterministic spread of rows (ordered by a hash of the id)
  const sample = await store.db.all<{ id: string; embedding: number[] }>(
    "SELECT id, embedding FROM document_embeddings WHERE json_extract_string(extra, '$._source') = ? ORDER BY hash(id) LIMIT ?",
    [sourceTag(opts.collection), Math.max(1, opts.sampleSize ?? 20)],
  );
  const mismatches: string[] = [];
  if (sample.length) {
    const ids: PointId[] = sample.map((s) => {
      if (!/^\d+$/.test(s.id)) return s.id;
      const n = Number(s.id);
      return Number.isSafeInteger(n) || (source.config.kind === 'rest' && !('rawJSON' in JSON)) ? n : BigInt(s.id);
    });
    const points = await source.retrieve(opts.collection, ids, opts.vectorName);
    const byId = new Map(points.map((p) => [String(p.id), p]));
    for (const s of sample) {
      const v = byId.get(s.id)?.vector;
      if (!v || v.length !== s.embedding.length) {
        mismatches.push(`${s.id}: missing in Qdrant`);
        continue;
      }
      const bad = s.embedding.findIndex((x, i) => x !== Math.fround(v[i]!));
      if (bad >= 0) mismatches.push(`${s.id}: differs at position ${bad}`);
    }
  }
  return { qdrantCount, rows, countsMatch: rows + skipped === qdrantCount, sampled: sample.length, sampleMismatches: mismatches };
}
