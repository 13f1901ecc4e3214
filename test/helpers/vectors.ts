/** Deterministic random vectors for tests and benchmarks. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

export function randomVectors(n: number, dim: number, seed = 1): Float32Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const v = new Float32Array(dim);
    for (let i = 0; i < dim; i++) v[i] = r() * 2 - 1;
    return v;
  });
}

/** Clustered, L2-normalised vectors (more like real embeddings than uniform noise). */
export function clusteredVectors(n: number, dim: number, clusters = 50, seed = 7): Float32Array[] {
  const r = rng(seed);
  const centers = randomVectors(clusters, dim, seed + 1);
  return Array.from({ length: n }, () => {
    const c = centers[Math.floor(r() * clusters)]!;
    const v = new Float32Array(dim);
    for (let i = 0; i < dim; i++) v[i] = c[i]! + (r() * 2 - 1) * 0.6;
    return normalise(v);
  });
}

export function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

/** Brute-force top-k by cosine similarity: the reference ranking. */
export function bruteForce(vectors: Float32Array[], ids: string[], q: Float32Array, k: number): { id: string; score: number }[] {
  return vectors
    .map((v, i) => ({ id: ids[i]!, score: cosine(v, q) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}
