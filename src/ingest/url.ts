/** URL normalisation, crawl scope, and link-trap guards. */
import { getDomain } from 'tldts';

export const MAX_URL_LENGTH = 2048;

/**
 * Normalises an http(s) URL: lowercase scheme/host (WHATWG URL does it), no fragment, no default port,
 * no duplicate slashes, `.`/`..` resolved. Returns null for other schemes, credentials, or over-long URLs.
 */
export function normalizeUrl(raw: string, base?: string): string | null {
  if (typeof raw !== 'string' || raw.length > MAX_URL_LENGTH * 2) return null;
  let u: URL;
  try {
    u = new URL(raw.trim(), base);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  if (u.username || u.password) return null;
  u.hash = '';
  u.pathname = u.pathname.replace(/\/{2,}/g, '/');
  const out = u.href;
  return out.length > MAX_URL_LENGTH ? null : out;
}

/** Checks a URL a user gave as the start of a crawl; throws a readable error. */
export function validateStartUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(String(raw).trim());
  } catch {
    throw new Error(`"${raw}" is not a valid URL: give an absolute http(s) URL such as https://docs.example.com/`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`only http and https URLs can be crawled (got ${u.protocol})`);
  if (u.username || u.password) throw new Error('URLs with credentials (user:password@) are refused');
  const n = normalizeUrl(u.href);
  if (!n) throw new Error(`the URL is longer than ${MAX_URL_LENGTH} characters`);
  return n;
}

export type Scope = 'prefix' | 'host' | 'domain';

function patternMatcher(p: string): (url: string) => boolean {
  if (p.length > 2 && p.startsWith('/') && p.endsWith('/')) {
    const re = new RegExp(p.slice(1, -1));
    return (url) => re.test(url);
  }
  const re = new RegExp('^' + p.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  return (url) => re.test(url);
}

/**
 * The crawl scope of a start URL: `prefix` = same host and the start URL's directory as path prefix,
 * `host` = same host, `domain` = same registrable domain. Include patterns (any must match when given)
 * and exclude patterns (none may match): globs with `*` or `/regex/`.
 */
export function makeScopeFilter(startUrl: string, scope: Scope, include: string[] = [], exclude: string[] = []): (url: string) => boolean {
  const start = new URL(startUrl);
  const dir = start.pathname.endsWith('/') ? start.pathname : start.pathname.slice(0, start.pathname.lastIndexOf('/') + 1);
  const startDomain = getDomain(start.hostname) ?? start.hostname;
  const inc = include.map(patternMatcher);
  const exc = exclude.map(patternMatcher);
  return (raw) => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return false;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
    let ok: boolean;
    if (scope === 'domain') ok = (getDomain(u.hostname) ?? u.hostname) === startDomain;
    else ok = u.host === start.host && (scope === 'host' || u.pathname.startsWith(dir));
    if (!ok) return false;
    if (inc.length && !inc.some((m) => m(raw))) return false;
    return !exc.some((m) => m(raw));
  };
}

/**
 * Refuses URLs that look like link traps: a path segment repeated 3+ times, very deep paths, or more than
 * `maxQueryVariants` different query strings on one path (calendars, session ids, sort orders).
 */
export class TrapGuard {
  private readonly variants = new Map<string, Set<string>>();

  constructor(
    private readonly maxQueryVariants = 10,
    private readonly maxDepth = 20,
  ) {}

  allow(url: string): boolean {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return false;
    }
    if (url.length > MAX_URL_LENGTH) return false;
    const segments = u.pathname.split('/').filter(Boolean);
    if (segments.length > this.maxDepth) return false;
    const counts = new Map<string, number>();
    for (const s of segments) {
      const n = (counts.get(s) ?? 0) + 1;
      if (n >= 3) return false;
      counts.set(s, n);
    }
    if (u.search) {
      const key = u.origin + u.pathname;
      let set = this.variants.get(key);
      if (!set) this.variants.set(key, (set = new Set()));
      if (!set.has(u.search)) {
        if (set.size >= this.maxQueryVariants) return false;
        set.add(u.search);
      }
    }
    return true;
  }
}
