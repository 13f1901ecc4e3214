/**
 * The benchmark's Qdrant: the REST (and gRPC) test servers in their own process, as a real Qdrant would be,
 * holding N points like the Python Doctor's: 1536-d embedding-like vectors printed as Qdrant prints f32,
 * integer and UUID ids mixed, payloads with unicode text. Every page is encoded once before the benchmark
 * starts (a warm-up pass) and then served from a buffer, so the server costs little CPU during the runs.
 * Prints one JSON line {"rest": url, "grpc": url} when ready.
 */
import { startFakeQdrant, type QPoint } from '../test/helpers/qdrant-server.js';
import { startFakeQdrantGrpc } from '../test/helpers/qdrant-grpc-server.js';
import { topicSpace } from '../test/helpers/vectors.js';

const N = Number(process.argv[2] ?? 50000);
const DIM = Number(process.argv[3] ?? 1536);
const BATCH = Number(process.argv[4] ?? 256);
const space = topicSpace(DIM, { seed: 5 });
const points: QPoint[] = [];
const uuid = (i: number) => `${(i * 2654435761 >>> 0).toString(16).padStart(8, '0')}-${(i % 65536).toString(16).padStart(4, '0')}-4000-8000-${String(i).padStart(12, '0')}`;
for (let start = 0; start < N; start += 5000) {
  space.sample(Math.min(5000, N - start)).forEach((v, i) => {
    const id = start + i;
    points.push({
      id: id % 2 === 0 ? id : uuid(id),
      vector: v as unknown as number[],
      payload: {
        text: `## Configuración ${id % 997}\n\nChunk ${id}: documentation about option number ${id % 997} — défaut « auto », 設定の説明, ключ значения. See \`doctor serve --port\` for details.`,
        page_id: `page-${id % 5000}`,
        url: `https://docs.test/guide/${id % 5000}`,
        domain: 'docs.test',
        tags: ['bench', `section-${id % 7}`],
        job_id: 'job-1',
        ...(id % 5 === 0 ? { source_lang: 'es' } : {}),
      },
    });
  });
}
const collections = { doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points } };
const rest = await startFakeQdrant(collections);
const grpc = await startFakeQdrantGrpc(collections);
await rest.warm('doctor_chunks', BATCH);
await grpc.warm('doctor_chunks', BATCH);
process.stdout.write(JSON.stringify({ rest: rest.url, grpc: grpc.url }) + '\n');
process.on('SIGTERM', () => void Promise.all([rest.close(), grpc.close()]).then(() => process.exit(0)));
