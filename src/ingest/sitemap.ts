/** Seeding a crawl: URLs from sitemap.xml (and sitemap indexes) and from llms.txt. */
import { parseHTML } from 'linkedom';
import type { Fetcher } from './fetcher.js';
import { normalizeUrl } from './url.js';

/** URLs listed in the sitemaps named by robots.txt and at /sitemap.xml (nested indexes, bounded). */
export async function discoverSitemapUrls(
  fetcher: Fetcher,
  origin: string,
  robotsSitemaps: readonly string[],
  opts: { limit: number; maxSitemaps?: number },
): Promise<string[]> {
  const queue = [...new Set([...robotsSitemaps, `${origin}/sitemap.xml`])];
  const seen = new Set<string>();
  const urls: string[] = [];
  const maxSitemaps = opts.maxSitemaps ?? 20;
  while (queue.length && seen.size < maxSitemaps && urls.length < opts.limit) {
    const sm = queue.shift()!;
    if (seen.has(sm)) continue;
    seen.add(sm);
    const res = await fetcher.fetch(sm).catch(() => null);
    if (!res?.ok || !/<(urlset|sitemapindex)[\s>]/i.test(res.body)) continue;
    const { document } = parseHTML(`<root>${res.body.replace(/<\?xml[^>]*\?>/, '')}</root>`);
    const isIndex = document.querySelector('sitemapindex') !== null;
    for (const loc of document.querySelectorAll('loc')) {
      const url = normalizeUrl((loc.textContent ?? '').trim());
      if (!url) continue;
      if (isIndex) queue.push(url);
      else if (urls.length < opts.limit) urls.push(url);
    }
  }
  return urls;
}

/** Links in /llms.txt at the origin and at the start URL's directory (Markdown links). */
export async function discoverLlmsTxtUrls(fetcher: Fetcher, startUrl: string): Promise<string[]> {
  const start = new URL(startUrl);
  const dir = start.pathname.endsWith('/') ? start.pathname : start.pathname.slice(0, start.pathname.lastIndexOf('/') + 1);
  const candidates = [...new Set([`${start.origin}/llms.txt`, `${start.origin}${dir}llms.txt`])];
  const urls: string[] = [];
  for (const c of candidates) {
    const res = await fetcher.fetch(c).catch(() => null);
    if (!res?.ok || res.contentType === 'text/html') continue;
    for (const m of res.body.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
      const url = normalizeUrl(m[1]!, c);
      if (url) urls.push(url);
    }
  }
  return [...new Set(urls)];
}
