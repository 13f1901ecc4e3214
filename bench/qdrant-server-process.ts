/** Runs the Qdrant-compatible test server in its own process (as a real Qdrant would be) for the benchmark. */
import { startFakeQdrant, type QPoint } from '../test/helpers/qdrant-server.js';
import { clusteredVectors } from '../test/helpers/vectors.js';

const N = Number(process.argv[2] ?? 50000);
const DIM = Number(process.argv[3] ?? 1536);
const points: QPoint[] = [];
for (let start = 0; start < N; start += 5000) {
  const vs = clusteredVectors(Math.min(5000, N - start), DIM, 50, 100 + start);
  vs.forEach((v, i) => {
    const id = start + i;
    points.push({ id, vector: Array.from(v, (x) => Math.round(x * 1e7) / 1e7), payload: { text: `Chunk ${id}: some documentation text about configuration option number ${id % 997}.`, page_id: `page-${id % 5000}`, url: `https://docs.test/p/${id % 5000}`, domain: 'docs.test', tags: ['bench'], job_id: 'job-1' } });
  });
}
const q = await startFakeQdrant({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points } });
// warm the server's encoding cache (a real Qdrant serves stored points without re-encoding them)
for (let offset: number | null = 0; offset !== null; ) {
  const r = (await (await fetch(`${q.url}/collections/doctor_chunks/points/scroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ limit: 256, offset, with_payload: true, with_vector: true }) })).json()) as { result: { next_page_offset: number | null } };
  offset = r.result.next_page_offset;
}
process.stdout.write(q.url + '\n');
process.on('SIGTERM', () => void q.close().then(() => process.exit(0)));
