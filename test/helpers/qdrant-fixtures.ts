/** Points like the Python Doctor's, for the REST and gRPC migration tests (the same fixtures for both). */
import type { QPoint } from './qdrant-server.js';
import { randomVectors } from './vectors.js';

export const DIM = 64;
export const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

/** Even positions get integer ids, odd ones UUIDs; some payloads miss `domain`, some carry an unknown field. */
export function points(n: number, opts: { named?: boolean; seed?: number } = {}): QPoint[] {
  const vs = randomVectors(n, DIM, opts.seed ?? 3);
  return vs.map((v, i) => {
    const vector = Array.from(v);
    const payload: Record<string, unknown> = { text: `chunk ${i} — ünïcödé 文档 🚀`, page_id: `page-${i % 50}`, url: `https://docs.test/${i % 50}`, domain: 'docs.test', tags: ['py', `t${i % 3}`], job_id: 'job-1' };
    if (i % 10 === 0) delete payload.domain; // missing fields
    if (i % 7 === 0) payload.source_lang = 'en'; // unknown fields are kept
    return { id: i % 2 === 0 ? i : uuid(i), vector: opts.named ? { text: vector, image: vector.slice(0, 8) } : vector, payload };
  });
}
