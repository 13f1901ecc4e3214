/**
 * A Qdrant-compatible REST server on 127.0.0.1 (the subset a migration reads), following Qdrant's
 * published API: GET /collections/{name}, POST /collections/{name}/points/scroll (offset = a point id,
 * `next_page_offset` in the answer), POST .../points/count, POST .../points (retrieve by ids), all in the
 * `{result, status, time}` envelope. Failures can be injected; every request is recorded.
 * Points are printed as Qdrant prints them (qdrant-json.ts: vector components as f32 shortest round-trip
 * decimals). Each scroll page is encoded once and then served from a buffer, as cheaply as possible, so
 * that a benchmark measures the client rather than this server.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { qdrantRecordJson } from './qdrant-json.js';

export type QPointId = number | string;
export interface QPoint {
  id: QPointId;
  vector: number[] | Record<string, number[]>;
  payload: Record<string, unknown>;
}
export interface QCollection {
  vectors: { size: number; distance: string } | Record<string, { size: number; distance: string }>;
  points: QPoint[];
}

export interface FakeQdrant {
  url: string;
  collections: Map<string, QCollection>;
  requests: { method: string; path: string }[];
  /** Statuses to answer scroll requests with before succeeding (e.g. [503, 503]). */
  failScroll: number[];
  /** Statuses to answer the other requests (collection info, count, retrieve) with before succeeding. */
  failOther: number[];
  /** After this many successful scroll answers, the server dies (connections dropped, port closed). */
  dieAfterScrolls?: number;
  /** Delay before answering each scroll (ms), to stop a client mid-run. */
  scrollDelayMs?: number;
  /** Answer scroll with a malformed body once. */
  malformedScroll?: boolean;
  /** A broken proxy: the scroll's offset is dropped, so every scroll answers the first page. */
  ignoreOffset?: boolean;
  /** Encodes every page of a scroll through `collection` with this page size now (for benchmarks). */
  warm(collection: string, limit: number): Promise<void>;
  close(): Promise<void>;
}

const order = (id: QPointId) => (typeof id === 'number' ? [0, id] : [1, id]) as [number, number | string];
function compare(a: QPointId, b: QPointId): number {
  const [ka, va] = order(a);
  const [kb, vb] = order(b);
  if (ka !== kb) return ka - kb;
  return va < vb ? -1 : va > vb ? 1 : 0;
}

/**
 * Index of the first point at or after `offset` in `points` sorted as Qdrant orders them (integers, then
 * UUIDs; see sortPoints). A binary search, as Qdrant finds an offset through its id index: scanning from the
 * start made each page of a 50,000-point benchmark cost the server more CPU than the one before (up to half
 * a core of the two the migration runs on, near the end).
 */
export function scrollStart(points: readonly QPoint[], offset: QPointId | null | undefined): number {
  if (offset === undefined || offset === null) return 0;
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(points[mid]!.id, offset) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function sortPoints(points: readonly QPoint[]): QPoint[] {
  return [...points].sort((a, b) => compare(a.id, b.id));
}

function pickVector(p: QPoint, withVector: unknown): QPoint['vector'] | undefined {
  if (!withVector) return undefined;
  if (withVector === true) return p.vector;
  if (Array.isArray(withVector) && !Array.isArray(p.vector) && !ArrayBuffer.isView(p.vector)) {
    // names the point does not have are left out
    const named = p.vector as Record<string, number[]>;
    return Object.fromEntries(withVector.filter((n: string) => n in named).map((n: string) => [n, named[n]]));
  }
  return p.vector;
}

export async function startFakeQdrant(collections: Record<string, QCollection> = {}): Promise<FakeQdrant> {
  const sockets = new Set<Socket>();
  const fake: FakeQdrant = {
    url: '',
    collections: new Map(Object.entries(collections).map(([k, v]) => [k, { ...v, points: sortPoints(v.points) }])),
    requests: [],
    failScroll: [],
    failOther: [],
    warm: async () => {},
    close: async () => {},
  };
  let scrolls = 0;
  const pages = new Map<string, Buffer>();
  /** The answer to a scroll from position `from`: encoded once, then served from the buffer. */
  const scrollPage = (name: string, col: QCollection, from: number, limit: number, withPayload: unknown, withVector: unknown): Buffer => {
    const key = JSON.stringify([name, from, limit, withPayload, withVector]);
    let page = pages.get(key);
    if (!page) {
      const slice = col.points.slice(from, from + limit);
      const next = col.points[from + limit]?.id ?? null;
      const encoded = slice.map((p) => qdrantRecordJson({ id: p.id, payload: withPayload === false ? null : p.payload, vector: pickVector(p, withVector) ?? null }));
      page = Buffer.from(`{"result":{"points":[${encoded.join(',')}],"next_page_offset":${JSON.stringify(next)}},"status":"ok","time":0.002}`);
      pages.set(key, page);
    }
    return page;
  };
  fake.warm = async (name, limit) => {
    const col = fake.collections.get(name)!;
    for (let from = 0; from < col.points.length; from += limit) scrollPage(name, col, from, limit, true, true);
  };
  const server: Server = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    const started = performance.now();
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    fake.requests.push({ method: req.method ?? '', path });
    const send = (status: number, result: unknown) => {
      const payload = status < 400 ? { result, status: 'ok', time: (performance.now() - started) / 1000 } : { status: { error: String(result) }, time: 0 };
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    const m = /^\/collections\/([^/]+)(\/points(?:\/(scroll|count))?)?$/.exec(path);
    const name = m ? decodeURIComponent(m[1]!) : '';
    const col = fake.collections.get(name);
    if (!m) return send(404, `Not found: ${path}`);
    if (!col) return send(404, `Not found: Collection \`${name}\` doesn't exist!`);
    const args = body ? (JSON.parse(body) as Record<string, any>) : {};
    if (m[3] !== 'scroll' && fake.failOther.length) return send(fake.failOther.shift()!, 'Service Unavailable');
    if (req.method === 'GET' && !m[2]) {
      return send(200, { status: 'green', optimizer_status: 'ok', points_count: col.points.length, segments_count: 1, config: { params: { vectors: col.vectors, shard_number: 1 } }, payload_schema: {} });
    }
    if (req.method === 'POST' && m[3] === 'count') return send(200, { count: col.points.length });
    if (req.method === 'POST' && m[3] === 'scroll') {
      if (fake.scrollDelayMs) await new Promise((r) => setTimeout(r, fake.scrollDelayMs));
      const status = fake.failScroll.shift();
      if (status) return send(status, 'Service Unavailable');
      if (fake.malformedScroll) {
        fake.malformedScroll = false;
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"result": {"points": [ {"id": 1, "vec');
      }
      if (fake.dieAfterScrolls !== undefined && scrolls >= fake.dieAfterScrolls) {
        for (const s of sockets) s.destroy();
        server.close();
        return;
      }
      scrolls++;
      const limit = Number(args.limit ?? 10);
      const from = fake.ignoreOffset ? 0 : scrollStart(col.points, args.offset);
      const page = scrollPage(name, col, from, limit, args.with_payload, args.with_vector);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': page.length });
      return res.end(page);
    }
    if (req.method === 'POST' && m[2] === '/points' && !m[3]) {
      const ids = new Set((args.ids as QPointId[]).map(String));
      const found = col.points.filter((p) => ids.has(String(p.id)));
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(`{"result":[${found.map((p) => qdrantRecordJson({ id: p.id, payload: args.with_payload ? p.payload : null, vector: pickVector(p, args.with_vector) ?? null })).join(',')}],"status":"ok","time":0.001}`);
    }
    return send(405, `method ${req.method} not allowed on ${path}`);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  fake.close = () =>
    new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return fake;
}
