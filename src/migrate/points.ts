/**
 * From Qdrant points to Doctor rows, shared by the REST and gRPC sources: vector checks (length, finite,
 * not all zero) straight into one packed Float32Array per page, and payload fields to chunk columns.
 */
import type { ChunkPayload } from '../store/embeddings.js';
import { lengthProblem, squaredNorm } from '../store/validation.js';

/** A Qdrant point id: an unsigned integer or a UUID. gRPC (uint64) and Node >= 22 REST give BigInts above 2^53. */
export type PointId = string | number | bigint;

const KNOWN_FIELDS = new Set(['text', 'page_id', 'url', 'domain', 'tags', 'job_id']);
export const sourceTag = (collection: string) => `qdrant:${collection}`;

/** Longest string id accepted: Qdrant's string ids are UUIDs (36 characters, 45 as a urn:uuid: URN). */
const MAX_ID_CHARS = 128;

/**
 * Why an id cannot be stored exactly, if it cannot. Qdrant's ids are unsigned 64-bit integers or UUIDs; a
 * server or proxy that sends anything else (negative or fractional numbers, objects, empty or huge strings)
 * gets those points skipped with this reason (or the run stopped, with --on-error stop).
 */
export function idProblem(id: unknown): string | undefined {
  const shown = () => (typeof id === 'string' ? JSON.stringify(id.length > 40 ? `${id.slice(0, 40)}…` : id) : (JSON.stringify(id) ?? String(id)).slice(0, 80));
  const notAnId = () => `id ${shown()} is neither an unsigned integer nor a UUID`;
  if (typeof id === 'number') {
    if (Number.isInteger(id) && id > Number.MAX_SAFE_INTEGER) {
      return 'integer id above 2^53: JSON parsing in JavaScript cannot read it exactly, so it would be stored under a wrong id';
    }
    return Number.isSafeInteger(id) && id >= 0 ? undefined : notAnId();
  }
  if (typeof id === 'bigint') return id >= 0n && id < 2n ** 64n ? undefined : notAnId();
  if (typeof id === 'string') {
    if (id === '') return 'no id';
    return id.length <= MAX_ID_CHARS && !/[\u0000-\u001f]/.test(id) ? undefined : notAnId();
  }
  return id === undefined || id === null ? 'no id' : notAnId();
}

/** Deepest nesting of objects and arrays kept in a payload (Qdrant's own payloads are a few levels deep). */
export const MAX_PAYLOAD_DEPTH = 64;

/**
 * Why a payload cannot be stored, if it cannot: nested deeper than MAX_PAYLOAD_DEPTH. A payload of 200,000
 * nested arrays stopped the whole run with "Maximum call stack size exceeded" (copying it to the writing
 * thread, and JSON.stringify, recurse), even with --on-error skip. Walked without recursion.
 */
export function payloadProblem(payload: unknown): string | undefined {
  if (payload === null || typeof payload !== 'object') return undefined;
  // Only objects and arrays are pushed (a payload's strings and numbers cost no allocation): this runs for
  // every migrated point.
  const objects: object[] = [payload];
  const depths: number[] = [1];
  while (objects.length) {
    const v = objects.pop() as Record<string, unknown>;
    const depth = depths.pop()!;
    if (depth > MAX_PAYLOAD_DEPTH) return `payload nested more than ${MAX_PAYLOAD_DEPTH} levels deep`;
    for (const k in v) {
      const child = v[k];
      if (child !== null && typeof child === 'object') {
        objects.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return undefined;
}

/**
 * Copies one vector into `out` at row `row` (dimension `dim`), or says why it cannot be migrated.
 * `raw` is what the source decoded: a number array (REST) or one the gRPC client decoded.
 */
export function packVector(raw: unknown, dim: number, out: Float32Array, row: number): string | undefined {
  if (!raw || typeof (raw as ArrayLike<number>).length !== 'number' || typeof raw === 'string') return 'no dense vector';
  const v = raw as ArrayLike<unknown>;
  if (v.length !== dim) return `vector has ${v.length} dimensions, expected ${dim}`;
  const base = row * dim;
  let norm = 0;
  if (v instanceof Float32Array) {
    // decoded floats (gRPC, the REST reader): one block copy (none when already in place), then the checks on the copy
    if (v.buffer !== out.buffer || v.byteOffset !== out.byteOffset + base * 4) out.set(v, base);
    norm = squaredNorm(out, base, base + dim);
    if (!Number.isFinite(norm)) {
      const i = out.subarray(base, base + dim).findIndex((x) => !Number.isFinite(x));
      return `non-finite value (${String(out[base + i])}) at position ${i}`;
    }
    return normProblem(norm);
  }
  for (let i = 0; i < dim; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) return `non-finite value (${String(x)}) at position ${i}`;
    out[base + i] = x;
    norm += x * x;
  }
  return normProblem(norm);
}

/** Why a vector of this squared length cannot be migrated, or undefined. */
function normProblem(norm: number): string | undefined {
  if (norm === 0) return 'all-zero vector';
  const length = lengthProblem(norm);
  return length && `vector of ${length}`;
}

/** A Qdrant payload as a chunk's columns; fields without a column of their own go to `extra`. */
export function toChunkPayload(p: Record<string, unknown> | null | undefined, collection: string): ChunkPayload {
  const payload = p ?? {};
  const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? null : String(v));
  const tags = Array.isArray(payload.tags)
    ? payload.tags.filter((t): t is string => typeof t === 'string')
    : typeof payload.tags === 'string'
      ? parseTags(payload.tags)
      : [];
  const extra: Record<string, unknown> = { _source: sourceTag(collection) };
  for (const k in payload) if (!KNOWN_FIELDS.has(k)) extra[k] = payload[k];
  return {
    text: str(payload.text) ?? '',
    page_id: str(payload.page_id),
    url: str(payload.url),
    domain: str(payload.domain),
    tags,
    job_id: str(payload.job_id),
    extra,
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
