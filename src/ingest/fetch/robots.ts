/**
 * robots.txt, fetched once per origin through the {@link Fetcher} (so through the SSRF guard and the
 * per-host limits). A missing, failed or unreadable robots.txt allows everything.
 *
 * @example
 * const robots = new RobotsCache(fetcher);
 * if (await robots.isAllowed(url)) ...
 * const delay = await robots.crawlDelay(origin); // seconds, if the site asks for one
 */
import robotsParserModule from 'robots-parser';
import type { Fetcher } from './fetcher.js';

interface Robot {
  isAllowed(url: string, ua?: string): boolean | undefined;
  getCrawlDelay(ua?: string): number | undefined;
  getSitemaps(): string[];
}
type Parse = (url: string, body: string) => Robot;
// robots-parser is CommonJS: under NodeNext its default export arrives as the module object.
const robotsParser: Parse =
  (robotsParserModule as unknown as { default?: Parse }).default ?? (robotsParserModule as unknown as Parse);

/**
 * How much of a robots.txt is read: 500 KiB, the least RFC 9309 (2.5) lets a crawler parse, as Google does.
 * The rules are matched one by one against every link a crawl finds, on the main thread: a 10 MB file of
 * 400,000 rules cost 1.1 s to parse and ~50 ms per link checked.
 */
export const MAX_ROBOTS_CHARS = 500 * 1024;

/** The part of a robots.txt that is read: up to MAX_ROBOTS_CHARS, ending at a line's end. */
export function robotsHead(body: string): string {
  if (body.length <= MAX_ROBOTS_CHARS) return body;
  const head = body.slice(0, MAX_ROBOTS_CHARS);
  const lastLine = head.lastIndexOf('\n');
  return lastLine > 0 ? head.slice(0, lastLine + 1) : head;
}

/** The product token robots.txt groups are matched against: `DoctorBot/0.1 (...)` -> `DoctorBot`. */
export function robotsToken(userAgent: string): string {
  return userAgent.trim().split(/[\s/]/)[0] || '*';
}

/** Per-origin robots.txt rules for one user agent. */
export class RobotsCache {
  private readonly cache = new Map<string, Promise<Robot | null>>();
  private readonly token: string;

  /**
   * @param fetcher - used to fetch `/robots.txt`
   * @param userAgent - whose rules apply (default: the fetcher's User-Agent); only its product token counts
   * @param signal - the crawl's: aborting it ends a robots.txt fetch still connecting (which then allows all)
   */
  constructor(
    private readonly fetcher: Fetcher,
    userAgent: string = fetcher.userAgent,
    private readonly signal?: AbortSignal,
  ) {
    this.token = robotsToken(userAgent);
  }

  private robot(origin: string): Promise<Robot | null> {
    const key = new URL(origin).origin;
    let p = this.cache.get(key);
    if (!p) {
      const url = `${key}/robots.txt`;
      p = this.fetcher.fetch(url, { signal: this.signal }).then(
        (res) => {
          if (!res.ok) return null;
          // A site that answers every path with its HTML app shell has no robots.txt.
          if (res.contentType === 'text/html' || /^\s*<(!doctype|html)/i.test(res.body)) return null;
          return robotsParser(url, robotsHead(res.body));
        },
        () => null,
      );
      this.cache.set(key, p);
    }
    return p;
  }

  /** True unless the origin's robots.txt disallows `url` for this user agent. */
  async isAllowed(url: string): Promise<boolean> {
    const robot = await this.robot(url);
    return robot ? robot.isAllowed(url, this.token) !== false : true;
  }

  /** The `Sitemap:` URLs of the origin's robots.txt (absolute, as written). */
  async sitemaps(origin: string): Promise<string[]> {
    return (await this.robot(origin))?.getSitemaps() ?? [];
  }

  /** The `Crawl-delay` for this user agent, in seconds, or undefined when none is given. */
  async crawlDelay(origin: string): Promise<number | undefined> {
    return (await this.robot(origin))?.getCrawlDelay(this.token);
  }
}
