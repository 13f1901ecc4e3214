/**
 * Which lane a database read waits in when every read connection is busy (see Database.all). Lanes are
 * served round-robin: the HTTP server runs each request in the "requests" lane, so the reads of work running
 * in the background (crawls, in the default lane) are not queued behind every waiting request.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export const readLane = new AsyncLocalStorage<string>();

/** API requests (HTTP and MCP over HTTP) read in this lane. */
export const REQUEST_LANE = 'requests';

/** Work that outlives the request that started it (a crawl) reads in this lane, apart from requests. */
export const BACKGROUND_LANE = 'background';

/** Runs `fn` (and everything it starts) with its database reads in `lane`. */
export function inReadLane<R>(lane: string, fn: () => R): R {
  return readLane.run(lane, fn);
}
