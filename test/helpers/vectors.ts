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

/** A standard normal draw (Box-Muller) from a uniform source. */
function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
}

export interface TopicSpaceOptions {
  topics?: number;
  subtopics?: number;
  /** Directions a chunk varies along within its topic. */
  latent?: number;
  seed?: number;
}

/**
 * Embedding-like vectors: a shared mean direction, topics (sites, sections), subtopics (pages), and a
 * low-dimensional variation within each topic plus a little isotropic noise. Real text embeddings have
 * this shape (a low intrinsic dimension, near-duplicate neighbours: nearest-neighbour cosine ~0.9, random
 * pairs ~0.1), unlike `clusteredVectors`, whose points are centre + noise in all dimensions, so that within
 * a cluster every point is about equally far from every other (top-1 and top-100 cosine differ by ~0.01),
 * the hardest case for any approximate index. Benchmarks report both. `sample` continues one deterministic
 * stream: queries drawn after the stored rows come from the same topics but are not stored.
 */
export function topicSpace(dim: number, opts: TopicSpaceOptions = {}): { sample(n: number): Float32Array[] } {
  const { topics = 200, subtopics = 10, latent = 8, seed = 11 } = opts;
  const r = rng(seed);
  const draw = (scale: number) => Float32Array.from({ length: dim }, () => gaussian(r) * scale);
  const mean = draw(1);
  const centres = Array.from({ length: topics }, () => {
    const c = draw(1);
    for (let i = 0; i < dim; i++) c[i]! += 0.6 * mean[i]!;
    return c;
  });
  const subs = Array.from({ length: topics * subtopics }, () => draw(0.5));
  const bases = Array.from({ length: topics }, () => Array.from({ length: latent }, () => draw(1)));
  return {
    sample(n: number): Float32Array[] {
      return Array.from({ length: n }, () => {
        const t = Math.floor(r() * topics);
        const v = Float32Array.from(centres[t]!);
        const sub = subs[t * subtopics + Math.floor(r() * subtopics)]!;
        for (let i = 0; i < dim; i++) v[i]! += sub[i]! + gaussian(r) * 0.15;
        for (let j = 0; j < latent; j++) {
          const w = (gaussian(r) * 0.45) / Math.sqrt(1 + j / 4);
          const b = bases[t]![j]!;
          for (let i = 0; i < dim; i++) v[i]! += w * b[i]!;
        }
        return normalise(v);
      });
    },
  };
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
