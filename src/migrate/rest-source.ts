/** Qdrant's REST API (port 6333) through the official client, @qdrant/js-client-rest. */
import { QdrantClient } from '@qdrant/js-client-rest';
import type { PointId } from './points.js';
import { pickVector, type CollectionInfo, type ErrorClass, type QdrantSource, type RawPoint, type SourceConfig, type VectorParams } from './source.js';

interface RestPoint {
  id: PointId;
  vector?: number[] | Record<string, number[]> | null;
  payload?: Record<string, unknown> | null;
}

const isArray = (v: unknown): v is number[] => Array.isArray(v);

export class RestSource implements QdrantSource {
  private readonly client: QdrantClient;

  constructor(readonly config: SourceConfig) {
    this.client = new QdrantClient({ url: config.url, apiKey: config.apiKey, checkCompatibility: false, timeout: config.timeoutMs ?? 60_000 });
  }

  async collectionInfo(collection: string): Promise<CollectionInfo> {
    const info = await this.client.getCollection(collection);
    const vectors = info.config?.params?.vectors as unknown;
    let out: CollectionInfo['vectors'];
    if (vectors && typeof vectors === 'object' && 'size' in vectors) out = vectors as VectorParams;
    else if (vectors && typeof vectors === 'object') out = vectors as Record<string, VectorParams>;
    return { vectors: out, pointsCount: Number(info.points_count ?? 0) };
  }

  async count(collection: string): Promise<number> {
    return (await this.client.count(collection, { exact: true })).count;
  }

  async scroll(collection: string, args: { offset: PointId | null; limit: number; vectorName?: string }) {
    const page = await this.client.scroll(collection, {
      limit: args.limit,
      // (a BigInt offset is sent exactly where the client serialises BigInts with JSON.rawJSON, Node >= 22)
      offset: (args.offset ?? undefined) as string | number | undefined,
      with_payload: true,
      with_vector: args.vectorName ? [args.vectorName] : true,
    });
    return { points: (page.points as RestPoint[]).map((p) => this.point(p, args.vectorName)), next: (page.next_page_offset ?? null) as PointId | null };
  }

  async retrieve(collection: string, ids: PointId[], vectorName?: string): Promise<RawPoint[]> {
    const points = await this.client.retrieve(collection, { ids: ids as (string | number)[], with_payload: false, with_vector: vectorName ? [vectorName] : true });
    return (points as RestPoint[]).map((p) => this.point(p, vectorName));
  }

  private point(p: RestPoint, vectorName: string | undefined): RawPoint {
    return { id: p.id, vector: pickVector(p.vector, vectorName, isArray), payload: p.payload ?? null };
  }

  classify(e: unknown): ErrorClass {
    const status = (e as { status?: number })?.status;
    if (status === undefined) return { transient: true, kind: 'unreachable', status: 'no answer' };
    const transient = status === 429 || status >= 500;
    const kind = status === 404 ? 'not-found' : status === 401 || status === 403 ? 'auth' : 'other';
    return { transient, kind, status: String(status) };
  }

  close(): void {}
}
