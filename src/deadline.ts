/** Waiting for a promise at most so long, without rejecting it or leaving a timer behind. */

/** What `within` gives when the time ran out first. */
export const LATE = Symbol('late');

/**
 * `p`'s value, or LATE once `ms` have passed first (the timer is cleared either way, and never keeps the
 * process alive). `p` itself goes on; a caller that stops waiting for it should handle its rejection.
 */
export function within<T>(p: Promise<T>, ms: number): Promise<T | typeof LATE> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<typeof LATE>((resolve) => {
    timer = setTimeout(() => resolve(LATE), ms);
    timer.unref();
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
