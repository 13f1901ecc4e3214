/**
 * Qdrant's gRPC API (port 6334) through the official client, @qdrant/js-client-grpc (connect-es). Vectors
 * travel as packed floats and integer ids as uint64 (exact BigInts above 2^53). Compression is off:
 * float vectors barely compress, and gzip would cost CPU on both ends.
 */
import { ConnectErrorCode as Code, ConnectError, Distance, QdrantClient, toDenseVector, type PointId as GrpcPointId, type RetrievedPoint, type Value, type VectorOutput } from '@qdrant/js-client-grpc';
import { createRawScroll, decodePointId, decodeRetrievedPoint, type RawScrollAnswer } from './grpc-scroll.js';
import type { PointId } from './points.js';
import type { CollectionInfo, ErrorClass, QdrantSource, RawPage, RawPoint, SourceConfig, VectorParams } from './source.js';

type Apis = { collections: any; points: any };

export class GrpcSource implements QdrantSource {
  private readonly apis: Apis;
  private readonly rawScroll: (req: Record<string, unknown>) => Promise<RawScrollAnswer>;

  constructor(readonly config: SourceConfig) {
    const timeout = config.timeoutMs ?? 60_000;
    const client = new QdrantClient({ url: config.url, apiKey: config.apiKey, checkCompatibility: false, timeout, compression: false });
    this.apis = { collections: client.api('collections'), points: client.api('points') };
    this.rawScroll = createRawScroll(config.url, config.apiKey, timeout);
  }

  async collectionInfo(collection: string): Promise<CollectionInfo> {
    const res = await this.apis.collections.get({ collectionName: collection });
    const info = res.result;
    const cfg = info?.config?.params?.vectorsConfig?.config;
    const params = (p: { size: bigint; distance: Distance }): VectorParams => ({ size: Number(p.size), distance: Distance[p.distance] ?? String(p.distance) });
    let vectors: CollectionInfo['vectors'];
    if (cfg?.case === 'params') vectors = params(cfg.value);
    else if (cfg?.case === 'paramsMap') vectors = Object.fromEntries(Object.entries(cfg.value.map as Record<string, { size: bigint; distance: Distance }>).map(([k, v]) => [k, params(v)]));
    return { vectors, pointsCount: Number(info?.pointsCount ?? 0n) };
  }

  async count(collection: string): Promise<number> {
    const res = await this.apis.points.count({ collectionName: collection, exact: true });
    return Number(res.result?.count ?? 0n);
  }

  async scroll(collection: string, args: { offset: PointId | null; limit: number; vectorName?: string; dimension?: number }) {
    const res = await this.rawScroll({
      collectionName: collection,
      offset: args.offset === null ? undefined : toGrpcId(args.offset),
      limit: args.limit,
      withPayload: { selectorOptions: { case: 'enable', value: true } },
      withVectors: withVectors(args.vectorName),
    });
    const offset = decodePointId(res.nextPageOffset);
    const next = offset ? fromGrpcId(offset) : null;
    // points decoded on demand: the reader asks for the next page first
    const points = (): RawPage => {
      // Vectors of the expected dimension are copied straight into one array for the page, row i for point i
      // (as the REST reader parses them): the page's checks then read them in place, with no array per point.
      const dim = args.dimension;
      const slab = dim ? new Float32Array(res.result.length * dim) : undefined;
      return {
        next,
        points: res.result.map((bytes, i) => {
          const into = slab && ((n: number) => (n === dim ? slab.subarray(i * dim, (i + 1) * dim) : undefined));
          const { point, vector } = decodeRetrievedPoint(bytes, args.vectorName, into);
          return { id: point.id ? fromGrpcId(point.id) : '', vector, payload: fromPayload(point.payload) };
        }),
      };
    };
    return { next, points };
  }

  async retrieve(collection: string, ids: PointId[], vectorName?: string): Promise<RawPoint[]> {
    const res = await this.apis.points.get({
      collectionName: collection,
      ids: ids.map(toGrpcId),
      withPayload: { selectorOptions: { case: 'enable', value: false } },
      withVectors: withVectors(vectorName),
    });
    return (res.result as RetrievedPoint[]).map((p) => toRawPoint(p, vectorName));
  }

  classify(e: unknown): ErrorClass {
    const err = ConnectError.from(e);
    const status = Code[err.code] ?? String(err.code);
    switch (err.code) {
      case Code.NotFound:
        return { transient: false, kind: 'not-found', status };
      case Code.Unauthenticated:
      case Code.PermissionDenied:
        return { transient: false, kind: 'auth', status };
      case Code.Unavailable:
        return { transient: true, kind: /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENOTFOUND|socket|connect/i.test(err.message) ? 'unreachable' : 'other', status };
      case Code.Canceled: // a stream the server closed, or our own timeout
        return { transient: true, kind: 'other', status };
      case Code.DeadlineExceeded:
      case Code.ResourceExhausted:
      case Code.Aborted:
      case Code.Internal:
      case Code.Unknown:
        return { transient: true, kind: 'other', status };
      default:
        return { transient: false, kind: 'other', status };
    }
  }

  close(): void {}
}

const withVectors = (vectorName: string | undefined) =>
  vectorName ? { selectorOptions: { case: 'include', value: { names: [vectorName] } } } : { selectorOptions: { case: 'enable', value: true } };

function toGrpcId(id: PointId): { pointIdOptions: { case: 'num'; value: bigint } | { case: 'uuid'; value: string } } {
  if (typeof id === 'string' && !/^\d+$/.test(id)) return { pointIdOptions: { case: 'uuid', value: id } };
  return { pointIdOptions: { case: 'num', value: BigInt(id) } };
}

/** A point id as REST would give it: a number where exact, a BigInt above 2^53, or the UUID string. */
function fromGrpcId(id: GrpcPointId): PointId {
  const o = id.pointIdOptions;
  if (o.case === 'uuid') return o.value;
  if (o.case === 'num') return o.value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(o.value) : o.value;
  return '';
}

function toRawPoint(p: RetrievedPoint, vectorName: string | undefined): RawPoint {
  const opts = p.vectors?.vectorsOptions;
  let out: VectorOutput | undefined;
  if (opts?.case === 'vector') out = opts.value;
  else if (opts?.case === 'vectors' && vectorName) out = opts.value.vectors[vectorName];
  return { id: p.id ? fromGrpcId(p.id) : '', vector: out ? toDenseVector(out)?.data : undefined, payload: fromPayload(p.payload) };
}

function fromPayload(payload: Record<string, Value> | undefined): Record<string, unknown> | null {
  if (!payload) return null;
  const out: Record<string, unknown> = {};
  for (const k in payload) out[k] = fromValue(payload[k]!);
  return out;
}

function fromValue(v: Value): unknown {
  const k = v.kind;
  switch (k.case) {
    case 'integerValue':
      return Number(k.value); // as JSON.parse reads it over REST
    case 'structValue':
      return fromPayload(k.value.fields);
    case 'listValue':
      return k.value.values.map(fromValue);
    case 'nullValue':
    case undefined:
      return null;
    default:
      return k.value;
  }
}
