/**
 * Fetching pages politely and safely: timeouts, a body size limit enforced while streaming, gzip/deflate/
 * brotli, redirects followed by hand (each hop normalised, counted, loop-checked and re-checked by the
 * SSRF guard), retries with backoff on 429/5xx honouring Retry-After, a per-host concurrency limit with a
 * polite delay, and charset-aware decoding that never throws.
 */
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { normalizeUrl } from './url.js';
import { retryAfter } from './embedders/openai.js';

export const DEFAULT_USER_AGENT = 'DoctorBot/0.1 (documentation indexer; +https://github.com/doctor-docs/doctor)';

export interface FetcherOptions {
  userAgent?: string;
  timeoutMs?: number;
  maxBodyBytes?: number;
  maxRedirects?: number;
  maxRetries?: number;
  perHostConcurrency?: number;
  perHostDelayMs?: number;
  dispatcher?: Dispatcher;
}

export type FetchFailureKind =
  | 'http_error'
  | 'too_large'
  | 'timeout'
  | 'redirect_loop'
  | 'too_many_redirects'
  | 'blocked_address'
  | 'network'
  | 'not_text';

export type FetchResult =
  | { ok: true; url: string; status: number; contentType: string; charset?: string; body: string; bytes: number; redirects: string[] }
  | { ok: false; url: string; status?: number; reason: string; kind: FetchFailureKind };

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

/** Per-host slots with a minimum delay between request starts. */
class HostLimiter {
  private active = 0;
  private lastStart = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(
    private readonly max: number,
    private readonly delayMs: number,
  ) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.waiters.push(r));
    this.active++;
    try {
      const wait = this.lastStart + this.delayMs - Date.now();
      this.lastStart = Math.max(Date.now(), this.lastStart + this.delayMs);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      return await fn();
    } finally {
      this.active--;
      this.waiters.shift()?.();
    }
  }
}

export class Fetcher {
  readonly userAgent: string;
  private readonly o: Required<Omit<FetcherOptions, 'dispatcher' | 'userAgent'>>;
  private readonly limiters = new Map<string, HostLimiter>();

  constructor(private readonly opts: FetcherOptions = {}) {
    this.userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    this.o = {
      timeoutMs: opts.timeoutMs ?? 20_000,
      maxBodyBytes: opts.maxBodyBytes ?? 10 * 1024 * 1024,
      maxRedirects: opts.maxRedirects ?? 5,
      maxRetries: opts.maxRetries ?? 3,
      perHostConcurrency: opts.perHostConcurrency ?? 2,
      perHostDelayMs: opts.perHostDelayMs ?? 100,
    };
  }

  /** Fetches a URL, following redirects; never throws for HTTP or network problems (see `ok`). */
  async fetch(url: string, opts: { signal?: AbortSignal; followRedirect?: (url: string) => boolean } = {}): Promise<FetchResult> {
    const redirects: string[] = [];
    let current = url;
    const seen = new Set([url]);
    for (;;) {
      let hop: Awaited<ReturnType<Fetcher['fetchOnce']>>;
      try {
        hop = await this.withRetries(current, opts.signal);
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        const f = toFailure(e, this.o);
        return { ok: false, url: current, status: f.status, reason: f.message, kind: f.kind };
      }
      if ('redirect' in hop) {
        const next = normalizeUrl(hop.redirect, current);
        if (!next) return { ok: false, url: current, status: hop.status, reason: `redirect to an invalid or non-http URL (${hop.redirect})`, kind: 'http_error' };
        if (seen.has(next)) return { ok: false, url: current, status: hop.status, reason: `redirect loop (${[...seen, next].join(' -> ')})`, kind: 'redirect_loop' };
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

  private async withRetries(url: string, signal?: AbortSignal) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.limiter(url).run(() => this.fetchOnce(url, signal));
      } catch (e) {
        if (signal?.aborted) throw e;
        const f = toFailure(e, this.o);
        const retryable = f.kind === 'timeout' || f.kind === 'network' || (f.kind === 'http_error' && [429, 502, 503, 504].includes(f.status ?? 0));
        if (!retryable || attempt >= this.o.maxRetries) throw f;
        const base = Math.min(10_000, 300 * 2 ** attempt);
        const wait = f.retryAfterMs !== undefined ? Math.min(f.retryAfterMs, 30_000) : base / 2 + Math.random() * (base / 2);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  private limiter(url: string): HostLimiter {
    const host = new URL(url).host;
    let l = this.limiters.get(host);
    if (!l) this.limiters.set(host, (l = new HostLimiter(this.o.perHostConcurrency, this.o.perHostDelayMs)));
    return l;
  }

  private async fetchOnce(url: string, signal?: AbortSignal): Promise<
    | { redirect: string; status: number }
    | { ok: true; status: number; contentType: string; charset?: string; body: string; bytes: number }
  > {
    const timeout = AbortSignal.timeout(this.o.timeoutMs);
    const res = await request(url, {
      method: 'GET',
      dispatcher: this.opts.dispatcher,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      headers: {
        'user-agent': this.userAgent,
        accept: 'text/html,application/xhtml+xml,text/markdown,text/plain;q=0.9,*/*;q=0.5',
        'accept-encoding': 'gzip, deflate, br',
      },
      headersTimeout: this.o.timeoutMs,
      bodyTimeout: this.o.timeoutMs,
    });
    const header = (name: string) => {
      const v = res.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    if (res.statusCode >= 300 && res.statusCode < 400 && header('location')) {
      res.body.resume();
      return { redirect: header('location')!, status: res.statusCode };
    }
    if (res.statusCode >= 400) {
      res.body.resume();
      throw new Failure('http_error', `HTTP ${res.statusCode}`, res.statusCode, retryAfter(header('retry-after') ?? null));
    }
    const [mime, ...params] = (header('content-type') ?? '').split(';').map((s) => s.trim());
    const contentType = (mime ?? '').toLowerCase();
    const declared = Number(header('content-length'));
    if (Number.isFinite(declared) && declared > this.o.maxBodyBytes) {
      res.body.destroy();
      throw new Failure('too_large', tooLarge(this.o.maxBodyBytes, declared));
    }
    const encoding = (header('content-encoding') ?? '').toLowerCase();
    const raw = await readLimited(decode(res.body, encoding), this.o.maxBodyBytes);
    let charset = params.find((p) => p.toLowerCase().startsWith('charset='))?.split('=')[1]?.replace(/"/g, '').toLowerCase();
    if (!charset && (contentType === 'text/html' || contentType === '')) {
      const m = /<meta[^>]+charset=["']?([\w-]+)/i.exec(raw.subarray(0, 2048).toString('latin1'));
      if (m) charset = m[1]!.toLowerCase();
    }
    if (looksBinary(raw)) throw new Failure('not_text', `binary content served as ${contentType || 'unknown type'}`);
    return { ok: true, status: res.statusCode, contentType, charset, body: decodeText(raw, charset), bytes: raw.length };
  }
}

function decode(body: Readable, encoding: string): Readable {
  if (encoding === 'gzip' || encoding === 'x-gzip') return body.pipe(createGunzip());
  if (encoding === 'deflate') return body.pipe(createInflate());
  if (encoding === 'br') return body.pipe(createBrotliDecompress());
  return body;
}

async function readLimited(stream: Readable, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > max) {
      stream.destroy();
      throw new Failure('too_large', tooLarge(max));
    }
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}

function tooLarge(max: number, declared?: number): string {
  const mb = (n: number) => `${Math.round((n / 2 ** 20) * 10) / 10} MB`;
  return `body larger than the ${mb(max)} limit${declared ? ` (${mb(declared)} declared)` : ''}: skipped (DOCTOR_MAX_PAGE_BYTES)`;
}

/** NUL bytes or mostly control characters in the first KB: not text, whatever the Content-Type says. */
function looksBinary(buf: Buffer): boolean {
  const n = Math.min(buf.length, 1024);
  if (n === 0) return false;
  let control = 0;
  for (let i = 0; i < n; i++) {
    const b = buf[i]!;
    if (b === 0) return true;
    if (b < 9 || (b > 13 && b < 32)) control++;
  }
  return control / n > 0.1;
}

function decodeText(buf: Buffer, charset?: string): string {
  try {
    return new TextDecoder(charset || 'utf-8', { fatal: false }).decode(buf);
  } catch {
    return new TextDecoder('utf-8', { fatal: false }).decode(buf); // unknown charset label
  }
}

function toFailure(e: unknown, o: { timeoutMs: number }): Failure {
  if (e instanceof Failure) return e;
  const err = e as Error & { code?: string; cause?: Error & { code?: string } };
  const code = err.code ?? err.cause?.code;
  if (err.name === 'BlockedAddressError' || code === 'EBLOCKEDADDRESS' || err.cause?.name === 'BlockedAddressError') {
    return new Failure('blocked_address', (err.cause?.name === 'BlockedAddressError' ? err.cause : err).message);
  }
  if (err.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new Failure('timeout', `no answer within ${o.timeoutMs} ms (DOCTOR_REQUEST_TIMEOUT_MS)`);
  }
  return new Failure('network', `network error: ${err.message}${code ? ` (${code})` : ''}`);
}
