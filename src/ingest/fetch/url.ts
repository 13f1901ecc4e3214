/**
 * URLs for the crawler: normalisation (so one page has one URL), the crawl scope of a start URL, and a
 * guard against link traps (calendars, session ids, endlessly nested relative links).
 *
 * Everything here is pure (no I/O) and cheap enough to call for every link found on every page.
 */
import { RE2JS } from 're2js';
import { getDomain } from 'tldts';
import { writeEscapesOneWay } from '../../text/percent-escapes.js';

/** Longest URL the crawler accepts, in characters (after normalisation). */
export const MAX_URL_LENGTH = 2048;

/**
 * Normalises an http(s) URL so that equal pages get equal strings.
 *
 * - resolves `raw` against `base` when given (links found in a page);
 * - lowercases scheme and host, drops a trailing dot of the host, the fragment and default ports
 *   (`:80` for http, `:443` for https);
 * - collapses duplicate slashes in the path and resolves `.` / `..` segments;
 * - in the path and query, decodes percent-encoded unreserved characters (`%7E` -> `~`, `%41` -> `A`) and
 *   writes the hex digits of other escapes in upper case (`%2f` -> `%2F`): equal URLs per RFC 3986 6.2.2, which
 *   links to one page do mix (`/~user/` and `/%7Euser/`);
 * - otherwise keeps the query string as it is (parameters are not sorted: their order can matter to a server).
 *
 * @param raw - an absolute URL, or a relative one when `base` is given
 * @param base - the URL of the page the link was found on
 * @returns the normalised URL, or `null` when `raw` is not a valid URL, not http/https, carries
 *   credentials (`user:pass@`), or is longer than {@link MAX_URL_LENGTH} characters once normalised
 *
 * @example
 * normalizeUrl('HTTP://Docs.Example.COM:80//a/./b/../c#top') // 'http://docs.example.com/a/c'
 * normalizeUrl('../up', 'https://x.test/a/b/c.html')         // 'https://x.test/a/up'
 * normalizeUrl('mailto:someone@x.test')                       // null
 */
export function normalizeUrl(raw: string, base?: string): string | null {
  if (typeof raw !== 'string' || raw.length > MAX_URL_LENGTH * 4) return null;
  let u: URL;
  try {
    u = new URL(raw.trim(), base);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  if (u.username || u.password) return null;
  if (!u.hostname) return null;
  u.hash = '';
  if (u.hostname.endsWith('.') && !u.hostname.startsWith('[')) u.hostname = u.hostname.replace(/\.+$/, '');
  writeEscapesOneWay(u);
  if (u.pathname.includes('//')) u.pathname = u.pathname.replace(/\/{2,}/g, '/'); // the setter resolves dots again
  const out = u.href;
  return out.length > MAX_URL_LENGTH ? null : out;
}

/**
 * Checks a URL a user gave as the start of a crawl, and returns it normalised.
 *
 * @throws Error with a message saying what is wrong and what to give instead: not a URL, not http(s),
 *   carries credentials, or too long.
 */
export function validateStartUrl(raw: string): string {
  const text = String(raw ?? '').trim();
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error(`"${text}" is not a valid URL: give an absolute http(s) URL such as https://docs.example.com/`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new Error(`only http and https URLs can be crawled (got ${u.protocol} in "${text}")`);
  }
  if (u.username || u.password) {
    throw new Error('URLs with credentials (user:password@) are refused: give the URL without them');
  }
  const n = normalizeUrl(u.href);
  if (!n) throw new Error(`the URL is longer than ${MAX_URL_LENGTH} characters: give a shorter start URL`);
  return n;
}

/**
 * How far a crawl may wander from its start URL:
 * - `prefix`: same host (and port), and the path starts with the start URL's directory
 *   (`https://x.test/docs/v2/intro.html` -> everything under `https://x.test/docs/v2/`);
 * - `host`: same host (and port), any path;
 * - `domain`: same registrable domain (`docs.example.co.uk` and `api.example.co.uk` belong together;
 *   private suffixes such as `github.io` count as public ones, so `alice.github.io` is its own site).
 */
export type Scope = 'prefix' | 'host' | 'domain';

/** A URL predicate, e.g. the result of {@link makeScopeFilter}. */
export type UrlFilter = (url: string) => boolean;

/** The directory part of a URL path: `/a/b/c.html` -> `/a/b/`, `/a/b/` -> `/a/b/`. */
export function directoryOf(pathname: string): string {
  return pathname.endsWith('/') ? pathname : pathname.slice(0, pathname.lastIndexOf('/') + 1);
}

/** Most `*` in one glob pattern (each one costs matching time on every URL tested). */
export const MAX_GLOB_STARS = 20;
/** Largest compiled `/regex/` pattern, in RE2 instructions (a rough measure of its matching cost). */
export const MAX_REGEX_PROGRAM = 200;

/**
 * Compiles one include/exclude pattern. `/.../flags` is a regular expression searched anywhere in the
 * URL (flags `i`, `m`, `s` apply; others are ignored); anything else is a glob matched against the whole
 * URL, where `*` matches any run of characters.
 *
 * Both run on RE2 (re2js): matching takes time linear in the URL, whatever the pattern, so no pattern can
 * backtrack for minutes. RE2 has no lookaround and no backreferences; such patterns are refused, and so are
 * patterns too costly to match on every link (more than {@link MAX_GLOB_STARS} `*` in a glob, more than
 * {@link MAX_REGEX_PROGRAM} RE2 instructions in a regex, e.g. large `{n}` counts).
 *
 * @throws Error naming the pattern and what to change when it does not compile or is too complex
 */
export function compileUrlPattern(pattern: string): UrlFilter {
  const re = /^\/(.+)\/([dgimsuvy]*)$/s.exec(pattern);
  if (re) {
    const flags = re[2]!;
    let compiled: RE2JS;
    try {
      compiled = RE2JS.compile(
        RE2JS.translateRegExp(re[1]!),
        (flags.includes('i') ? RE2JS.CASE_INSENSITIVE : 0) | (flags.includes('s') ? RE2JS.DOTALL : 0) | (flags.includes('m') ? RE2JS.MULTILINE : 0),
      );
    } catch (e) {
      const why = (e as Error).message.replace(/^error parsing regexp: /, '');
      throw new Error(
        `invalid regular expression in URL pattern ${pattern}: ${why} (patterns use RE2 syntax: no lookaround or backreferences; or give a glob with *)`,
      );
    }
    if (compiled.programSize() > MAX_REGEX_PROGRAM) {
      throw new Error(
        `URL pattern ${pattern} is too complex (${compiled.programSize()} RE2 instructions, at most ${MAX_REGEX_PROGRAM}): use smaller {n} counts or a simpler pattern`,
      );
    }
    return (url) => compiled.test(url);
  }
  const parts = pattern.split('*');
  if (parts.length - 1 > MAX_GLOB_STARS) {
    throw new Error(`URL pattern ${pattern} has ${parts.length - 1} "*" (at most ${MAX_GLOB_STARS}): use fewer wildcards`);
  }
  const glob = RE2JS.compile(`^${parts.map((s) => RE2JS.quote(s)).join('.*')}$`, RE2JS.DOTALL);
  return (url) => glob.test(url);
}

/**
 * Compiles a new include/exclude pattern as {@link compileUrlPattern} does, and also refuses two that it
 * takes as globs matching nothing (a URL starts with http): `/html/x`, a regular expression with an unknown
 * flag, and a glob starting with `/` (`/docs/*`), which looks like a path but is matched against the whole
 * URL. Only at submission: a stored crawl with such a pattern runs as before.
 *
 * @throws Error naming the pattern and how to write it
 */
export function checkUrlPattern(pattern: string): UrlFilter {
  const filter = compileUrlPattern(pattern);
  if (!pattern.startsWith('/') || /^\/(.+)\/([dgimsuvy]*)$/s.test(pattern)) return filter;
  const globHint = `*${pattern}${pattern.endsWith('*') ? '' : '*'}`;
  const asRegex = /^\/(.+)\/([a-z]+)$/is.exec(pattern);
  if (asRegex) {
    const unknown = [...new Set(asRegex[2]!.replace(/[dgimsuvy]/g, ''))];
    const notFlags = unknown.length > 1 ? `"${unknown.join('", "')}" are not flags` : `"${unknown[0]}" is not a flag`;
    throw new Error(
      `URL pattern ${pattern} is neither a regular expression (${notFlags}: use i, m or s) nor a glob that can match ` +
        `(a glob must match the whole URL, https://..., so one starting with "/" matches nothing): write /${asRegex[1]}/ with valid flags, or ${globHint} for a glob`,
    );
  }
  throw new Error(
    `URL pattern ${pattern} is a glob, which must match the whole URL (https://...), so one starting with "/" matches nothing: ` +
      `write ${globHint} or https://<host>${pattern}, or a regular expression between slashes`,
  );
}

/**
 * Builds the crawl-scope predicate of a start URL.
 *
 * A URL is in scope when it is http(s), matches `scope` (see {@link Scope}), matches at least one
 * `include` pattern (when any are given) and no `exclude` pattern. Patterns are globs with `*`
 * (`https://x.test/api/*`) or `/regex/` strings (`/\.pdf$/i`), both tested against the full URL in
 * linear time (see {@link compileUrlPattern}).
 * Give it normalised URLs ({@link normalizeUrl}).
 *
 * @throws Error when `startUrl` is not a valid URL or a pattern is refused by {@link compileUrlPattern}
 */
export function makeScopeFilter(startUrl: string, scope: Scope, include: readonly string[] = [], exclude: readonly string[] = []): UrlFilter {
  const start = new URL(startUrl);
  const dir = directoryOf(start.pathname);
  // Private suffixes count (alice.github.io and mallory.github.io are different sites).
  const registrable = (hostname: string) => getDomain(hostname, { allowPrivateDomains: true }) ?? hostname;
  const startDomain = registrable(start.hostname);
  const inc = include.map(compileUrlPattern);
  const exc = exclude.map(compileUrlPattern);
  return (raw) => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return false;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
    let ok: boolean;
    if (scope === 'domain') ok = registrable(u.hostname) === startDomain;
    else ok = u.host === start.host && (scope === 'host' || u.pathname.startsWith(dir));
    if (!ok) return false;
    if (inc.length && !inc.some((m) => m(raw))) return false;
    return !exc.some((m) => m(raw));
  };
}

/** Limits of a {@link TrapGuard}. */
export interface TrapGuardOptions {
  /** Distinct query strings allowed per path (origin + path); the next new one is refused. Default 10. */
  maxQueryVariants?: number;
  /** Most path segments a URL may have. Default 20. */
  maxDepth?: number;
  /** A path segment occurring this many times (anywhere in the path) marks a trap. Default 3. */
  maxSegmentRepeats?: number;
}

/**
 * Refuses URLs that look like link traps: a path segment repeated 3+ times (`/a/b/a/b/a/b`, typical of
 * relative links that nest forever), paths deeper than 20 segments, and more than 10 different query
 * strings on one path (calendars, session ids, sort orders).
 *
 * It is stateful: it remembers the query strings it allowed, so use one guard per crawl. A URL it
 * allowed once stays allowed.
 *
 * @example
 * const traps = new TrapGuard();
 * if (traps.allow(url)) queue.push(url);
 */
export class TrapGuard {
  private readonly variants = new Map<string, Set<string>>();
  private readonly maxQueryVariants: number;
  private readonly maxDepth: number;
  private readonly maxSegmentRepeats: number;

  /** @param options - limits, or (older form) the number of query variants per path */
  constructor(options: TrapGuardOptions | number = {}, maxDepth?: number) {
    const o: TrapGuardOptions = typeof options === 'number' ? { maxQueryVariants: options, maxDepth } : options;
    this.maxQueryVariants = o.maxQueryVariants ?? 10;
    this.maxDepth = o.maxDepth ?? 20;
    this.maxSegmentRepeats = o.maxSegmentRepeats ?? 3;
  }

  /**
   * Says why a URL is refused, or `null` when it is allowed. An allowed URL with a new query string is
   * counted against its path's variant budget.
   */
  check(url: string): string | null {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return 'not a valid URL';
    }
    if (url.length > MAX_URL_LENGTH) return `URL longer than ${MAX_URL_LENGTH} characters`;
    const segments = u.pathname.split('/').filter(Boolean);
    if (segments.length > this.maxDepth) return `path deeper than ${this.maxDepth} segments (link trap?)`;
    const counts = new Map<string, number>();
    for (const s of segments) {
      const n = (counts.get(s) ?? 0) + 1;
      if (n >= this.maxSegmentRepeats) return `path segment "${s}" repeated ${n} times (link trap?)`;
      counts.set(s, n);
    }
    if (u.search) {
      const set = this.variantsOf(u);
      if (!set.has(u.search)) {
        if (set.size >= this.maxQueryVariants) return `more than ${this.maxQueryVariants} query-string variants of ${u.origin + u.pathname} (link trap?)`;
        set.add(u.search);
      }
    }
    return null;
  }

  /** The query strings allowed so far on a URL's path (origin + path). */
  private variantsOf(u: URL): Set<string> {
    const key = u.origin + u.pathname;
    let set = this.variants.get(key);
    if (!set) this.variants.set(key, (set = new Set()));
    return set;
  }

  /**
   * Counts a URL queued earlier (by a run of the same crawl before a restart) against its path's variant
   * budget, whatever the budget says: it was allowed then, and the variants still allowed are what is left.
   */
  remember(url: string): void {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return;
    }
    if (u.search) this.variantsOf(u).add(u.search);
  }

  /** True when the URL does not look like a link trap (see {@link TrapGuard.check}). */
  allow(url: string): boolean {
    return this.check(url) === null;
  }
}
