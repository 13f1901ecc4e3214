/**
 * Worker thread owning one usearch index (see usearch-protocol.ts). Requests are handled one at a time, in
 * the order they were posted, so the main thread's view (adds, removes, saves) stays consistent.
 */
import { createRequire } from 'node:module';
import { renameSync, rmSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { Index as IndexType } from 'usearch';
import { isStopRequest } from '../worker-thread.js';
import type { ResolvedIndexParams, WorkerReply, WorkerRequest } from './usearch-protocol.js';

// usearch is loaded through require: its ESM entry hangs when imported in a worker under tsx's loader.
const usearch = createRequire(import.meta.url)('usearch') as typeof import('usearch');

let index: IndexType | undefined;

function create(params: ResolvedIndexParams): IndexType {
  return new usearch.Index({
    dimensions: params.dimension,
    metric: usearch.MetricKind.Cos,
    quantization: params.quantization as import('usearch').ScalarKind,
    connectivity: params.connectivity,
    expansion_add: params.expansionAdd,
    expansion_search: params.expansionSearch,
    multi: false,
  });
}

function need(): IndexType {
  if (!index) throw new Error('the usearch index is not initialised');
  return index;
}

function handle(req: WorkerRequest): { result: unknown; transfer?: ArrayBuffer[] } {
  switch (req.op) {
    case 'init':
      index = create(req.params);
      return { result: null };
    case 'add': {
      const idx = need();
      const dim = idx.dimensions();
      const present = req.keys.length ? (idx.contains(req.keys) as boolean[]) : [];
      let keys = req.keys;
      let vectors = req.vectors;
      if (present.some(Boolean)) {
        // Rows may arrive twice during a build (read by the build and announced by a commit hook).
        const keep = present.map((p, i) => (p ? -1 : i)).filter((i) => i >= 0);
        keys = BigUint64Array.from(keep, (i) => req.keys[i]!);
        vectors = new Float32Array(keep.length * dim);
        keep.forEach((src, dst) => vectors.set(req.vectors.subarray(src * dim, (src + 1) * dim), dst * dim));
      }
      // usearch reserves a context per thread only when an add grows the index, for that add's thread count:
      // an add that grew it with one thread left later adds on every core (a build) without a context for
      // their second thread ("Reserve capacity ahead of insertions!"). An add that grows the index therefore
      // runs with threads 0, which reserves for every core (as a load does), and no add asks for more.
      const grows = idx.size() + keys.length >= idx.capacity();
      if (keys.length) idx.add(keys, vectors, grows ? 0 : req.threads);
      return { result: { added: keys.length, size: idx.size() } };
    }
    case 'remove': {
      const idx = need();
      if (req.keys.length) idx.remove(req.keys);
      return { result: idx.size() };
    }
    case 'search': {
      const idx = need();
      if (idx.size() === 0) return { result: { keys: new BigUint64Array(0), distances: new Float32Array(0) } };
      const m = idx.search(req.query, req.k, 1);
      return { result: { keys: m.keys, distances: m.distances }, transfer: [m.keys.buffer as ArrayBuffer, m.distances.buffer as ArrayBuffer] };
    }
    case 'save': {
      const idx = need();
      const tmp = `${req.path}.tmp-${process.pid}`;
      try {
        idx.save(tmp);
        renameSync(tmp, req.path);
      } catch (e) {
        // a full disk: the half-written file (named by process id, so no later save replaces it) goes
        rmSync(tmp, { force: true });
        throw e;
      }
      return { result: idx.size() };
    }
    case 'load': {
      // The caller has checked the file's size and checksum: usearch crashes the process on a truncated file.
      const idx = need();
      idx.load(req.path);
      return { result: idx.size() };
    }
    case 'size':
      return { result: index ? index.size() : 0 };
  }
}

const port = parentPort;
if (!port) throw new Error('usearch-worker must run in a worker thread');
port.on('message', (msg: WorkerRequest & { id: number }) => {
  if (isStopRequest(msg)) {
    // every request posted before this one has been answered: end the thread (WorkerIndex.terminate)
    index = undefined;
    port.close();
    return;
  }
  let reply: WorkerReply;
  let transfer: ArrayBuffer[] | undefined;
  try {
    const out = handle(msg);
    reply = { id: msg.id, ok: true, result: out.result };
    transfer = out.transfer;
  } catch (e) {
    reply = { id: msg.id, ok: false, error: (e as Error).message ?? String(e) };
  }
  port.postMessage(reply, transfer ?? []);
});
