/**
 * Worker thread of the extraction pool (./process-pool.ts): runs processPage for each request and replies
 * with the result (typed arrays transferred, not copied) or the error message.
 */
import { parentPort } from 'node:worker_threads';
import { processPage, transferablesOf, type ProcessPageInput, type ProcessedPage } from './process-page.js';

export type PoolRequest = { id: number; input: ProcessPageInput };
export type PoolReply = { id: number; ok: true; result: ProcessedPage } | { id: number; ok: false; error: string };

const port = parentPort;
if (port) {
  port.on('message', (req: PoolRequest) => {
    let reply: PoolReply;
    let transfer: ArrayBuffer[] = [];
    try {
      const result = processPage(req.input);
      transfer = transferablesOf(result);
      reply = { id: req.id, ok: true, result };
    } catch (e) {
      reply = { id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) };
    }
    port.postMessage(reply, transfer);
  });
  port.postMessage({ id: 0, ok: true, result: null });
}
