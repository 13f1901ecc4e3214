/**
 * Worker thread of the extraction pool (./process-pool.ts): runs processPage for each request and replies
 * with the result (its chunks packed, their buffers moved: packChunks) or the error message.
 */
import { parentPort } from 'node:worker_threads';
import { packChunks, processPage, type PackedChunks, type ProcessPageInput, type ProcessedPage } from './process-page.js';

export type PoolRequest = { id: number; input: ProcessPageInput };
/** A processed page as it crosses threads: its chunks packed (unpackChunks gives them back). */
export type PackedPage = Pick<ProcessedPage, 'page' | 'jsOnly'> & { packed: PackedChunks };
export type PoolReply = { id: number; ok: true; result: PackedPage } | { id: number; ok: false; error: string };

const port = parentPort;
if (port) {
  port.on('message', (req: PoolRequest) => {
    let reply: PoolReply;
    let transfer: ArrayBuffer[] = [];
    try {
      const { page, jsOnly, ...chunked } = processPage(req.input);
      const { packed, transfer: buffers } = packChunks(chunked);
      transfer = buffers;
      reply = { id: req.id, ok: true, result: { page, jsOnly, packed } };
    } catch (e) {
      reply = { id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) };
    }
    port.postMessage(reply, transfer);
  });
  port.postMessage({ id: 0, ok: true, result: null });
}
