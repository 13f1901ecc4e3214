/**
 * `doctor migrate qdrant`: copies a Qdrant collection (ids, vectors, payloads) into document_embeddings,
 * without re-embedding anything. Qdrant is only read. Pages through `scroll` with `next_page_offset`,
 * one batch in memory at a time; each batch is validated and written through the bulk path in one
 * transaction together with the resume point, so a crash loses nothing committed and `--resume`
 * continues after the last committed batch. Re-running replaces rows by id (idempotent).
 */
import { LIST, VARCHAR, listValue } from '@duckdb/node-api';
import { QdrantClient } from '@qdrant/js-client-rest';
import type { Tx } from '../db/database.js';
import type { Store } from '../store/store.js';
import { getMeta, setMeta } from '../db/meta.js';
import type { ChunkPayload } from '../store/embeddings.js';

export interface QdrantMigrationOptions {
  url: string;
  apiKey?: string;
  collection: string;
  vectorName?: string;
  batchSize: number;
  dryRun?: boolean;
  resume?: boolean;
  onError: 'skip' | 'stop';
  force?: boolean;
  /** Retries of a failing request before giving up. */
  maxRetries?: number;
  /** Rows written per transaction (pages are grouped up to this; default 1024). */
  writeGroupRows?: number;
  /** Points compared element by element in the verification. */
  sampleSize?: number;
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

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Where JSON.rawJSON exists (Node >= 22), the client parses integer ids above 2^53 as exact BigInts. */
type PointId = string | number | bigint;
const saveState = (st: ResumeState) => JSON.stringify(st, (_k, v: unknown) => (typeof v === 'bigint' ? { bigint: String(v) } : v));
const loadStateText = (raw: string) =>
  JSON.parse(raw, (_k, v: unknown) =>
    v && typeof v === 'object' && 'bigint' in v && typeof (v as { bigint: unknown }).bigint === 'string' ? BigInt((v as { bigint: string }).bigint) : v,
  ) as ResumeState;
interface Point {
  id: PointId;
  vector?: unknown;
  payload?: Record<string, unknown> | null;
}

const KNOWN_FIELDS = ['text', 'page_id', 'url', 'domain', 'tags', 'job_id'];
const stateKey = (collection: string) => `migration:qdrant:${collection}`;
export const sourceTag = (collection: string) => `qdrant:${collection}`;

interface ResumeState {
  next_offset: PointId | null;
  read: number;
  written: number;
  skipped: number;
  done: boolean;
}

/** Reads the collection's vector parameters, checking size and distance. */
export async function inspectCollection(client: QdrantClient, opts: Pick<QdrantMigrationOptions, 'collection' | 'vectorName' | 'force' | 'url'>) {
  const info = await client.getCollection(opts.collection);
  const vectors = info.config?.params?.vectors as unknown;
  let params: { size: number; distance: string } | undefined;
  const notes: string[] = [];
  if (vectors && typeof vectors === 'object' && 'size' in (vectors as object)) {
    if (opts.vectorName) notes.push(`the collection has one unnamed vector: --vector-name ${opts.vectorName} is ignored`);
    params = vectors as { size: number; distance: string };
  } else if (vectors && typeof vectors === 'object') {
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
  return { size: Number(params.size), distance, pointsCount: Number(info.points_count ?? 0), notes };
}

export function createQdrantClient(opts: Pick<QdrantMigrationOptions, 'url' | 'apiKey'>): QdrantClient {
  return new QdrantClient({ url: opts.url, apiKey: opts.apiKey, checkCompatibility: false, timeout: 60_000 });
}

/** Retries transient failures (timeouts, network errors, 5xx, 429) with backoff. */
export async function withRetries<T>(what: string, url: string, fn: () => Promise<T>, maxRetries = 5): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const err = e as Error & { status?: number };
      if (err instanceof MigrationError) throw err;
      const status = err.status;
      const transient = status === undefined || status === 429 || status >= 500;
      if (!transient || attempt >= maxRetries) {
        if (status === 404) throw new MigrationError(`${what}: not found at ${url} (${err.message}). Check --collection.`);
        if (status === 401 || status === 403) throw new MigrationError(`${what}: Qdrant refused the request (${status}): check --api-key.`);
        if (status === undefined) throw new MigrationError(`${what}: cannot reach Qdrant at ${url} after ${attempt + 1} attempts (${err.message}). Is it running? Nothing half-written: run again with --resume.`);
        throw new MigrationError(`${what}: Qdrant answered ${status} (${err.message}) after ${attempt + 1} attempts. Run again with --resume.`);
      }
      const base = Math.min(8000, 200 * 2 ** attempt);
      await new Promise((r) => setTimeout(r, base / 2 + Math.random() * (base / 2)));
    }
  }
}

/** Turns one Qdrant point into a row, or says why it cannot be migrated. */
export function toRow(point: Point, dimension: number, vectorName: string | undefined, collection: string):
  | { ok: true; id: string; vector: Float32Array; payload: ChunkPayload }
  | { ok: false; id: string; reason: string } {
  const id = String(point.id);
  if (typeof point.id === 'number' && !Number.isSafeInteger(point.id)) {
    return { ok: false, id, reason: 'integer id above 2^53: JSON parsing in JavaScript cannot read it exactly, so it would be stored under a wrong id' };
  }
  let raw = point.vector as unknown;
  if (raw && !Array.isArray(raw) && typeof raw === 'object') {
    raw = vectorName ? (raw as Record<string, unknown>)[vectorName] : undefined;
  }
  if (!Array.isArray(raw)) return { ok: false, id, reason: 'no dense vector' };
  if (raw.length !== dimension) return { ok: false, id, reason: `vector has ${raw.length} dimensions, expected ${dimension}` };
  const vector = new Float32Array(dimension);
  let norm = 0;
  for (let i = 0; i < dimension; i++) {
    const x = raw[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) return { ok: false, id, reason: `non-finite value (${String(x)}) at position ${i}` };
    vector[i] = x;
    norm += x * x;
  }
  if (norm === 0) return { ok: false, id, reason: 'all-zero vector' };
  const p = point.payload ?? {};
  const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? null : String(v));
  const tags = Array.isArray(p.tags) ? p.tags.filter((t): t is string => typeof t === 'string') : typeof p.tags === 'string' ? parseTags(p.tags) : [];
  const extra: Record<string, unknown> = { _source: sourceTag(collection) };
  for (const [k, v] of Object.entries(p)) if (!KNOWN_FIELDS.includes(k)) extra[k] = v;
  return {
    ok: true,
    id,
    vector,
    payload: { text: str(p.text) ?? '', page_id: str(p.page_id), url: str(p.url), domain: str(p.domain), tags, job_id: str(p.job_id), extra },
  };
}

function parseTags(s: string): string[] {
  try {
    const v = JSON.parse(s) as unknown;
    if (Array.isArray(v)) return v.filter((t): t is string => typeof t === 'string');
  } catch {
    /* a plain string */
  }
  return s.split(',').map((t) => t.trim()).filter(Boolean);
}

export async function migrateQdrant(
  store: Store,
  client: QdrantClient,
  opts: QdrantMigrationOptions,
  hooks: { onProgress?: (p: MigrationProgress) => void; onNote?: (note: string) => void } = {},
): Promise<MigrationReport> {
  const started = performance.now();
  const retries = opts.maxRetries ?? 5;
  const info = await withRetries(`reading collection "${opts.collection}"`, opts.url, () => inspectCollection(client, opts), retries);
  if (info.size !== store.embedding.dimension) {
    throw new MigrationError(
      `collection "${opts.collection}" holds ${info.size}-dimensional vectors but this database stores ${store.embedding.dimension}-dimensional ones. ` +
        'Migrate into a new database (another DATA_DIR) or choose the matching collection.',
    );
  }
  for (const n of info.notes) hooks.onNote?.(n);
  const total = await withRetries('counting points', opts.url, async () => (await client.count(opts.collection, { exact: true })).count, retries);

  const saved = opts.resume ? await loadState(store, opts.collection) : undefined;
  if (opts.resume && !saved) hooks.onNote?.('nothing to resume: starting from the beginning');
  if (saved?.done) hooks.onNote?.('the previous run had finished: reading the collection again (rows are replaced, not duplicated)');
  const state: ResumeState = saved && !saved.done ? { ...saved } : { next_offset: null, read: 0, written: 0, skipped: 0, done: false };
  const resumedFrom = saved && !saved.done ? saved.next_offset : undefined;
  const skippedPoints: { id: string; reason: string }[] = [];
  const offset: PointId | null | undefined = resumedFrom ?? undefined;
  const withVector = opts.vectorName ? [opts.vectorName] : true;

  const read = (from: PointId | null | undefined) =>
    withRetries(`reading points after offset ${from ?? 'start'}`, opts.url, () =>
      // (a BigInt offset is sent exactly: the client serialises BigInts with JSON.rawJSON where it parses them)
      client.scroll(opts.collection, { limit: opts.batchSize, offset: (from ?? undefined) as string | number | undefined, with_payload: true, with_vector: withVector }),
      retries,
    );
  // Ids can only collide when chunks are already stored (an earlier run, another collection): only then
  // are existing rows replaced by id (deleting first costs a lookup per batch).
  const replace = (await store.chunks.count()) > 0;
  // A pipeline with bounded memory: while one group of pages (about `writeGroupRows` rows) is written in
  // its transaction (DuckDB works on its own threads), the next group is fetched and converted, with one
  // scroll request ahead. At most two groups and one page are held at any time, whatever the collection
  // size. Large groups mean fewer commits (each costs a WAL sync).
  const groupRows = Math.max(opts.batchSize, opts.writeGroupRows ?? 1024);
  type Group = { vectors: Float32Array[]; payloads: ChunkPayload[]; ids: string[]; read: number; skipped: number; next: PointId | null };
  const newGroup = (): Group => ({ vectors: [], payloads: [], ids: [], read: 0, skipped: 0, next: null });

  /** Writes one group with the resume point after it, in one transaction; then counts it as committed. */
  const commit = async (g: Group): Promise<void> => {
    const foreignSkips: { id: string; reason: string }[] = [];
    if (!opts.dryRun) {
      await store.db.transaction(async (tx) => {
        if (replace && g.ids.length) {
          // An id already used by a chunk from elsewhere (a crawl, another collection) is not overwritten.
          const foreign = await foreignIds(tx, g.ids, sourceTag(opts.collection));
          if (foreign.size) {
            const [firstId, firstSource] = foreign.entries().next().value!;
            if (opts.onError === 'stop') {
              throw new MigrationError(
                `point ${firstId}: this id already belongs to a chunk from ${firstSource} (${foreign.size} such point(s) in this batch); ` +
                  'overwriting it would lose that chunk. Migrate this collection into its own database (DOCTOR_DB_PATH), ' +
                  'or pass --on-error skip to leave such points out. Nothing after the last committed batch was written.',
              );
            }
            const keep = g.ids.map((id) => !foreign.has(id));
            for (const [id, src] of foreign) foreignSkips.push({ id, reason: `id already used by a chunk from ${src}` });
            g.vectors = g.vectors.filter((_, i) => keep[i]);
            g.payloads = g.payloads.filter((_, i) => keep[i]);
            g.ids = g.ids.filter((_, i) => keep[i]);
          }
        }
        if (g.ids.length) await store.chunks.writeBatch(tx, g.vectors, g.payloads, g.ids, { replace });
        await setMeta(tx, stateKey(opts.collection), saveState(after(g, foreignSkips.length)));
      });
    }
    Object.assign(state, after(g, foreignSkips.length));
    for (const f of foreignSkips) if (skippedPoints.length < 1000) skippedPoints.push(f);
    hooks.onProgress?.({ read: state.read, written: state.written, skipped: state.skipped, total });
  };
  const after = (g: Group, foreign: number): ResumeState => ({
    next_offset: g.next,
    read: state.read + g.read,
    written: state.written + g.ids.length,
    skipped: state.skipped + g.skipped + foreign,
    done: g.next === null,
  });

  let writing: Promise<void> | undefined; // the previous group's transaction
  try {
    let pending = read(offset);
    let group = newGroup();
    for (;;) {
      const page = await pending;
      const next = (page.next_page_offset ?? null) as PointId | null;
      if (typeof next === 'number' && !Number.isSafeInteger(next)) {
        throw new MigrationError(
          `Qdrant returned the page offset ${next}, an integer id above 2^53 that JavaScript cannot represent exactly, so paging would skip or repeat points. ` +
            'Collections with such ids cannot be migrated by this tool; re-key them to UUIDs in Qdrant first.',
        );
      }
      if (next !== null) {
        pending = read(next);
        pending.catch(() => {}); // awaited on the next turn; a failure there stops the run after the committed groups
      }
      for (const point of (page.points ?? []) as Point[]) {
        const row = toRow(point, info.size, opts.vectorName, opts.collection);
        if (!row.ok) {
          if (opts.onError === 'stop') {
            throw new MigrationError(`point ${row.id}: ${row.reason}. Nothing after the last committed batch was written; pass --on-error skip to skip such points, then --resume.`);
          }
          group.skipped++;
          if (skippedPoints.length < 1000) skippedPoints.push({ id: row.id, reason: row.reason });
          continue;
        }
        group.vectors.push(row.vector);
        group.payloads.push(row.payload);
        group.ids.push(row.id);
      }
      group.read += (page.points ?? []).length;
      group.next = next;
      if (group.ids.length + group.skipped < groupRows && next !== null) continue;
      if (writing) await writing; // groups commit in order: the resume point only moves forward
      writing = commit(group);
      writing.catch(() => {}); // awaited before the next commit, at the end, or on failure below
      group = newGroup();
      if (next === null) break;
    }
    await writing;
  } catch (e) {
    // The transaction in flight settles first: its own failure is the one to report; else the reader's.
    if (writing) await writing;
    throw e;
  }
  if (!opts.dryRun) await store.db.checkpoint();

  const elapsedSeconds = (performance.now() - started) / 1000;
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
    elapsedSeconds,
    pointsPerSecond: state.read / Math.max(elapsedSeconds, 1e-9),
    resumedFrom: typeof resumedFrom === 'bigint' ? String(resumedFrom) : resumedFrom,
    dryRun: !!opts.dryRun,
  };
  if (!opts.dryRun) report.verification = await verify(store, client, opts, total, state.skipped);
  return report;
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

async function loadState(store: Store, collection: string): Promise<ResumeState | undefined> {
  const raw = await getMeta(store.db, stateKey(collection));
  return raw ? loadStateText(raw) : undefined;
}

/** Qdrant's count equals the rows migrated from this collection (plus skipped), and a sample matches exactly. */
async function verify(store: Store, client: QdrantClient, opts: QdrantMigrationOptions, qdrantCount: number, skipped: number) {
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
    const ids = sample.map((s) => {
      if (!/^\d+$/.test(s.id)) return s.id;
      const n = Number(s.id);
      return Number.isSafeInteger(n) || !('rawJSON' in JSON) ? n : BigInt(s.id);
    });
    const points = (await withRetries('reading sample points', opts.url, () =>
      client.retrieve(opts.collection, { ids: ids as (string | number)[], with_payload: false, with_vector: opts.vectorName ? [opts.vectorName] : true }),
    )) as Point[];
    const byId = new Map(points.map((p) => [String(p.id), p]));
    for (const s of sample) {
      const p = byId.get(s.id);
      let v = p?.vector as unknown;
      if (v && !Array.isArray(v) && opts.vectorName) v = (v as Record<string, unknown>)[opts.vectorName];
      if (!Array.isArray(v) || v.length !== s.embedding.length) {
        mismatches.push(`${s.id}: missing in Qdrant`);
        continue;
      }
      const bad = s.embedding.findIndex((x, i) => x !== Math.fround(v[i] as number));
      if (bad >= 0) mismatches.push(`${s.id}: differs at position ${bad}`);
    }
  }
  return { qdrantCount, rows, countsMatch: rows + skipped === qdrantCount, sampled: sample.length, sampleMismatches: mismatches };
}
