/**
 * Worker thread: reads a collection page after page (scroll), decodes and checks each page, and hands it
 * to the main thread, which writes. The next request is in flight while the main thread writes; at most
 * `window` pages wait unacknowledged, so memory stays bounded whatever the collection size.
 */
import { parentPort } from 'node:worker_threads';
import { decodePage } from './decode-page.js';
import { MigrationError } from './errors.js';
import type { FromReader, ReadJob, ToReader } from './page-protocol.js';
import { openSource } from './open-source.js';
import { termBuffers } from './page-terms.js';
import type { PointId } from './points.js';
import { withRetries } from './source.js';

const port = parentPort;
if (!port) throw new Error('page-reader-worker must run in a worker thread');
const post = (m: FromReader, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

let credits = 0;
let wake: (() => void) | undefined;
port.on('message', (m: ToReader) => {
  if (m.type === 'start') {
    credits = m.job.window;
    run(m.job).catch((e: unknown) => post({ type: 'error', message: (e as Error)?.message ?? String(e), migration: e instanceof MigrationError }));
  } else {
    credits++;
    wake?.();
  }
});

async function run(job: ReadJob): Promise<void> {
  const source = await openSource(job.config);
  const request = (from: PointId | null) => {
    const answer = withRetries(`reading points after offset ${from ?? 'start'}`, source, () =>
      source.scroll(job.collection, { offset: from, limit: job.batchSize, vectorName: job.vectorName, dimension: job.dimension }),
      job.maxRetries,
    );
    answer.catch(() => {}); // awaited below; a failure while the previous page is decoded is not unhandled
    return answer;
  };
  try {
    let inFlight = request(job.offset);
    for (;;) {
      const answer = await inFlight;
      // The next request goes out before this page is decoded (at most one answer waits beyond the window).
      if (answer.next !== null) inFlight = request(answer.next);
      const page = decodePage(answer.points(), job.dimension, job.collection);
      while (credits === 0) await new Promise<void>((r) => (wake = r));
      credits--;
      post({ type: 'page', page }, [page.vectors.buffer as ArrayBuffer, ...termBuffers(page.terms)]);
      if (page.next === null) return;
    }
  } finally {
    source.close();
  }
}
