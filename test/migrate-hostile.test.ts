/**
 * `doctor migrate qdrant` against a hostile server at the Qdrant address: a Qdrant-compatible REST server on
 * 127.0.0.1 whose answers are replaced one route at a time. Each run must end with a clear error (or skip
 * the point, with --on-error skip), never hang or exhaust memory, and lose nothing already stored.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { migrateQdrant, MigrationError, type QdrantMigrationOptions } from '../src/migrate/qdrant.js';
import { openStore, type Store } from '../src/store/store.js';
import { startFakeQdrant, type FakeQdrant } from './helpers/qdrant-server.js';
import { DIM, points } from './helpers/qdrant-fixtures.js';
import { tempDir } from './helpers/tmp.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>) => void;
interface Routes {
  info?: Handler;
  count?: Handler;
  scroll?: Handler;
  retrieve?: Handler;
}

const send = (res: ServerResponse, result: unknown) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ result, status: 'ok', time: 0 }));
};
const vector = (i: number) => Array.from({ length: DIM }, (_, k) => ((i * 7 + k) % 5) + 1);

/** A server answering like Qdrant (a collection "hostile" of 10 points), except for the routes given. */
async function hostileQdrant(routes: Routes): Promise<{ url: string; scrolls: number; close(): Promise<void> }> {
  const state = { url: '', scrolls: 0, close: async () => {} };
  const server = createServer(async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET') {
      return (routes.info ?? ((_q, r) => send(r, { points_count: 10, config: { params: { vectors: { size: DIM, distance: 'Cosine' } } } })))(req, res, body);
    }
    if (path.endsWith('/count')) return (routes.count ?? ((_q, r) => send(r, { count: 10 })))(req, res, body);
    if (path.endsWith('/scroll')) {
      state.scrolls++;
      if (routes.scroll) return routes.scroll(req, res, body);
      const from = typeof body.offset === 'number' ? body.offset : 0;
      const ids = Array.from({ length: Math.min(5, 10 - from) }, (_, k) => from + k);
      return send(res, { points: ids.map((id) => ({ id, vector: vector(id), payload: { text: `point ${id}` } })), next_page_offset: from + 5 < 10 ? from + 5 : null });
    }
    if (routes.retrieve) return routes.retrieve(req, res, body);
    return send(res, ((body.ids as number[]) ?? []).map((id) => ({ id, vector: vector(id) })));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  state.close = () =>
    new Promise((r) => {
      server.closeAllConnections(); // answers still streaming (endless, trickling) end here
      server.close(() => r());
    });
  return state;
}

describe('doctor migrate qdrant from a hostile server', () => {
  let store: Store;
  let good: FakeQdrant;
  /** What the store held before each hostile run: a collection migrated earlier. */
  let stored: { id: string; text_chunk: string }[];
  const options = (url: string, over: Partial<QdrantMigrationOptions> = {}): QdrantMigrationOptions => ({
    url, collection: 'hostile', batchSize: 5, writeGroupRows: 5, onError: 'stop', maxRetries: 1, ...over,
  });
  const snapshot = () => store.db.all<{ id: string; text_chunk: string }>("SELECT id, text_chunk FROM document_embeddings WHERE json_extract_string(extra, '$._source') = 'qdrant:doctor_chunks' ORDER BY id");

  before(async () => {
    store = await openStore({ path: join(tempDir(), 'm.duckdb'), embedding: { provider: 'openai', model: 'text-embedding-ada-002', dimension: DIM } });
    good = await startFakeQdrant({ doctor_chunks: { vectors: { size: DIM, distance: 'Cosine' }, points: points(30) } });
    await migrateQdrant(store, options(good.url, { collection: 'doctor_chunks' }));
    stored = await snapshot();
    assert.equal(stored.length, 30);
  });
  after(async () => {
    await store.close();
    await good.close();
  });

  /** Runs a migration from `routes`; returns its error, after checking that nothing stored before changed. */
  async function refused(routes: Routes, over: Partial<QdrantMigrationOptions> = {}): Promise<MigrationError> {
    const q = await hostileQdrant(routes);
    try {
      const err = await migrateQdrant(store, options(q.url, over)).then(
        () => assert.fail('the migration should fail'),
        (e: unknown) => e as Error,
      );
      assert.ok(err instanceof MigrationError, `${err.constructor.name}: ${err.message}`);
      assert.deepEqual(await snapshot(), stored, 'what was stored before is still there');
      return err;
    } finally {
      await q.close();
    }
  }

  it('an endless scroll answer, or one announcing a terabyte, is refused at a bound (no memory exhausted), saying to lower --batch-size', { timeout: 60_000 }, async () => {
    const block = Buffer.alloc(1 << 20, 0x20);
    const endless: Handler = (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"result":{"points":[');
      const pump = () => {
        while (!res.destroyed && res.write(block));
      };
      res.on('drain', pump);
      pump();
    };
    const t0 = performance.now();
    const e1 = await refused({ scroll: endless });
    assert.match(e1.message, /answered POST \/collections\/hostile\/points\/scroll with more than \d+ MiB, more than Qdrant sends/);
    assert.match(e1.message, /lower --batch-size \(5 points per request now\)/);
    const huge: Handler = (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(2 ** 40) });
      res.write('{"result":');
    };
    const e2 = await refused({ scroll: huge });
    assert.match(e2.message, /more than \d+ MiB \(content-length 1099511627776\)/);
    // The collection info is bounded too.
    const e3 = await refused({ info: endless });
    assert.match(e3.message, /answered GET \/collections\/hostile with more than 16 MiB/);
    assert.ok(performance.now() - t0 < 30_000, 'refused without reading the rest');
  });

  it('a server that trickles its answer (a byte at a time, never idle long) is given up on at a deadline', { timeout: 60_000 }, async () => {
    const timers = new Set<NodeJS.Timeout>();
    const trickle: Handler = (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"result":{"points":[');
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write(' ')), 100);
      timers.add(t);
    };
    const t0 = performance.now();
    try {
      // an idle timeout of 500 ms is never reached; the whole answer may take 1 s
      const e = await refused({ scroll: trickle }, { timeoutMs: 500 });
      assert.match(e.message, /^reading points after offset start: Qdrant answered too slowly \(POST \/collections\/hostile\/points\/scroll was not answered whole within 1 s\) after 2 attempts/);
    } finally {
      for (const t of timers) clearInterval(t);
    }
    assert.ok(performance.now() - t0 < 20_000, `gave up in ${Math.round(performance.now() - t0)} ms`);
  });

  it('a payload nested 200,000 levels deep is a bad point: it stops the run, or is skipped with --on-error skip', async () => {
    const deep: Handler = (_q, res) => {
      const nested = `{"text":"deep","x":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
      const pts = [1, 2, 3].map((id) => `{"id":${id},"vector":${JSON.stringify(vector(id))},"payload":${id === 2 ? nested : `{"text":"point ${id}"}`}}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"result":{"points":[${pts.join(',')}],"next_page_offset":null},"status":"ok","time":0}`);
    };
    const e = await refused({ scroll: deep });
    assert.match(e.message, /^point 2: payload nested more than 64 levels deep\. .*--on-error skip/);
    const q = await hostileQdrant({ scroll: deep, count: (_q, r) => send(r, { count: 3 }) });
    try {
      const r = await migrateQdrant(store, options(q.url, { onError: 'skip', collection: 'deep' }));
      assert.deepEqual([r.read, r.written, r.skipped], [3, 2, 1]);
      assert.deepEqual(r.skippedPoints, [{ id: '2', reason: 'payload nested more than 64 levels deep' }]);
      assert.deepEqual(await snapshot(), stored);
    } finally {
      await q.close();
    }
  });

  it('fields Doctor does not read, nested 200,000 levels deep in the collection info and in the sample\'s answer, do not stop the run', async () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    const raw = (res: ServerResponse, result: string) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"result":${result},"status":"ok","time":0}`);
    };
    const q = await hostileQdrant({
      info: (_q, res) => raw(res, `{"points_count":10,"config":{"params":{"vectors":{"size":${DIM},"distance":"Cosine","hnsw_config":${deep}}}}}`),
      retrieve: (_q, res, body) => raw(res, `[${(body.ids as number[]).map((id) => `{"id":${id},"vector":${JSON.stringify(vector(id))},"payload":{"x":${deep}}}`).join(',')}]`),
    });
    const own = await openStore({ path: join(tempDir(), 'deep.duckdb'), embedding: { provider: 'openai', model: 'text-embedding-ada-002', dimension: DIM } });
    try {
      const r = await migrateQdrant(own, options(q.url));
      assert.deepEqual([r.read, r.written, r.verification!.countsMatch, r.verification!.sampled, r.verification!.sampleMismatches], [10, 10, true, 10, []]);
    } finally {
      await own.close();
      await q.close();
    }
  });

  it('answers not shaped like Qdrant\'s are reported as malformed (not as "cannot reach Qdrant ... Is it running?")', async () => {
    const html: Handler = (_q, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>Sign in</body></html>');
    };
    const cases: [Routes, RegExp][] = [
      [{ info: (_q, r) => send(r, null) }, /^reading collection "hostile": Qdrant answered with malformed JSON \(the collection info is null, not an object\) after 2 attempts/],
      [{ info: html }, /^reading collection "hostile": Qdrant answered with malformed JSON \(Unexpected token '<'/],
      [{ count: (_q, r) => send(r, null) }, /^counting points: Qdrant answered with malformed JSON \(the point count is undefined, not a number of points\)/],
      [{ count: (_q, r) => send(r, { count: 'many' }) }, /the point count is "many", not a number of points/],
      [{ scroll: (_q, r) => send(r, null) }, /^reading points after offset start: Qdrant answered with malformed JSON \(the scroll answer has no "result\.points" array\)/],
      [{ scroll: (_q, r) => send(r, { points: 'none', next_page_offset: null }) }, /the scroll answer has no "result\.points" array/],
      [{ scroll: html }, /^reading points after offset start: Qdrant answered with malformed JSON/],
    ];
    for (const [routes, message] of cases) assert.match((await refused(routes)).message, message);
  });

  it('a next_page_offset that is not a point id stops the run saying so (it was sent back as the next offset)', async () => {
    for (const next of [{ a: 1 }, true, -1, 1.5, '', [3]]) {
      const e = await refused({ scroll: (_q, r) => send(r, { points: [{ id: 1, vector: vector(1), payload: {} }], next_page_offset: next }) });
      assert.match(e.message, new RegExp(`returned the page offset ${JSON.stringify(next).replace(/[[\]{}.*+?^$()|\\]/g, '\\$&')}, which is not a point id \\(.*\\), so paging cannot go on`), e.message);
      assert.doesNotMatch(e.message, /circle|2\^53/);
    }
  });
});
