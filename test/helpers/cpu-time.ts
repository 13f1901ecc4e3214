/**
 * CPU time of this process (every thread) spent while `fn` runs, in ms: for bounds that must catch runaway
 * work (quadratic loops, backtracking) without failing because other work on a busy machine took the cores.
 */
export function cpuMs<T>(fn: () => T): { value: T; ms: number } {
  const c0 = process.cpuUsage();
  const value = fn();
  const c = process.cpuUsage(c0);
  return { value, ms: (c.user + c.system) / 1000 };
}
