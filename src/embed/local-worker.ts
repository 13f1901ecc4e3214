/**
 * Worker thread of the local embedder (see local-protocol.ts): runs local-runtime.ts, so transformers.js
 * and onnxruntime-node are loaded only here, only when a model is loaded or downloaded. Requests are
 * handled one at a time; a request that fails (bad input, a broken file) gets an error reply and the
 * worker keeps serving.
 */
import { parentPort } from 'node:worker_threads';
import { isStopRequest } from '../worker-thread.js';
import type { WorkerReply, WorkerRequest } from './local-protocol.js';
import { RequestError, download, embed, load } from './local-runtime.js';

async function handle(req: WorkerRequest, id: number): Promise<{ result: unknown; transfer?: ArrayBuffer[] }> {
  switch (req.op) {
    case 'load':
      return { result: await load(req.spec) };
    case 'download':
      return { result: await download(req.spec, (progress) => parentPort!.postMessage({ id, progress } satisfies WorkerReply)) };
    case 'embed': {
      const r = await embed(req.texts, req.pooling, req.maxTokens);
      return { result: r, transfer: [r.vectors.buffer as ArrayBuffer] };
    }
    default:
      throw new RequestError('input', `unknown request ${JSON.stringify((req as { op?: unknown }).op)}`);
  }
}

// One request at a time, in order.
let queue: Promise<void> = Promise.resolve();
let stopping = false;
parentPort!.on('message', (msg: WorkerRequest & { id: number }) => {
  if (isStopRequest(msg)) {
    // the embedder is closing (stopWorker): requests still queued are refused, the running one finishes
    stopping = true;
    queue = queue.then(() => parentPort!.close());
    return;
  }
  queue = queue.then(async () => {
    if (stopping) {
      parentPort!.postMessage({ id: msg.id, ok: false, error: 'the local embedder is closed', kind: 'runtime' } satisfies WorkerReply);
      return;
    }
    try {
      const { result, transfer } = await handle(msg, msg.id);
      parentPort!.postMessage({ id: msg.id, ok: true, result } satisfies WorkerReply, transfer ?? []);
    } catch (e) {
      const kind = e instanceof RequestError ? e.kind : 'runtime';
      parentPort!.postMessage({ id: msg.id, ok: false, error: (e as Error)?.message ?? String(e), kind } satisfies WorkerReply);
    }
  });
});
