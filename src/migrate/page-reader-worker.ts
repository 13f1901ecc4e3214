/**
 * Worker thread: reads a collection page after page (scroll), decodes and checks each page, and hands it
 * to the main thread, which writes. The next request is in flight while the main thread writes; at most
 * `window` pages wait unacknowledged, so memory stays bounded whatever the collection size. It also answers
 * the main thread's other requests to Qdrant (SourceCalls), so the client library loads in this thread only.
 */
import { parentPort } from 'node:worker_threads';
import { decodePage } from './decode-page.js';
import { MigrationError } from './errors.js';
import type { FromReader, ReadJob, SourceCall, ToReader } from './page-protocol.js';
import { openSource } from './open-source.js';
import { MAX_RETRIES, withRetries, type QdrantSource } from './source.js';
import { termBuffers } from '../text/packed-terms.js';
import { idProblem, type PointId } from './points.js';

const port = parentPort;
if (!port) throw new Error('page-reader-worker must run in a worker thread');
const post = (m: FromReader, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

let credits = 0;
let wake: (() => void) | undefined;
let opened: Promise<QdrantSource> | undefined;
let maxRetries = MAX_RETRIES;
const failure = (e: unknown, id?: number): FromReader => ({ type: 'error', id, message: (e as Error)?.message ?? String(e), migration: e instanceof MigrationError });
port.on('message', (m: ToReader) => {
  if (m.type === 'open') {
    opened = openSource(m.config);
    opened.catch(() => {}); // awaited by run and answer
    maxRetries = m.maxRetries;
  } else if (m.type === 'call') {
    answer(m.call)
      .then((value) => post({ type: 'answer', id: m.id, value }))
      // a failed request, or an answer that cannot be copied to the main thread
      .catch((e: unknown) => post(failure(e, m.id)));
  } else if (m.type === 'start') {
    credits = m.job.window;
    run(m.job).catch((e: unknown) => post(failure(e)));
  } else {
    credits++;
    wake?.();
  }
});

function source(): Promise<QdrantSource> {
  if (!opened) throw new Error('the page reader was used before its source was opened');
  return opened;
}

/** What the main thread asks besides pages, with the same retries. */
async function answer(call: SourceCall): Promise<unknown> {
  const s = await source();
  switch (call.method) {
    case 'collectionInfo':
      return withRetries(`reading collection "${call.args[0]}"`, s, () => s.collectionInfo(...call.args), maxRetries);
    case 'count':
      return withRetries('counting points', s, () => s.count(...call.args), maxRetries);
    case 'retrieve': {
      // ids and vectors are all the verification compares: a payload sent anyway is not copied over
      const points = await withRetries('reading sample points', s, () => s.retrieve(...call.args), maxRetries);
      return points.map((p) => ({ id: p.id, vector: p.vector, payload: null }));
    }
  }
}

async function run(job: ReadJob): Promise<void> {
  const src = await source();
  const request = (from: PointId | null) => {
    const answer = withRetries(`reading points after offset ${from ?? 'start'}`, src, () =>
      src.scroll(job.collection, { offset: from, limit: job.batchSize, vectorName: job.vectorName, dimension: job.dimension }),
      maxRetries,
    );
    answer.catch(() => {}); // awaited below; a failure while the previous page is decoded is not unhandled
    return answer;
  };
  // Offsets already asked for: Qdrant's scroll moves forward in id order, so one coming back means the
  // server (or a proxy that drops the offset) pages in a circle, and the run would never end.
  const asked = new Set<string>();
  if (job.offset !== null) asked.add(String(job.offset));
  let read = 0;
  // The source stays open after the last page: the main thread asks it for the verification's sample.
  let inFlight = request(job.offset);
  for (;;) {
    const answer = await inFlight;
    // The next request goes out before this page is decoded (at most one answer waits beyond the window).
    if (answer.next !== null) {
      // An offset is the id of the next page's first point. Anything else (an object, true, -1, 1.5, "")
      // was sent back as the next request's offset: reported as a scroll "in a circle" when it came twice,
      // or as an integer above 2^53.
      const bad = typeof answer.next === 'number' && Number.isInteger(answer.next) && answer.next > Number.MAX_SAFE_INTEGER ? undefined : idProblem(answer.next);
      if (bad) {
        const shown = (JSON.stringify(typeof answer.next === 'bigint' ? String(answer.next) : answer.next) ?? String(answer.next)).slice(0, 80);
        throw new MigrationError(
          `Qdrant at ${src.config.url} returned the page offset ${shown}, which is not a point id (${bad}), so paging cannot go on. ` +
            'Nothing after the last committed batch was written. Check what answers at that address (Qdrant sends the id of the next point, or null at the end).',
        );
      }
      const next = String(answer.next);
      if (asked.has(next)) {
        throw new MigrationError(
          `Qdrant at ${src.config.url} returned the page offset ${next} a second time (after ${read} points of this run): its scroll goes round in a circle, so the migration would never end. ` +
            "Nothing after the last committed batch was written. Check what answers at that address (a proxy that drops the scroll's offset does this), then run again with --resume.",
        );
      }
      asked.add(next);
      inFlight = request(answer.next);
    }
    const page = decodePage(answer.points(), job.dimension, job.collection);
    while (credits === 0) await new Promise<void>((r) => (wake = r));
    credits--;
    read += page.read;
    post({ type: 'page', page }, [page.vectors.buffer as ArrayBuffer, ...termBuffers(page.terms)]);
    if (page.next === null) return;
  }
}
