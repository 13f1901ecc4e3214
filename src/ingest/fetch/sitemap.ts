/**
 * Seeding a crawl: URLs listed in sitemaps (sitemap indexes followed, bounded; `.xml.gz` unpacked by
 * the fetcher) and in `llms.txt` files. All fetches go through the {@link Fetcher}; a missing or broken
 * file just contributes nothing. The URLs returned are normalised but not scope-filtered: the caller
 * applies its scope.
 */
import type { Fetcher } from './fetcher.js';
import { directoryOf, normalizeUrl } from './url.js';

/** Bounds of {@link discoverSitemapUrls}. */
export interface SitemapOptions {
  /** Most page URLs returned. */
  limit: number;
  /** Most sitemap files fetched, indexes included (default 20). */
  maxSitemaps?: number;
  /** Deepest nesting of sitemap indexes followed (default 3: index -> index -> urlset). */
  maxDepth?: number;
  signal?: AbortSignal;
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeXmlText(s: string): string {
  return s
    .replace(/^\s*<!\[CDATA\[([\s\S]*?)\]\]>\s*$/, '$1')
    .replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
      }
      return XML_ENTITIES[e.toLowerCase()] ?? m;
    })
    .trim();
}

/**
 * Parses one sitemap document: `kind` says whether it is a `<sitemapindex>` (its `locs` are sitemaps)
 * or a `<urlset>` (its `locs` are pages); null when it is neither.
 */
export function parseSitemap(xml: string): { kind: 'index' | 'urlset'; locs: string[] } | null {
  const root = /<(?:[\w-]+:)?(urlset|sitemapindex)[\s>]/i.exec(xml);
  if (!root) return null;
  const locs: string[] = [];
  // Each <loc> and the first closing tag after it, found separately: one pattern spanning both
  // (`<loc>([\s\S]*?)</loc>`) scans to the end of the file from every unclosed <loc>, which made a
  // hostile sitemap of 10 MB cost hours of the main thread. This reads the file once.
  const open = /<([\w-]+:)?loc>/gi;
  const close = /<\/(?:[\w-]+:)?loc>/gi;
  for (let m = open.exec(xml); m; m = open.exec(xml)) {
    close.lastIndex = open.lastIndex;
    const end = close.exec(xml);
    if (!end) break; // no closing tag after this one, so none for any later <loc> either
    // <image:loc>, <video:loc> ... belong to extensions, not to the page list
    if (!/^(image|video|news|xhtml):$/i.test(m[1] ?? '')) locs.push(decodeXmlText(xml.slice(open.lastIndex, end.index)));
    open.lastIndex = close.lastIndex;
  }
  return { kind: root[1]!.toLowerCase() === 'sitemapindex' ? 'index' : 'urlset', locs };
}

/**
 * Page URLs listed in the sitemaps named by robots.txt and at `{origin}/sitemap.xml`, following
 * sitemap indexes breadth-first (bounded by `maxSitemaps` and `maxDepth`), deduplicated, in document
 * order, at most `limit`.
 *
 * @param origin - `https://docs.example.com` (no trailing slash needed)
 * @param robotsSitemaps - the `Sitemap:` lines of robots.txt ({@link RobotsCache.sitemaps})
 */
export async function discoverSitemapUrls(
  fetcher: Fetcher,
  origin: string,
  robotsSitemaps: readonly string[],
  opts: SitemapOptions,
): Promise<string[]> {
  const maxSitemaps = opts.maxSitemaps ?? 20;
  const maxDepth = opts.maxDepth ?? 3;
  const start = normalizeUrl('/sitemap.xml', origin);
  const queue: { url: string; depth: number }[] = [];
  const queued = new Set<string>();
  for (const raw of [...robotsSitemaps, ...(start ? [start] : [])]) {
    const url = normalizeUrl(raw, origin);
    if (url && !queued.has(url)) {
      queued.add(url);
      queue.push({ url, depth: 1 });
    }
  }
  const urls = new Set<string>();
  let fetched = 0;
  while (queue.length && fetched < maxSitemaps && urls.size < opts.limit) {
    const { url, depth } = queue.shift()!;
    fetched++;
    // Not retried: a site too busy for its sitemap (503, Retry-After: 30 on each of 20 sitemaps) would hold
    // the crawl's start up for half an hour; the crawl follows links anyway.
    const res = await fetcher.fetch(url, { signal: opts.signal, maxRetries: 0 });
    if (!res.ok) continue;
    const parsed = parseSitemap(res.body);
    if (!parsed) continue;
    for (const loc of parsed.locs) {
      const u = normalizeUrl(loc, res.url);
      if (!u) continue;
      if (parsed.kind === 'urlset') {
        if (urls.size >= opts.limit) break;
        urls.add(u);
      } else if (depth < maxDepth && !queued.has(u)) {
        queued.add(u);
        queue.push({ url: u, depth: depth + 1 });
      }
    }
  }
  return [...urls];
}

/**
 * Links of a Markdown document (`[text](url)`, `[text](<url> "title")`), resolved against `base`
 * and normalised; images are left out.
 */
export function markdownLinks(markdown: string, base: string): string[] {
  const out: string[] = [];
  // No part of a link may hold a `[`: a try that starts at one `[` then never reads past the next, so the
  // text is read once. (With `[^\]\n]*` and `[^)\s]+`, a line of unclosed brackets or of `[a](<` was read
  // again from every `[`: minutes for a hostile llms.txt of a megabyte, on the main thread.) The price: a URL
  // written with a literal `[` (an IPv6 host) is not read from an llms.txt.
  for (const m of markdown.matchAll(/(?<!!)\[[^[\]\n]*\]\(\s*(?:<([^<>[\n]+)>|([^)\s[]+))(?:\s+(?:"[^"[\n]*"|'[^'[\n]*'))?\s*\)/g)) {
    const url = normalizeUrl((m[1] ?? m[2])!, base);
    if (url) out.push(url);
  }
  return out;
}

/**
 * The links of `/llms.txt` at the start URL's origin and, when different, in the start URL's
 * directory (`https://x.test/docs/llms.txt`), deduplicated, in document order.
 */
export async function discoverLlmsTxtUrls(fetcher: Fetcher, startUrl: string, opts: { limit?: number; signal?: AbortSignal } = {}): Promise<string[]> {
  const start = new URL(startUrl);
  const limit = opts.limit ?? 10_000;
  const candidates = [...new Set([`${start.origin}/llms.txt`, `${start.origin}${directoryOf(start.pathname)}llms.txt`])];
  const urls = new Set<string>();
  for (const c of candidates) {
    const res = await fetcher.fetch(c, { signal: opts.signal, maxRetries: 0 }); // not retried, as sitemaps
    // An HTML answer is a site's catch-all page, not an llms.txt.
    if (!res.ok || res.contentType === 'text/html' || /^\s*<(!doctype|html)/i.test(res.body)) continue;
    for (const url of markdownLinks(res.body, res.url)) {
      if (urls.size >= limit) break;
      urls.add(url);
    }
  }
  return [...urls];
}
