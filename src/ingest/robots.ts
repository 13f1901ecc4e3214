/** robots.txt: fetched once per origin; a missing or unreadable robots.txt allows everything. */
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

export class RobotsCache {
  private readonly cache = new Map<string, Promise<Robot | null>>();

  constructor(
    private readonly fetcher: Fetcher,
    private readonly userAgent: string,
  ) {}

  private robot(origin: string): Promise<Robot | null> {
    let p = this.cache.get(origin);
    if (!p) {
      const url = `${origin}/robots.txt`;
      p = this.fetcher.fetch(url).then(
        (res) => (res.ok ? robotsParser(url, res.body) : null),
        () => null,
      );
      this.cache.set(origin, p);
    }
    return p;
  }

  async isAllowed(url: string): Promise<boolean> {
    const robot = await this.robot(new URL(url).origin);
    return robot ? robot.isAllowed(url, this.userAgent) !== false : true;
  }

  async sitemaps(origin: string): Promise<string[]> {
    return (await this.robot(origin))?.getSitemaps() ?? [];
  }

  async crawlDelay(origin: string): Promise<number | undefined> {
    return (await this.robot(origin))?.getCrawlDelay(this.userAgent);
  }
}
