/**
 * Worker thread of the local file reader (./file-reader.ts): reads one file at a time with readDocument and
 * replies with the page, or the error (and whether it is a reason to show: UnreadableFile).
 */
import { parentPort } from 'node:worker_threads';
import type { ExtractedPage } from '../extract/extract.js';
import { readDocument, UnreadableFile, type LocalFormat } from './formats.js';

export type ReadRequest = { format: LocalFormat; bytes: Uint8Array; url: string; fileName: string };
export type ReadReply = { ok: true; page: ExtractedPage } | { ok: false; error: string; unreadable: boolean } | { ready: true };

const port = parentPort;
if (port) {
  port.on('message', (req: ReadRequest) => {
    readDocument(req.format, req.bytes, req.url, req.fileName).then(
      (page) => port.postMessage({ ok: true, page } satisfies ReadReply),
      (e: unknown) =>
        port.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e), unreadable: e instanceof UnreadableFile } satisfies ReadReply),
    );
  });
  port.postMessage({ ready: true } satisfies ReadReply); // the code is loaded: the deadline starts
}
