/**
 * Reading local files off the main thread: each file is read (./formats.ts: HTML extraction, the markup
 * converters, YAML front matter, pdf.js) in a worker thread with a heap limit and a deadline, as a crawled
 * page is extracted in the extraction pool; its chunks, and their lexical vectors and keyword terms, are computed
 * there too (a 20 MB Markdown file held the main thread for 2 s with them). A file that takes too long or
 * needs too much memory (a PDF of
 * 100 KB whose content stream kept pdf.js busy for minutes) is skipped with that reason; the thread is
 * ended and the server answers meanwhile. Workers are kept for the next file, one per file read at a time.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../worker-thread.js';
import { UnreadableFile, type LocalFormat } from './formats.js';
import { unpackChunks, type ChunkWork } from '../process-page.js';
import type { ReadReply, ReadRequest, ReadResult, ReadWire } from './read-worker.js';

/** Longest time one file may take to read. */
export const READ_DEADLINE_MS = 60_000;
/** Heap limit of a reading thread, in MB. */
export const READ_MAX_HEAP_MB = 2048;

export class LocalFileReader {
  private readonly idle: Worker[] = [];
  private closed = false;

  /** @param opts.work - what is computed with each file's chunks (../process-page.ts, chunkWorkFor) */
  constructor(private readonly opts: { work: ChunkWork; deadlineMs?: number; maxHeapMb?: number }) {}

  /**
   * The page of one file, chunked unless `stored` has its text and title; rejects with UnreadableFile when it
   * took too long or too much memory.
   */
  read(format: LocalFormat, bytes: Uint8Array, url: string, fileName: string, stored: ReadRequest['stored'], signal?: AbortSignal): Promise<ReadResult> {
    if (this.closed) return Promise.reject(new Error('the local file reader is closed'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const deadlineMs = this.opts.deadlineMs ?? READ_DEADLINE_MS;
    const maxHeapMb = this.opts.maxHeapMb ?? READ_MAX_HEAP_MB;
    const kept = this.idle.pop();
    const worker = kept ?? startWorker(import.meta.url, 'read-worker', { resourceLimits: { maxOldGenerationSizeMb: maxHeapMb } });
    worker.ref();
    return new Promise<ReadResult>((resolve, reject) => {
      let settled = false;
      const finish = (keep: boolean, settle: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        if (keep && !this.closed) {
          worker.unref();
          this.idle.push(worker);
        } else void worker.terminate();
        settle();
      };
      const onMessage = (r: ReadReply) => {
        if ('ready' in r) startDeadline();
        else finish(true, () => (r.ok ? resolve(unpackRead(r.result)) : reject(r.unreadable ? new UnreadableFile(r.error) : new Error(r.error))));
      };
      const onError = (e: Error & { code?: string }) =>
        finish(false, () =>
          reject(
            e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new UnreadableFile(`needs more than ${maxHeapMb} MB of memory to read`) : new Error(`reading failed: ${e.message}`),
          ),
        );
      const onExit = (code: number) => finish(false, () => reject(new Error(`the reading thread exited (code ${code})`)));
      const onAbort = () => finish(false, () => reject(signal!.reason));
      // from when the thread has loaded its code (a new one: ~50 ms built, ~1 s under tsx)
      let timer: NodeJS.Timeout | undefined;
      const startDeadline = () => {
        timer = setTimeout(() => finish(false, () => reject(new UnreadableFile(`took longer than ${deadlineMs / 1000} s to read`))), deadlineMs);
      };
      if (kept) startDeadline();
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      signal?.addEventListener('abort', onAbort, { once: true });
      const copy = new Uint8Array(bytes); // moved to the thread, not copied again
      try {
        worker.postMessage({ format, bytes: copy, url, fileName, work: this.opts.work, stored } satisfies ReadRequest, [copy.buffer as ArrayBuffer]);
      } catch (e) {
        finish(false, () => reject(e instanceof Error ? e : new Error(String(e))));
      }
    });
  }

  /** Ends the idle threads (a read in flight ends its own when it settles). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.idle.splice(0).map((w) => w.terminate()));
  }
}

/** A read result as the reading thread sent it, with its chunks unpacked (views on the moved buffers). */
function unpackRead(r: ReadWire): ReadResult {
  return { page: r.page, hash: r.hash, ...(r.packed ? { chunked: { page: r.page, ...unpackChunks(r.packed) } } : {}) };
}
