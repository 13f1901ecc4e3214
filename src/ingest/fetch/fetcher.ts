/**
 * Fetching pages politely and safely.
 *
 * - redirects followed by hand: each hop normalised, counted, loop-checked, and opened through the
 *   dispatcher again (so the SSRF guard of {@link createGuardedDispatcher} sees every hop);
 * - a total deadline per request (headers and the whole body: a page that trickles bytes is cut off
 *   too), and a body size limit enforced while streaming (after decompression);
 * - gzip / deflate / brotli content encodings (also stacked, `gzip, gzip`), and `.gz` files
 *   (sitemap.xml.gz) unpacked; any other coding skips the page with a reason;
 * - retries with exponential backoff and jitter on 429, 502, 503, 504 and network errors, honouring
 *   `Retry-After` up to {@link MAX_RETRY_AFTER_MS} (a longer one fails the page at once, saying so; a timeout
 *   is not retried: it already took the whole deadline);
 * - a per-host concurrency limit with a polite delay between requests to one host (hosts never wait
 *   for each other);
 * - charset-aware decoding that never throws (declared charset, byte-order mark, UTF-16 without a BOM),
 *   and refusal of bodies that really are binary (known file signatures, mostly control bytes);
 * - every response body it does not read to the end is destroyed with an error listener attached, so
 *   an aborted body can never become an uncaught exception.
 *
 * @example
 * const fetcher = new Fetcher({ dispatcher: createGuardedDispatcher({ allowPrivate: false, allowlist: [] }) });
 * const res = await fetcher.fetch('https://docs.example.com/');
 * if (res.ok) console.log(res.url, res.contentType, res.body.length);
 * else console.warn(`${res.url}: ${res.reason} (${res.kind})`);
 *
 * @see createGuardedDispatcher in ./net-guard.js
 */
import { createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from 'node:zlib';
import { pipeline, Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { normalizeUrl } from './url.js';
import { sleep } from './sleep.js';

/** The User-Agent sent when none is configured (DOCTOR_USER_AGENT). */
export const DEFAULT_USER_AGENT = 'DoctorBot/0.1 (+https://github.com/doctor-docs; documentation indexer)';

/** Status codes that are retried (with backoff, honouring Retry-After). */
const RETRYABLE_STATUS: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** Whether a failure is worth another attempt: a network error, or a status the server may soon answer otherwise. */
export function isRetryable(f: { kind: FetchFailureKind; status?: number }): boolean {
  return f.kind === 'network' || (f.kind === 'http_error' && RETRYABLE_STATUS.has(f.status ?? 0));
}

/** Longest wait honoured from a Retry-After header, in ms. */
export const MAX_RETRY_AFTER_MS = 30_000;

/** Options of a {@link Fetcher}; every field has a default. */
export interface FetcherOptions {
  /** User-Agent header (default {@link DEFAULT_USER_AGENT}). */
  userAgent?: string;
  /** Deadline for one request, headers and the whole body, in ms (default 20 000; DOCTOR_REQUEST_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Largest body accepted, after decompression, in bytes (default 10 MiB; DOCTOR_MAX_PAGE_BYTES). */
  maxBodyBytes?: number;
  /** Redirects followed per fetch (default 5). */
  maxRedirects?: number;
  /** Retries after the first attempt of each hop (default 3). */
  maxRetries?: number;
  /** Requests in flight at once per host (default 2). */
  perHostConcurrency?: number;
  /** Minimum time between the starts of two requests to one host, in ms (default 100). */
  perHostDelayMs?: number;
  /** The undici dispatcher, normally the SSRF guard (default: undici's global dispatcher, unguarded). */
  dispatcher?: Dispatcher;
  /**
   * Taken around each request after this fetcher's own per-host limits, and released when it ends: a limit
   * shared with other processes (remote crawl workers share one per host through Redis).
   */
  hostGate?: (url: string, signal?: AbortSignal) => Promise<() => void>;
}

/** Why a fetch failed. */
export type FetchFailureKind =
  /** the server answered with an error status (status set), a redirect without a usable Location, or out of scope */
  | 'http_error'
  /** the body is larger than `maxBodyBytes` (declared or while streaming) */
  | 'too_large'
  /** no complete answer (headers and whole body) within `timeoutMs`; not retried */
  | 'timeout'
  /** a redirect led back to a URL already visited in this fetch */
  | 'redirect_loop'
  /** more than `maxRedirects` redirects */
  | 'too_many_redirects'
  /** the SSRF guard refused the address (first request or a redirect hop) */
  | 'blocked_address'
  /** DNS failure, connection refused or reset, malformed response (after retries) */
  | 'network'
  /** the body is binary (image, PDF, archive, ...), whatever the Content-Type says, or in a Content-Encoding Doctor cannot decode */
  | 'not_text';

/** A successful fetch: the final URL (after redirects) and the decoded text. */
export interface FetchSuccess {
  ok: true;
  /** Final URL after redirects (normalised). */
  url: string;
  status: number;
  /**
   * MIME type only, lowercased (`text/html`); `''` when the server sent none. `text/html` for a body that
   * begins like HTML sent without a type or as `application/octet-stream` (a file uploaded without one).
   */
  contentType: string;
  /** The character encoding the body was decoded with, when one was declared (header, BOM or meta tag). */
  charset?: string;
  /** The body as text (invalid bytes replaced by U+FFFD). */
  body: string;
  /** Body size in bytes after decompression. */
  bytes: number;
  /** Each redirect target in order (empty when there was none); the last one equals `url`. */
  redirects: string[];
}

/** A failed fetch; `reason` is a readable sentence for logs and job reports. */
export interface FetchFailure {
  ok: false;
  /** The URL of the hop that failed. */
  url: string;
  /** HTTP status when the server answered. */
  status?: number;
  reason: string;
  kind: FetchFailureKind;
}

/** The outcome of {@link Fetcher.fetch}: check `ok`. */
export type FetchResult = FetchSuccess | FetchFailure;

/** Per-call options of {@link Fetcher.fetch}. */
export interface FetchOptions {
  /**
   * Retries of this fetch after its first attempt, instead of the fetcher's `maxRetries`: 0 for files a
   * crawl only looks for (sitemap.xml, llms.txt), which a busy site would otherwise hold up for minutes.
   */
  maxRetries?: number;
  /** Aborting it rejects the fetch with the signal's reason (it is not reported as a failure). */
  signal?: AbortSignal;
  /**
   * Called with each redirect target before it is requested; returning false stops there with an
   * `http_error` failure "redirected out of scope to ..." (nothing out of scope is fetched).
   * By default every redirect is followed and the final URL is reported for the caller to judge.
   */
  followRedirect?: (url: string) => boolean;
}

class Failure extends Error {
  constructor(
    readonly kind: FetchFailureKind,
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

type Hop = { redirect: string; status: number } | Omit<FetchSuccess, 'url' | 'redirects'>;

/** Per-host slots with a minimum delay between request starts; waiting is abortable. */
class HostLimiter {
  private active = 0;
  private nextStart = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(
    private readonly max: number,
    public delayMs: number,
  ) {}

  get idle(): boolean {
    return this.active === 0 && this.waiters.length === 0 && Date.now() >= this.nextStart;
  }

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.active >= this.max) {
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.waiters.indexOf(wake);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal!.reason);
        };
        this.waiters.push(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
    this.active++;
    try {
      const now = Date.now();
      const start = Math.max(now, this.nextStart);
      this.nextStart = start + this.delayMs;
      if (start > now) await sleep(start - now, signal);
      return await fn();
    } finally {
      this.active--;
      this.waiters.shift()?.();
    }
  }
}

/**
 * An HTTP client for crawling. One instance per crawl (or per process): the per-host limits apply
 * across all fetches of one instance. `fetch` never throws for HTTP or network problems; it returns a
 * {@link FetchResult}.
 */
export class Fetcher {
  /** The User-Agent sent (robots.txt rules are matched against its product token). */
  readonly userAgent: string;
  private readonly o: Required<Omit<FetcherOptions, 'dispatcher' | 'userAgent' | 'hostGate'>>;
  private readonly limiters = new Map<string, HostLimiter>();
  private readonly hostDelays = new Map<string, number>();

  constructor(private readonly opts: FetcherOptions = {}) {
    this.userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    this.o = {
      timeoutMs: opts.timeoutMs ?? 20_000,
      maxBodyBytes: opts.maxBodyBytes ?? 10 * 1024 * 1024,
      maxRedirects: opts.maxRedirects ?? 5,
      maxRetries: opts.maxRetries ?? 3,
      perHostConcurrency: Math.max(1, opts.perHostConcurrency ?? 2),
      perHostDelayMs: Math.max(0, opts.perHostDelayMs ?? 100),
    };
  }

  /**
   * Sets a longer delay between requests to one host, e.g. a robots.txt `Crawl-delay` (in ms).
   * It never goes below `perHostDelayMs`.
   *
   * @param hostOrUrl - a host (`docs.x.test:8080`) or any URL on it
   */
  setHostDelay(hostOrUrl: string, delayMs: number): void {
    const host = hostKey(hostOrUrl);
    const ms = Math.max(this.o.perHostDelayMs, delayMs);
    this.hostDelays.set(host, ms);
    const l = this.limiters.get(host);
    if (l) l.delayMs = ms;
  }

  /**
   * Fetches a URL as text, following redirects.
   *
   * @param url - an absolute http(s) URL
   * @returns the final URL and decoded body, or a failure with its kind and a readable reason
   * @throws TypeError when `url` is not an http(s) URL; the signal's reason when `signal` aborts
   */
  async fetch(url: string, opts: FetchOptions = {}): Promise<FetchResult> {
    const first = normalizeUrl(url);
    if (!first) throw new TypeError(`not a fetchable http(s) URL: ${url}`);
    const redirects: string[] = [];
    let current = first;
    const seen = new Set([first]);
    for (;;) {
      let hop: Hop;
      try {
        hop = await this.withRetries(current, opts.signal, opts.maxRetries ?? this.o.maxRetries);
      } catch (e) {
        if (opts.signal?.aborted) throw opts.signal.reason ?? e;
        const f = toFailure(e, this.o.timeoutMs);
        return { ok: false, url: current, status: f.status, reason: f.message, kind: f.kind };
      }
      if ('redirect' in hop) {
        const next = normalizeUrl(hop.redirect, current);
        if (!next) {
          return { ok: false, url: current, status: hop.status, reason: `redirect to an invalid or non-http URL (${hop.redirect})`, kind: 'http_error' };
        }
        if (seen.has(next)) {
          return { ok: false, url: current, status: hop.status, reason: `redirect loop (${[...seen, next].join(' -> ')})`, kind: 'redirect_loop' };
        }
        if (redirects.length >= this.o.maxRedirects) {
          return { ok: false, url: current, status: hop.status, reason: `more than ${this.o.maxRedirects} redirects (DOCTOR_MAX_REDIRECTS)`, kind: 'too_many_redirects' };
        }
        if (opts.followRedirect && !opts.followRedirect(next)) {
          return { ok: false, url: current, status: hop.status, reason: `redirected out of scope to ${next}`, kind: 'http_error' };
        }
        seen.add(next);
        redirects.push(next);
        current = next;
        continue;
      }
      return { ...hop, url: current, redirects };
    }
  }

  private async withRetries(url: string, signal: AbortSignal | undefined, maxRetries: number): Promise<Hop> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.limiter(url).run(() => this.gated(url, signal), signal);
      } catch (e) {
        if (signal?.aborted) throw e;
        const f = toFailure(e, this.o.timeoutMs);
        // A timeout is not retried: the request already used the whole deadline (DOCTOR_REQUEST_TIMEOUT_MS).
        if (!isRetryable(f) || attempt >= maxRetries) throw f;
        // A site that asks for a longer wait than we honour is not asked again sooner than it said.
        if (f.retryAfterMs !== undefined && f.retryAfterMs > MAX_RETRY_AFTER_MS) {
          throw new Failure(f.kind, `${f.message}: the site asks to wait ${waitText(f.retryAfterMs)} (Retry-After), longer than Doctor waits (${MAX_RETRY_AFTER_MS / 1000} s): not retried; crawl again later`, f.status);
        }
        const backoff = Math.min(10_000, 300 * 2 ** attempt);
        const wait = f.retryAfterMs !== undefined ? Math.min(f.retryAfterMs, MAX_RETRY_AFTER_MS) : backoff / 2 + Math.random() * (backoff / 2);
        await sleep(wait, signal);
      }
    }
  }

  private limiter(url: string): HostLimiter {
    const host = hostKey(url);
    let l = this.limiters.get(host);
    if (!l) {
      if (this.limiters.size > 1000) for (const [k, v] of this.limiters) if (v.idle) this.limiters.delete(k);
      l = new HostLimiter(this.o.perHostConcurrency, this.hostDelays.get(host) ?? this.o.perHostDelayMs);
      this.limiters.set(host, l);
    }
    return l;
  }

  private async gated(url: string, signal?: AbortSignal): Promise<Hop> {
    if (!this.opts.hostGate) return this.fetchOnce(url, signal);
    const release = await this.opts.hostGate(url, signal);
    try {
      return await this.fetchOnce(url, signal);
    } finally {
      release();
    }
  }

  private async fetchOnce(url: string, signal?: AbortSignal): Promise<Hop> {
    // One deadline for headers and the whole body (undici's body timeout only measures the gap between chunks).
    const timeout = AbortSignal.timeout(this.o.timeoutMs);
    const pending = request(url, {
      method: 'GET',
      dispatcher: this.opts.dispatcher,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      headers: {
        'user-agent': this.userAgent,
        accept: 'text/html,application/xhtml+xml,text/markdown,text/plain;q=0.9,application/xml;q=0.8,*/*;q=0.5',
        'accept-encoding': 'gzip, deflate, br',
      },
      headersTimeout: this.o.timeoutMs,
      bodyTimeout: this.o.timeoutMs,
    });
    const res = await untilAborted(pending, signal);
    const header = (name: string): string | undefined => {
      const v = res.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const status = res.statusCode;
    if (status >= 300 && status < 400) {
      discard(res.body);
      const location = header('location');
      if (location) return { redirect: location, status };
      throw new Failure('http_error', `HTTP ${status} without a Location header`, status);
    }
    if (status >= 400) {
      discard(res.body);
      throw new Failure('http_error', `HTTP ${status}`, status, parseRetryAfter(header('retry-after')));
    }
    const [mime, ...params] = (header('content-type') ?? '').split(';').map((s) => s.trim());
    const contentType = (mime ?? '').toLowerCase();
    const max = this.o.maxBodyBytes;
    const declared = Number(header('content-length'));
    let raw: Buffer;
    try {
      if (header('content-length') !== undefined && Number.isFinite(declared) && declared > max) {
        throw new Failure('too_large', tooLarge(max, declared), status);
      }
      const codings = contentCodings(header('content-encoding') ?? '', status);
      raw = await readLimited(await decodeContent(res.body, codings), max, status);
      if (isGzipFile(raw, contentType, url)) raw = await readLimited(await decodeContent(Readable.from([raw]), ['gzip']), max, status);
    } finally {
      release(res.body);
    }
    const declaredCharset = params.find((p) => /^charset=/i.test(p))?.slice('charset='.length).replace(/["']/g, '').trim().toLowerCase() || undefined;
    const charset = bomCharset(raw) ?? utf16Charset(declaredCharset) ?? (declaredCharset ? undefined : utf16WithoutBom(raw));
    if (!charset && looksBinary(raw)) {
      throw new Failure('not_text', `binary content served as ${contentType || 'an unknown type'}: not a text page`, status);
    }
    const label = charset ?? declaredCharset ?? sniffCharset(raw, UNTYPED.has(contentType) ? '' : contentType);
    const decoded = decodeText(raw, label);
    const type = UNTYPED.has(contentType) && looksLikeHtml(decoded.text) ? 'text/html' : contentType;
    return { ok: true, status, contentType: type, charset: label ? decoded.encoding : undefined, body: decoded.text, bytes: raw.length };
  }
}

/** Reads away a small unwanted body (keeps the connection reusable); larger ones close it. */
/**
 * The request's response, or the signal's reason as soon as it aborts: undici notices an abort only once
 * a connection attempt in progress ends (seconds, to a host that does not answer), and a cancelled crawl or
 * a server shutting down must not wait for that. A response that still arrives later is discarded.
 */
function untilAborted(pending: Promise<Dispatcher.ResponseData>, signal?: AbortSignal): Promise<Dispatcher.ResponseData> {
  if (!signal) return pending;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason);
      pending.then((res) => discard(res.body), () => {});
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (res) => {
        signal.removeEventListener('abort', onAbort);
        resolve(res);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function discard(body: Dispatcher.ResponseData['body']): void {
  body.dump({ limit: 64 * 1024 }).catch(() => {});
}

/**
 * Destroys a stream that will not be read (any further). undici turns the destruction of an unfinished
 * body into a RequestAbortedError 'error' event, which would be an uncaught exception without a listener.
 */
function release(stream: Readable): void {
  stream.on('error', () => {});
  stream.destroy();
}

function hostKey(hostOrUrl: string): string {
  try {
    return new URL(hostOrUrl).host;
  } catch {
    return hostOrUrl.toLowerCase();
  }
}


/** A wait as people say it: "45 s", "20 min", "3 h", "365 days". */
function waitText(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}

/**
 * Parses a Retry-After header: delay-seconds or an HTTP date. Returns ms (>= 0), or undefined when the
 * header is missing or unreadable. Not capped (callers cap it).
 */
export function parseRetryAfter(value: string | undefined | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

type Coding = 'gzip' | 'deflate' | 'br';

/** Most codings stacked in one Content-Encoding (`gzip, gzip` is two) that are undone. */
const MAX_CODINGS = 3;

/**
 * The codings of a Content-Encoding header in the order they were applied (`identity` dropped).
 *
 * @throws Failure (`not_text`) naming the coding when one is unknown (`zstd`, ...) or too many are stacked
 */
function contentCodings(header: string, status: number): Coding[] {
  const codings: Coding[] = [];
  for (const raw of header.toLowerCase().split(',')) {
    const c = raw.trim();
    if (c === '' || c === 'identity') continue;
    if (c === 'gzip' || c === 'x-gzip') codings.push('gzip');
    else if (c === 'deflate' || c === 'br') codings.push(c);
    else throw new Failure('not_text', `unsupported Content-Encoding "${header.trim().slice(0, 100)}": page skipped`, status);
  }
  if (codings.length > MAX_CODINGS) {
    throw new Failure('not_text', `more than ${MAX_CODINGS} stacked Content-Encodings ("${header.trim().slice(0, 100)}"): page skipped`, status);
  }
  return codings;
}

/** The body with its content codings undone (last applied, first undone); errors and destruction propagate. */
async function decodeContent(body: Readable, codings: readonly Coding[]): Promise<Readable> {
  let out = body;
  for (let i = codings.length - 1; i >= 0; i--) {
    const coding = codings[i]!;
    if (coding === 'deflate') {
      out = await inflate(out);
      continue;
    }
    out = pipeline(out, coding === 'gzip' ? createGunzip() : createBrotliDecompress(), () => {}) as unknown as Readable;
  }
  return out;
}

/** "deflate" is meant to be zlib-wrapped, but some servers send raw deflate: the first byte decides. */
async function inflate(source: Readable): Promise<Readable> {
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return Readable.from([]);
  const chunk = first.value as Buffer;
  const decoder = (chunk[0]! & 0x0f) === 8 ? createInflate() : createInflateRaw();
  const rest = Readable.from(
    (async function* () {
      yield chunk;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value as Buffer;
    })(),
  );
  return pipeline(rest, decoder, () => {}) as unknown as Readable;
}

async function readLimited(stream: Readable, max: number, status: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > max) throw new Failure('too_large', tooLarge(max), status);
      parts.push(buf);
    }
  } catch (e) {
    if (e instanceof Failure) throw e;
    // `code` is a string for zlib and undici errors, a number on a DOMException (a timeout): look at both
    const code = String((e as { code?: unknown }).code ?? '');
    if (code.startsWith('Z_') || code.startsWith('ERR__')) {
      throw new Failure('network', `could not decompress the body: ${(e as Error).message}`, status);
    }
    throw e;
  } finally {
    release(stream);
  }
  return Buffer.concat(parts, size);
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Math.round((n / 2 ** 20) * 10) / 10} MB`;
  if (n >= 1024) return `${Math.round((n / 1024) * 10) / 10} KB`;
  return `${n} bytes`;
}

function tooLarge(max: number, declared?: number): string {
  return `body larger than the ${formatBytes(max)} limit${declared !== undefined ? ` (${formatBytes(declared)} declared)` : ''}: skipped (DOCTOR_MAX_PAGE_BYTES)`;
}

/**
 * Content types that say nothing about the body: none, and the generic binary ones servers and object
 * stores send for files uploaded without a type. A body of one of these that begins like HTML is HTML.
 */
const UNTYPED: ReadonlySet<string> = new Set(['', 'application/octet-stream', 'binary/octet-stream', 'application/unknown', 'unknown/unknown', '*/*']);

/** Whether a text begins as an HTML document does (the WHATWG MIME sniffing patterns for HTML). */
function looksLikeHtml(text: string): boolean {
  return /^[\s\uFEFF]*<(?:!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--)[\s>]/i.test(text.slice(0, 1024));
}

/** A gzip file (not a gzip content encoding), such as sitemap.xml.gz: unpacked for the caller. */
function isGzipFile(buf: Buffer, contentType: string, url: string): boolean {
  if (buf.length < 2 || buf[0] !== 0x1f || buf[1] !== 0x8b) return false;
  return contentType === 'application/gzip' || contentType === 'application/x-gzip' || new URL(url).pathname.endsWith('.gz');
}

function bomCharset(buf: Buffer): string | undefined {
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) return 'utf-8';
  if (buf[0] === 0xff && buf[1] === 0xfe) return 'utf-16le';
  if (buf[0] === 0xfe && buf[1] === 0xff) return 'utf-16be';
  return undefined;
}

/**
 * `<meta charset>` / `<meta http-equiv content="...; charset=">` in HTML, `<?xml encoding=?>` in XML. A UTF-16
 * label read this way means UTF-8, as the HTML standard's prescan says: text whose declaration reads as ASCII
 * is not UTF-16 (decoded as UTF-16, a page said "the" as "格浥").
 */
function sniffCharset(buf: Buffer, contentType: string): string | undefined {
  const label = declaredInContent(buf, contentType);
  return label && utf16Charset(label) ? 'utf-8' : label;
}

function declaredInContent(buf: Buffer, contentType: string): string | undefined {
  const head = buf.subarray(0, 4096).toString('latin1');
  if (contentType === '' || contentType === 'text/html' || contentType === 'application/xhtml+xml') {
    const m = /<meta\b[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)/i.exec(head);
    if (m) return m[1]!.toLowerCase();
  }
  if (contentType === '' || contentType.endsWith('xml')) {
    const m = /^\s*<\?xml\b[^>]*\bencoding\s*=\s*["']([\w.:-]+)["']/i.exec(head);
    if (m) return m[1]!.toLowerCase();
  }
  return undefined;
}

/** The WHATWG name of a declared UTF-16 charset (decoded as declared, whatever its NUL bytes look like). */
function utf16Charset(label: string | undefined): string | undefined {
  if (!label) return undefined;
  if (label === 'utf-16be' || label === 'unicodefffe') return 'utf-16be';
  if (['utf-16', 'utf-16le', 'ucs-2', 'csunicode', 'iso-10646-ucs-2', 'unicode', 'unicodefeff'].includes(label)) return 'utf-16le';
  return undefined;
}

/**
 * UTF-16 text without a byte-order mark and without a declared charset: in the first KB, most bytes at
 * odd offsets (LE) or even offsets (BE) are NUL and hardly any at the others (ASCII-range characters).
 */
function utf16WithoutBom(buf: Buffer): string | undefined {
  const n = Math.min(buf.length, 1024) & ~1;
  if (n < 16) return undefined;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < n; i += 2) {
    if (buf[i] === 0) evenNul++;
    if (buf[i + 1] === 0) oddNul++;
  }
  const pairs = n / 2;
  if (oddNul > pairs * 0.6 && evenNul < pairs * 0.05) return 'utf-16le';
  if (evenNul > pairs * 0.6 && oddNul < pairs * 0.05) return 'utf-16be';
  return undefined;
}

/** Signatures of binary formats that a server may mislabel as text (images, archives, executables, ...). */
const BINARY_SIGNATURES: readonly (readonly number[])[] = [
  [0x89, 0x50, 0x4e, 0x47], // PNG
  [0xff, 0xd8, 0xff], // JPEG
  [0x47, 0x49, 0x46, 0x38], // GIF
  [0x52, 0x49, 0x46, 0x46], // RIFF (WebP, WAV, AVI)
  [0x50, 0x4b, 0x03, 0x04], // ZIP (docx, jar, epub, ...)
  [0x1f, 0x8b], // gzip
  [0x42, 0x5a, 0x68], // bzip2
  [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], // xz
  [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], // 7z
  [0x28, 0xb5, 0x2f, 0xfd], // zstd
  [0x7f, 0x45, 0x4c, 0x46], // ELF
  [0x00, 0x61, 0x73, 0x6d], // WebAssembly
  [0x77, 0x4f, 0x46, 0x46], // WOFF
  [0x77, 0x4f, 0x46, 0x32], // WOFF2
  [0x00, 0x00, 0x01, 0x00], // ICO
];

/**
 * Binary, whatever the Content-Type says: a known file signature, or more than 10% control bytes in the
 * first KB. A stray NUL in a text page does not make it binary (it is dropped when decoding).
 */
function looksBinary(buf: Buffer): boolean {
  if (BINARY_SIGNATURES.some((sig) => sig.every((b, i) => buf[i] === b))) return true;
  const n = Math.min(buf.length, 1024);
  let control = 0;
  for (let i = 0; i < n; i++) {
    const b = buf[i]!;
    if (b < 9 || (b > 13 && b < 32) || b === 127) control++;
  }
  return n > 0 && control / n > 0.1;
}

/** Decodes with the declared charset (unknown labels fall back to UTF-8); invalid bytes become U+FFFD. */
function decodeText(buf: Buffer, charset?: string): { text: string; encoding: string } {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset || 'utf-8', { fatal: false });
  } catch {
    decoder = new TextDecoder('utf-8', { fatal: false }); // unknown charset label
  }
  // NUL characters are dropped, as an HTML parser drops them from text (and they are no use in search)
  let text = decoder.decode(buf);
  if (text.indexOf('\0') >= 0) text = text.replace(/\0/g, ''); // indexOf: the common case (none) without a regex pass
  // Some Node versions decode windows-1252 (the WHATWG meaning of latin1/iso-8859-1 too) as plain
  // ISO-8859-1, leaving C1 controls where windows-1252 has quotes, dashes and the euro sign.
  if (decoder.encoding === 'windows-1252') text = text.replace(/[\x80-\x9f]/g, (c) => CP1252_C1[c.charCodeAt(0) - 0x80] ?? c);
  return { text, encoding: decoder.encoding };
}

/** windows-1252 bytes 0x80..0x9F (undefined bytes map to the same C1 code point, as WHATWG says). */
const CP1252_C1 = [
  '\u20ac', '\x81', '\u201a', '\u0192', '\u201e', '\u2026', '\u2020', '\u2021', '\u02c6', '\u2030', '\u0160', '\u2039', '\u0152', '\x8d', '\u017d', '\x8f',
  '\x90', '\u2018', '\u2019', '\u201c', '\u201d', '\u2022', '\u2013', '\u2014', '\u02dc', '\u2122', '\u0161', '\u203a', '\u0153', '\x9d', '\u017e', '\u0178',
];

function toFailure(e: unknown, timeoutMs: number): Failure {
  if (e instanceof Failure) return e;
  const err = (e ?? {}) as Error & { code?: unknown; cause?: Error & { code?: unknown } };
  const blockedErr = [err, err.cause].find((x) => x?.name === 'BlockedAddressError' || x?.code === 'EBLOCKEDADDRESS');
  if (blockedErr) return new Failure('blocked_address', blockedErr.message);
  // a DOMException's `code` is a number: only string codes name an error
  const code = [err.code, err.cause?.code].find((c): c is string => typeof c === 'string');
  if (err.name === 'TimeoutError' || err.cause?.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new Failure('timeout', `timeout: no complete answer within ${timeoutMs} ms (DOCTOR_REQUEST_TIMEOUT_MS)`);
  }
  const message = err.message || String(e);
  return new Failure('network', `network error: ${message}${code && !message.includes(code) ? ` (${code})` : ''}`);
}
