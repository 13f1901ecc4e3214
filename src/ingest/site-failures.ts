/**
 * When to give up on a site that keeps refusing or not answering. A crawl counts the pages in a row (in the
 * order they finish; a page fetched meanwhile breaks the row) that failed with 429, 502, 503 or 504 after
 * the fetcher's retries, or could not be fetched at all (connection refused or reset, a timeout), and stops
 * with the last reason: the site is down or rate limiting Doctor, and each further page would wait through
 * its retries (up to 90 s with `Retry-After: 30`) only to fail the same way. Pages that fail for their own
 * reasons (404, a body too large, ...) are skipped, and the crawl goes on.
 */
import { isRetryable, type FetchFailureKind } from './fetch/fetcher.js';

/** Pages in a row the site refused or did not answer after which the crawl stops. */
export const SITE_FAILURES_TO_STOP = 10;

/** Whether a failed fetch says the site (not the page) is unavailable: overloaded, rate limiting, unreachable. */
export function siteUnavailable(failure: { kind: FetchFailureKind; status?: number }): boolean {
  // what the fetcher retries, after its retries, and a timeout (not retried: it took the whole deadline)
  return isRetryable(failure) || failure.kind === 'timeout';
}

/** A crawl stopped because too many pages in a row found the site unavailable. */
export class SiteUnavailable extends Error {
  override name = 'SiteUnavailable';
}

/**
 * Pages of the start URL's host in a row that host refused or did not answer, and whether the crawl must stop.
 * Pages of other hosts (a `domain` scope's subdomains) are not counted either way: a dead subdomain's links are
 * skipped one by one, and do not stop the crawl of the site.
 */
export class SiteFailureStreak {
  private count = 0;
  private readonly host: string | undefined;

  constructor(startUrl: string) {
    this.host = hostOf(startUrl);
  }

  /** A page was fetched (whatever became of it): the row is broken. */
  answered(url: string): void {
    if (hostOf(url) === this.host) this.count = 0;
  }

  /** A page found the site unavailable, for `reason`. Returns the error to stop the crawl with, or undefined. */
  failed(url: string, reason: string): Error | undefined {
    if (hostOf(url) !== this.host) return undefined;
    if (++this.count < SITE_FAILURES_TO_STOP) return undefined;
    return new SiteUnavailable(
      `the crawl stopped: ${this.count} pages in a row could not be fetched, the site refusing or not answering (last: ${url}: ${reason}). ` +
        'Crawl the site again later: the pages stored so far are kept.',
    );
  }
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}
