/**
 * Starting a worker thread on a module that sits beside the caller: the compiled `.js` file, or, when
 * running from sources (tests, benchmarks under tsx), the `.ts` file with tsx's loader registered first.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

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
