/** Input validation for vectors and search requests, with messages that say what to fix. */

export class ValidationError extends Error {
  override name = 'ValidationError';
}

export const MAX_SEARCH_LIMIT = 1000;
/** Longest page id the API takes (get_doc_page, delete_docs, recrawl_site); a crawl's ids are UUIDs. */
export const MAX_PAGE_ID_CHARS = 200;

/** Checks one vector: non-empty, the store's dimension, finite numbers, not all zeros. */
export function checkVector(vector: ArrayLike<number> | undefined | null, dimension: number, what = 'vector'): Float32Array {
  if (!vector || typeof vector.length !== 'number') throw new ValidationError(`${what} is missing: pass an array of ${dimension} numbers.`);
  if (vector.length === 0) throw new ValidationError(`${what} is empty: pass an array of ${dimension} numbers.`);
  if (vector.length !== dimension) {
    throw new ValidationError(
      `${what} has ${vector.length} dimensions but this database stores ${dimension}-dimensional embeddings ` +
        '(the embedding model must match the one the database was built with).',
    );
  }
  const out = vector instanceof Float32Array ? vector : Float32Array.from(vector);
  const norm = squaredNorm(out);
  if (!Number.isFinite(norm)) {
    // a NaN or an infinity (also a number beyond float32's range, or a non-number) somewhere: which one
    const i = out.findIndex((x) => !Number.isFinite(x));
    throw new ValidationError(`${what} has a non-finite value (${vector[i]}) at position ${i}: embeddings must be finite numbers.`);
  }
  if (norm === 0) throw new ValidationError(`${what} is all zeros: cosine similarity is undefined for it.`);
  const length = lengthProblem(norm);
  if (length) throw new ValidationError(`${what} has ${length}: scale the embeddings (unit length is usual).`);
  return out;
}

/** Shortest and longest vector (Euclidean length) stored; embedding models give unit or near-unit vectors. */
export const MIN_VECTOR_LENGTH = 1e-4;
export const MAX_VECTOR_LENGTH = 1e4;

/**
 * Why a vector of this squared length (not 0) cannot be compared, or undefined. Cosine similarity runs in
 * 32-bit floats (and the index in 16 bits): elements of 1e-45 made every score -1 and elements of 3e38 every
 * score 0, for an imported export that held them.
 */
export function lengthProblem(squaredLength: number): string | undefined {
  const length = Math.sqrt(squaredLength);
  if (length >= MIN_VECTOR_LENGTH && length <= MAX_VECTOR_LENGTH) return undefined;
  return `length ${length.toPrecision(3)}, outside the ${MIN_VECTOR_LENGTH} to ${MAX_VECTOR_LENGTH} cosine similarity can compare`;
}

/**
 * The sum of squares of v[start..end), in doubles: finite exactly when every element is (a float32 squared
 * cannot overflow a double, nor can 2^24 of them summed), so one pass checks both. Four running sums, since
 * one waits on each addition (3x faster on 1536-d vectors).
 */
export function squaredNorm(v: Float32Array, start = 0, end = v.length): number {
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  let i = start;
  for (; i + 3 < end; i += 4) {
    const w = v[i]!;
    const x = v[i + 1]!;
    const y = v[i + 2]!;
    const z = v[i + 3]!;
    a += w * w;
    b += x * x;
    c += y * y;
    d += z * z;
  }
  for (; i < end; i++) a += v[i]! * v[i]!;
  return a + b + c + d;
}

export function checkLimit(limit: unknown, max = MAX_SEARCH_LIMIT): number {
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new ValidationError(`limit must be an integer from 1 to ${max} (got ${String(limit)}).`);
  }
  return limit;
}

export function checkSameLength(counts: Record<string, number | undefined>): void {
  const entries = Object.entries(counts).filter(([, n]) => n !== undefined) as [string, number][];
  const first = entries[0];
  if (!first) return;
  const bad = entries.find(([, n]) => n !== first[1]);
  if (bad) {
    throw new ValidationError(
      `mismatched lengths: ${entries.map(([k, n]) => `${n} ${k}`).join(', ')}; pass one of each per item.`,
    );
  }
}
