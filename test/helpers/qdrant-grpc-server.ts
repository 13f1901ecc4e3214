/**
 * A Qdrant-compatible gRPC server on 127.0.0.1 (the subset a migration reads), built with connect-node (what
 * the official client itself uses) and the service definitions @qdrant/js-client-grpc ships:
 * qdrant.Collections/Get, qdrant.Points/Scroll, /Count and /Get. It holds the same fixtures as the REST
 * server (qdrant-server.ts): points sorted as Qdrant sorts them (integers, then UUIDs), vectors as packed
 * floats in `vector.dense` (as Qdrant >= 1.13 sends them; `legacyVectors` uses the deprecated `data` field),
 * payloads as Qdrant's `Value`s, gzip accepted and sent when the client asks, as Qdrant's tonic server does.
 * Scroll answers are encoded once and then served from bytes, so that a benchmark measures the client rather
 * than this server: a scroll that asks for no compression, with no failure injected, is answered straight from
 * the page's encoded answer (gRPC framing and all, as a Rust server writes its buffers) instead of through
 * connect-node, whose per-answer copies (~3 MB per page of 256 1536-d points) kept V8's garbage collector busy
 * on both cores: 50-230 µs of CPU per point served, against ~10 µs this way. Failures can be injected.
 */
import { createServer, type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import { compressionGzip, connectNodeAdapter } from '@connectrpc/connect-node';
import {
  CollectionStatus,
  Distance,
  RetrievedPointSchema,
  ScrollPointsSchema,
  ScrollResponseSchema,
  type PointId,
  type RetrievedPoint,
  type ScrollPoints,
  type ScrollResponse,
  type Value,
} from '@qdrant/js-client-grpc';
import { scrollStart, sortPoints, type QCollection, type QPoint, type QPointId } from './qdrant-server.js';

// The service descriptors are not exported from the package's entry point: load them from its files.
const esm = join(dirname(createRequire(import.meta.url).resolve('@qdrant/js-client-grpc')), '..', 'esm', 'proto');
const { Points } = (await import(pathToFileURL(join(esm, 'points_service_pb.js')).href)) as typeof import('../../node_modules/@qdrant/js-client-grpc/dist/types/proto/points_service_pb.js');
const { Collections } = (await import(pathToFileURL(join(esm, 'collections_service_pb.js')).href)) as typeof import('../../node_modules/@qdrant/js-client-grpc/dist/types/proto/collections_service_pb.js');

export interface FakeQdrantGrpc {
  url: string;
  collections: Map<string, QCollection>;
  /** Calls received, e.g. "Points/Scroll". */
  requests: string[];
  /** gRPC codes to answer scroll calls with before succeeding (e.g. [Code.Unavailable]). */
  failScroll: Code[];
  /** After this many successful scroll answers, the server dies (sessions dropped, port closed). */
  dieAfterScrolls?: number;
  /** Delay before answering each scroll (ms). */
  scrollDelayMs?: number;
  /** Send vectors in the deprecated `VectorOutput.data` field, as Qdrant before 1.13 did. */
  legacyVectors?: boolean;
  warm(collection: string, limit: number): Promise<void>;
  close(): Promise<void>;
}

const distances: Record<string, Distance> = { Cosine: Distance.Cosine, Euclid: Distance.Euclid, Dot: Distance.Dot, Manhattan: Distance.Manhattan };

function toPointId(id: QPointId): PointId {
  return create(RetrievedPointSchema, { id: typeof id === 'number' ? { pointIdOptions: { case: 'num', value: BigInt(id) } } : { pointIdOptions: { case: 'uuid', value: id } } }).id!;
}

function fromPointId(id: PointId | undefined): QPointId | undefined {
  const o = id?.pointIdOptions;
  if (!o || o.case === undefined) return undefined;
  return o.case === 'num' ? Number(o.value) : o.value;
}

function toValue(v: unknown): Value {
  const kind = (): Value['kind'] => {
    if (v === null || v === undefined) return { case: 'nullValue', value: 0 };
    if (typeof v === 'number') return Number.isInteger(v) ? { case: 'integerValue', value: BigInt(v) } : { case: 'doubleValue', value: v };
    if (typeof v === 'string') return { case: 'stringValue', value: v };
    if (typeof v === 'boolean') return { case: 'boolValue', value: v };
    if (Array.isArray(v)) return { case: 'listValue', value: { values: v.map(toValue) } as never };
    return { case: 'structValue', value: { fields: Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, toValue(x)])) } as never };
  };
  return { kind: kind() } as Value;
}

type VectorSelector = { all: boolean; names?: string[] } | false;

function denseOutput(data: ArrayLike<number>, legacy: boolean) {
  const arr = Array.from(data);
  return legacy ? { data: arr } : { vector: { case: 'dense' as const, value: { data: arr } } };
}

function toRetrieved(p: QPoint, withPayload: boolean, vectors: VectorSelector, legacy: boolean): RetrievedPoint {
  let out: unknown;
  if (vectors) {
    if (Array.isArray(p.vector) || ArrayBuffer.isView(p.vector)) {
      out = { vectorsOptions: { case: 'vector', value: denseOutput(p.vector as ArrayLike<number>, legacy) } };
    } else {
      const names = vectors.names ?? Object.keys(p.vector);
      out = { vectorsOptions: { case: 'vectors', value: { vectors: Object.fromEntries(names.filter((n) => n in p.vector).map((n) => [n, denseOutput((p.vector as Record<string, number[]>)[n]!, legacy)])) } } };
    }
  }
  return create(RetrievedPointSchema, {
    id: toPointId(p.id),
    payload: withPayload ? Object.fromEntries(Object.entries(p.payload).map(([k, v]) => [k, toValue(v)])) : {},
    vectors: out as never,
  });
}

function selector(sel: { selectorOptions: { case?: string; value?: unknown } } | undefined, dflt: boolean): VectorSelector {
  const o = sel?.selectorOptions;
  if (!o || o.case === undefined) return dflt ? { all: true } : false;
  if (o.case === 'enable') return o.value ? { all: true } : false;
  if (o.case === 'include') return { all: false, names: (o.value as { names?: string[]; fields?: string[] }).names ?? (o.value as { fields: string[] }).fields };
  return { all: true };
}

export async function startFakeQdrantGrpc(collections: Record<string, QCollection> = {}): Promise<FakeQdrantGrpc> {
  const sessions = new Set<ServerHttp2Session>();
  const fake: FakeQdrantGrpc = {
    url: '',
    collections: new Map(Object.entries(collections).map(([k, v]) => [k, { ...v, points: sortPoints(v.points) }])),
    requests: [],
    failScroll: [],
    warm: async () => {},
    close: async () => {},
  };
  let scrolls = 0;
  const need = (name: string): QCollection => {
    const col = fake.collections.get(name);
    if (!col) throw new ConnectError(`Not found: Collection \`${name}\` doesn't exist!`, Code.NotFound);
    return col;
  };
  type Page = { name: string; col: QCollection; from: number; limit: number; withPayload: boolean; vectors: VectorSelector };
  const pageKey = (p: Page) => JSON.stringify([p.name, p.from, p.limit, p.withPayload, p.vectors, !!fake.legacyVectors]);
  /** Each point's RetrievedPoint message (length-prefixed: an unknown-field entry of the answer). */
  const encodePoints = (p: Page): Uint8Array[] =>
    p.col.points.slice(p.from, p.from + p.limit).map((pt) => new BinaryWriter().bytes(toBinary(RetrievedPointSchema, toRetrieved(pt, p.withPayload, p.vectors, !!fake.legacyVectors))).finish());
  const answer = (p: Page, points: Uint8Array[]): ScrollResponse => {
    const next = p.col.points[p.from + p.limit];
    const res = create(ScrollResponseSchema, { nextPageOffset: next ? toPointId(next.id) : undefined, time: 0.002 });
    res.$unknown = points.map((data) => ({ no: 2, wireType: WireType.LengthDelimited, data }));
    return res;
  };
  // Answers encoded once: per point for connect-node's path, whole and framed for the direct one.
  const pointsCache = new Map<string, Uint8Array[]>();
  const framedCache = new Map<string, Buffer>();
  const viaConnect = (p: Page): ScrollResponse => {
    const key = pageKey(p);
    let points = pointsCache.get(key);
    if (!points) pointsCache.set(key, (points = encodePoints(p)));
    return answer(p, points);
  };
  /** The answer as it goes on the wire: one uncompressed gRPC message (flag byte, big-endian length, bytes). */
  const framed = (p: Page): Buffer => {
    const key = pageKey(p);
    let bytes = framedCache.get(key);
    if (!bytes) {
      const msg = toBinary(ScrollResponseSchema, answer(p, encodePoints(p)));
      bytes = Buffer.alloc(5 + msg.length);
      bytes.writeUInt32BE(msg.length, 1);
      bytes.set(msg, 5);
      framedCache.set(key, bytes);
    }
    return bytes;
  };
  fake.warm = async (name, limit) => {
    const col = need(name);
    for (let from = 0; from < col.points.length; from += limit) framed({ name, col, from, limit, withPayload: true, vectors: { all: true } });
  };
  const scrollPage = (req: ScrollPoints): Page => {
    fake.requests.push('Points/Scroll');
    const col = need(req.collectionName);
    return {
      name: req.collectionName,
      col,
      from: scrollStart(col.points, fromPointId(req.offset)),
      limit: req.limit ?? 10,
      withPayload: selector(req.withPayload, false) !== false,
      vectors: selector(req.withVectors, false),
    };
  };
  /** A scroll answered from its framed bytes, without connect-node (what the benchmark's client asks for). */
  const direct = (req: Http2ServerRequest, res: Http2ServerResponse) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      res.writeHead(200, { 'content-type': 'application/grpc' });
      try {
        if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) throw new ConnectError('expected one uncompressed message', Code.InvalidArgument);
        const bytes = framed(scrollPage(fromBinary(ScrollPointsSchema, body.subarray(5))));
        scrolls++;
        res.addTrailers({ 'grpc-status': '0' });
        res.end(bytes);
      } catch (e) {
        const err = ConnectError.from(e);
        res.addTrailers({ 'grpc-status': String(err.code), 'grpc-message': encodeURIComponent(err.rawMessage) });
        res.end();
      }
    });
  };
  // Injected failures, delays and compression go through connect-node.
  const directOk = (req: Http2ServerRequest) =>
    req.url === '/qdrant.Points/Scroll' &&
    /^application\/grpc(\+proto)?$/.test(req.headers['content-type'] ?? '') &&
    !req.headers['grpc-encoding'] &&
    !req.headers['grpc-accept-encoding'] &&
    !fake.failScroll.length &&
    fake.dieAfterScrolls === undefined &&
    !fake.scrollDelayMs;

  const routes = (router: ConnectRouter) => {
    router.service(Collections, {
      get(req) {
        fake.requests.push('Collections/Get');
        const col = need(req.collectionName);
        const params = (v: { size: number; distance: string }) => ({ size: BigInt(v.size), distance: distances[v.distance] ?? Distance.UnknownDistance });
        const vectorsConfig =
          'size' in col.vectors && typeof col.vectors.size === 'number'
            ? { config: { case: 'params' as const, value: params(col.vectors as { size: number; distance: string }) } }
            : { config: { case: 'paramsMap' as const, value: { map: Object.fromEntries(Object.entries(col.vectors as Record<string, { size: number; distance: string }>).map(([k, v]) => [k, params(v)])) } } };
        return { result: { status: CollectionStatus.Green, segmentsCount: 1n, pointsCount: BigInt(col.points.length), config: { params: { shardNumber: 1, vectorsConfig } }, payloadSchema: {} }, time: 0.0001 };
      },
    });
    router.service(Points, {
      count(req) {
        fake.requests.push('Points/Count');
        return { result: { count: BigInt(need(req.collectionName).points.length) }, time: 0.0001 };
      },
      async scroll(req) {
        if (fake.scrollDelayMs) await new Promise((r) => setTimeout(r, fake.scrollDelayMs));
        const code = fake.failScroll.shift();
        if (code !== undefined) {
          fake.requests.push('Points/Scroll');
          throw new ConnectError('Service Unavailable: injected', code);
        }
        if (fake.dieAfterScrolls !== undefined && scrolls >= fake.dieAfterScrolls) {
          fake.requests.push('Points/Scroll');
          for (const s of sessions) s.destroy();
          server.close();
          throw new ConnectError('server stopped', Code.Unavailable);
        }
        const res = viaConnect(scrollPage(req));
        scrolls++;
        return res;
      },
      get(req) {
        fake.requests.push('Points/Get');
        const col = need(req.collectionName);
        const ids = new Set(req.ids.map((i) => String(fromPointId(i))));
        const withPayload = selector(req.withPayload, false) !== false;
        return { result: col.points.filter((p) => ids.has(String(p.id))).map((p) => toRetrieved(p, withPayload, selector(req.withVectors, false), !!fake.legacyVectors)), time: 0.0001 };
      },
    });
  };

  const connect = connectNodeAdapter({ routes, acceptCompression: [compressionGzip] });
  const server: Http2Server = createServer((req, res) => (directOk(req) ? direct(req, res) : connect(req, res)));
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  fake.close = () =>
    new Promise((r) => {
      for (const s of sessions) s.destroy();
      server.close(() => r());
    });
  return fake;
}
