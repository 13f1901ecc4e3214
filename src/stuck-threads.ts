/**
 * Worker threads given up on while stuck inside a native call (a usearch bug that never returns, an ONNX
 * model that never finishes). Nothing can stop such a thread: worker.terminate() only interrupts JavaScript,
 * and Node waits for every worker at exit, so process.exit() and the end of the event loop would hang
 * forever. The CLI ends the process by signal instead, once its own work (closing the database) is done: see
 * endPastStuckThreads.
 */

const stuck: string[] = [];
const afterwards: string[] = [];

/**
 * Records a thread that cannot be stopped (`what`: which, for the message at exit; `then`: what happens on the
 * next start because of it, if anything).
 */
export function noteStuckThread(what: string, then?: string): void {
  stuck.push(what);
  if (then) afterwards.push(then);
}

/**
 * When a thread is stuck: says so and ends the process with SIGKILL, the one way out that does not wait for
 * it. Call only once everything that must be saved is saved (the database closed).
 */
export function endPastStuckThreads(write: (line: string) => void = (l) => process.stderr.write(l)): void {
  if (stuck.length === 0) return;
  write(
    `doctor: ${stuck.join('; ')}: that thread is stuck inside a native call and cannot be stopped, so Doctor ends with SIGKILL ` +
      `(everything was saved first${[...new Set(afterwards)].map((t) => `; ${t}`).join('')}).\n`,
  );
  process.kill(process.pid, 'SIGKILL');
}
