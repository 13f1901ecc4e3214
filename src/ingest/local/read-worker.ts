/**
 * Worker thread of the local file reader (./file-reader.ts): reads one file at a time with readDocument, and
 * unless its text and title are those already stored, chunks it (with lexical vectors and keyword terms when
 * asked: ../process-page.ts, as crawled pages in the extraction pool). Replies with the result (chunks packed,
 * their buffers moved: packChunks), or the error (and whether it is a reason to show: UnreadableFile).
 */
import { parentPort } from 'node:worker_threads';
import type { ExtractedPage } from '../extract/extract.js';
import { contentHash } from '../page-writer.js';
import { chunkPage, packChunks, type ChunkedPage, type ChunkWork, type PackedChunks } from '../process-page.js';
import { readDocument, UnreadableFile, type LocalFormat } from './formats.js';

export type ReadRequest = {
  format: LocalFormat;
  bytes: Uint8Array;
  url: string;
  fileName: string;
  work: ChunkWork;
  /** The stored page of this file: when the text and title are the same, no chunks are computed. */
  stored?: { hash: string | null; title: string | null };
};
/** A file read: its page, the page's content hash, and its chunks unless the stored page has the same text and title. */
export type ReadResult = { page: ExtractedPage; hash: string; chunked?: ChunkedPage };
/** A ReadResult as it crosses threads: the chunks packed (unpackChunks gives them back). */
export type ReadWire = { page: ExtractedPage; hash: string; packed?: PackedChunks };
export type ReadReply = { ok: true; result: ReadWire } | { ok: false; error: string; unreadable: boolean } | { ready: true };

function readFile(req: ReadRequest): Promise<ReadResult> {
  return readDocument(req.format, req.bytes, req.url, req.fileName).then((page) => {
    const hash = contentHash(page.markdown);
    const same = req.stored && req.stored.hash === hash && req.stored.title === page.title;
    return { page, hash, chunked: same ? undefined : chunkPage(page, req.work) };
  });
}

const port = parentPort;
if (port) {
  port.on('message', (req: ReadRequest) => {
    readFile(req).then(
      ({ page, hash, chunked }) => {
        const packed = chunked ? packChunks(chunked) : undefined;
        port.postMessage({ ok: true, result: { page, hash, packed: packed?.packed } } satisfies ReadReply, packed?.transfer ?? []);
      },
      (e: unknown) =>
        port.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e), unreadable: e instanceof UnreadableFile } satisfies ReadReply),
    );
  });
  port.postMessage({ ready: true } satisfies ReadReply); // the code is loaded: the deadline starts
}
