/**
 * Starting a worker thread on a module that sits beside the caller: the compiled `.js` file, or, when
 * running from sources (tests, benchmarks under tsx), the `.ts` file with tsx's loader registered first.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { LATE, within } from './deadline.js';

/**
 * `callerUrl`: the caller's import.meta.url; `name`: the worker module's file name without extension;
 * `options`: passed to the Worker (resource limits...).
 */
export function startWorker(callerUrl: string, name: string, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  if (callerUrl.endsWith('.ts')) {
    const url = new URL(`./${name}.ts`, callerUrl).href;
    const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url)}); })`;
    return new Worker(boot, { ...options, eval: true });
  }
  return new Worker(new URL(`./${name}.js`, callerUrl), options);
}

/** The message that asks a worker to stop (see stopWorker); a worker's message handler checks isStopRequest first. */
const STOP_REQUEST = { doctorWorkerStop: true } as const;

export function isStopRequest(msg: unknown): boolean {
  return typeof msg === 'object' && msg !== null && (msg as { doctorWorkerStop?: unknown }).doctorWorkerStop === true;
}

/**
 * Asks a worker that handles isStopRequest to end once the requests it has received are done, without
 * waiting for it (a worker busy in a native call that may never return: it ends if the call ever does).
 */
export function askToStop(worker: Worker): void {
  try {
    worker.postMessage(STOP_REQUEST);
  } catch {
    /* the thread is ending */
  }
}

/**
 * Stops a worker thread that handles isStopRequest: it finishes the requests it has already received, then
 * closes its port and ends. worker.terminate() in the middle of a native add-on call (usearch, onnxruntime)
 * can abort the whole process: when the call returns into the terminating thread, the add-on cannot throw
 * its result or error into JavaScript, and node-addon-api ends the process ("terminate called after
 * throwing an instance of 'Napi::Error'"). terminate() is the fallback for a worker that has not ended
 * after `timeoutMs` (a stuck one). It cannot end a thread stuck inside a native call either: after another
 * `timeoutMs` the worker is left as it is, unreferenced, and this returns false (see stuck-threads.ts).
 */
export async function stopWorker(worker: Worker, timeoutMs = 30_000): Promise<boolean> {
  if (worker.threadId < 0) return true; // already ended
  const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.ref(); // the caller awaits the end: an unreferenced worker would let the process exit first
  askToStop(worker);
  if ((await within(ended, timeoutMs)) !== LATE) return true;
  worker.terminate().catch(() => undefined);
  if ((await within(ended, timeoutMs)) !== LATE) return true;
  worker.unref();
  return false;
}
