/**
 * Embeddings from any OpenAI-compatible `/embeddings` endpoint (OpenAI, Azure-style bases, Ollama `/v1`,
 * LM Studio, vLLM). Batches by count and size (splitting a batch the server refuses as too large), bounded
 * concurrency, keeps input order, retries with backoff on 408/409/429/5xx and network errors (honouring
 * Retry-After), and refuses malformed answers (wrong count, wrong dimension, non-finite numbers, zero
 * vectors, redirects, oversized bodies) instead of storing them.
 */
import { EmbeddingError, type Embedder, type EmbedOptions } from './embedder.js';

/** Output sizes of OpenAI's embedding models when no `dimensions` is requested. */
export const KNOWN_DIMENSIONS: Readonly<Record<string, number>> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
};

export const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
export const DEFAULT_MODEL = 'text-embedding-3-small';

export interface OpenAIEmbedderOptions {
  /** Sent as `Authorization: Bearer` (and `api-key` for Azure-style bases). Local servers may need none. */
  apiKey?: string;
  /** Base URL of the API; `/embeddings` is appended to its path (a query such as `?api-version=` is kept). */
  baseUrl?: string;
  model?: string;
  /**
   * Size of the vectors. Required for models not in KNOWN_DIMENSIONS (see `probeDimension`). For
   * text-embedding-3-* a size below the model's default is requested with `dimensions`.
   */
  dimension?: number;
  /** Most texts in one request (default 256). */
  maxBatchTexts?: number;
  /** Most characters in one request (default 250,000, well inside OpenAI's per-request token limit). */
  maxBatchChars?: number;
  /** Requests in flight at once (default 2). */
  concurrency?: number;
  /** Retries of one request after 408/409/429/5xx or a network error (default 5). */
  maxRetries?: number;
  /** Time allowed for one request, answer included (default 60 s). */
  timeoutMs?: number;
  /**
   * Time allowed for embedding a search query, retries and waits included (default 20 s): a search
   * gives up then instead of waiting through the retries a crawl's batches get.
   */
  queryTimeoutMs?: number;
  /**
   * Longest text sent, in estimated tokens (default 8,000; OpenAI's models take 8,191). Longer texts are
   * cut. When a server with a smaller context still refuses a text as too long, the texts are cut
   * further and the request is sent again.
   */
  maxTextTokens?: number;
}

type Settings = Required<Omit<OpenAIEmbedderOptions, 'apiKey' | 'dimension'>> & { apiKey?: string };

/** The longest wait honoured from a Retry-After header, and the longest backoff. */
const MAX_WAIT_MS = 60_000;
/** Shortest length texts are cut to when a server keeps refusing them as too long. */
const MIN_CUT_CHARS = 256;

export class OpenAIEmbedder implements Embedder {
  readonly provider = 'openai';
  readonly model: string;
  readonly dimension: number;
  private readonly client: Client;

  constructor(opts: OpenAIEmbedderOptions = {}) {
    const s = settings(opts);
    this.model = s.model;
    const known = KNOWN_DIMENSIONS[this.model];
    const dim = opts.dimension ?? known;
    if (dim === undefined) {
      throw new EmbeddingError(
        'model',
        `the vector size of embedding model "${this.model}" is unknown: set DOCTOR_EMBEDDING_DIM to the size of its vectors (e.g. 768 for nomic-embed-text, 1024 for mxbai-embed-large).`,
      );
    }
    if (!Number.isInteger(dim) || dim < 1 || dim > 65536) {
      throw new EmbeddingError('model', `the embedding dimension must be an integer from 1 to 65536 (got ${dim}): fix DOCTOR_EMBEDDING_DIM.`);
    }
    const shortenable = known !== undefined && this.model.startsWith('text-embedding-3');
    if (known !== undefined && dim !== known) {
      if (!shortenable) {
        throw new EmbeddingError('model', `${this.model} always returns ${known}-dimensional vectors; it cannot make ${dim}: unset DOCTOR_EMBEDDING_DIM or set it to ${known}.`);
      }
      if (dim > known) {
        throw new EmbeddingError('model', `${this.model} makes at most ${known} dimensions (asked for ${dim}): set DOCTOR_EMBEDDING_DIM to ${known} or less.`);
      }
    }
    this.dimension = dim;
    this.client = new Client(s, shortenable && dim !== known ? dim : undefined);
  }

  async embed(texts: string[], opts: EmbedOptions = {}): Promise<Float32Array[]> {
    opts.signal?.throwIfAborted();
    if (texts.length === 0) return [];
    const deadline = opts.input === 'query' ? Date.now() + this.client.s.queryTimeoutMs : undefined;
    const batches = this.client.batches(texts.map((t) => this.client.prepare(t)));
    const out: Float32Array[][] = new Array(batches.length);
    // One failure stops the rest: no new batches start and requests in flight are aborted.
    const stop = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
    let next = 0;
    let failure: { error: unknown } | undefined;
    const worker = async () => {
      while (next < batches.length && !failure) {
        const i = next++;
        try {
          out[i] = await this.client.embedBatch(batches[i]!, this.dimension, signal, deadline);
        } catch (error) {
          failure ??= { error };
          stop.abort();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.client.s.concurrency, batches.length) }, worker));
    if (failure) {
      opts.signal?.throwIfAborted();
      throw failure.error;
    }
    return out.flat();
  }
}

/**
 * Asks the endpoint for one embedding and returns its length: the dimension of a model that is not in
 * KNOWN_DIMENSIONS (e.g. a local model on Ollama or LM Studio). Errors are the same as `embed`'s.
 */
export async function probeDimension(opts: Omit<OpenAIEmbedderOptions, 'dimension'> = {}, signal?: AbortSignal): Promise<number> {
  const client = new Client(settings(opts), undefined);
  const [v] = await client.embedBatch(['dimension probe'], undefined, signal);
  if (!v || v.length === 0) {
    throw new EmbeddingError('invalid_response', `the embeddings API at ${client.s.baseUrl} returned an empty vector for model "${client.s.model}".`);
  }
  return v.length;
}

function settings(opts: OpenAIEmbedderOptions): Settings {
  const s: Settings = {
    apiKey: opts.apiKey || undefined,
    baseUrl: (opts.baseUrl ?? DEFAULT_BASE_URL).trim(),
    model: opts.model ?? DEFAULT_MODEL,
    maxBatchTexts: opts.maxBatchTexts ?? 256,
    maxBatchChars: opts.maxBatchChars ?? 250_000,
    concurrency: opts.concurrency ?? 2,
    maxRetries: opts.maxRetries ?? 5,
    timeoutMs: opts.timeoutMs ?? 60_000,
    queryTimeoutMs: opts.queryTimeoutMs ?? 20_000,
    maxTextTokens: opts.maxTextTokens ?? 8_000,
  };
  for (const key of ['maxBatchTexts', 'maxBatchChars', 'concurrency', 'timeoutMs', 'queryTimeoutMs', 'maxTextTokens'] as const) {
    if (!Number.isInteger(s[key]) || s[key] < 1) throw new RangeError(`embedder option ${key} must be a positive integer (got ${s[key]})`);
  }
  if (!Number.isInteger(s.maxRetries) || s.maxRetries < 0) throw new RangeError(`embedder option maxRetries must be an integer >= 0 (got ${s.maxRetries})`);
  return s;
}

/** One endpoint: builds requests, retries them, checks answers. */
class Client {
  readonly url: string;
  /** Texts are cut to this many characters after a server refused longer ones (shared by all batches). */
  private cutChars = Infinity;
  /** Bytes of a request body the server refused as too large (413, e.g. a proxy's limit): larger batches are split before sending. */
  private tooLargeBytes = Infinity;

  constructor(
    readonly s: Settings,
    private readonly sendDimensions: number | undefined,
  ) {
    this.url = embeddingsUrl(s.baseUrl);
  }

  /** The text as sent: cut to the token budget (and any smaller limit learnt from the server); never empty. */
  prepare(text: string): string {
    let t = truncateToTokens(text, this.s.maxTextTokens);
    if (t.length > this.cutChars) t = cutAt(t, this.cutChars);
    // OpenAI refuses empty strings in `input`.
    return t.length ? t : ' ';
  }

  batches(texts: string[]): string[][] {
    const batches: string[][] = [];
    let cur: string[] = [];
    let chars = 0;
    for (const t of texts) {
      if (cur.length && (cur.length >= this.s.maxBatchTexts || chars + t.length > this.s.maxBatchChars)) {
        batches.push(cur);
        cur = [];
        chars = 0;
      }
      cur.push(t);
      chars += t.length;
    }
    if (cur.length) batches.push(cur);
    return batches;
  }

  /**
   * POSTs one batch, retrying what can be retried (no wait or request past `deadline`, a time in ms, when
   * given); returns one checked vector per input, in input order.
   */
  async embedBatch(input: string[], dimension: number | undefined, signal?: AbortSignal, deadline = Infinity): Promise<Float32Array[]> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.s.apiKey) {
      headers.authorization = `Bearer ${this.s.apiKey}`;
      headers['api-key'] = this.s.apiKey; // Azure-style bases read this header
    }
    const canRetry = (attempt: number, wait: number) => attempt < this.s.maxRetries && Date.now() + wait < deadline;
    let timeouts = 0;
    for (let attempt = 0; ; attempt++) {
      if (input.some((t) => t.length > this.cutChars)) input = input.map((t) => this.prepare(t));
      const body = JSON.stringify({ model: this.s.model, input, ...(this.sendDimensions !== undefined ? { dimensions: this.sendDimensions } : {}) });
      const bytes = Buffer.byteLength(body);
      if (input.length > 1 && bytes >= this.tooLargeBytes) return this.embedHalves(input, dimension, signal, deadline);
      signal?.throwIfAborted();
      let res: Response;
      let text: string | undefined;
      const allowedMs = Math.max(1, Math.min(this.s.timeoutMs, deadline - Date.now()));
      const timeout = AbortSignal.timeout(allowedMs);
      const limit = answerLimit(input.length, dimension);
      try {
        // Redirects are not followed: fetch would send the api-key header (and a 307/308 the texts) to wherever they point.
        res = await fetch(this.url, { method: 'POST', headers, body, redirect: 'manual', signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
        text = await readCapped(res, limit);
      } catch (e) {
        signal?.throwIfAborted();
        const wait = backoff(attempt);
        // A request that got no answer in all the time it had is tried once more, not maxRetries times: an API
        // that accepts connections and never answers held each page of a crawl for 6 minutes (6 x 60 s).
        if (timeout.aborted) timeouts++;
        if (timeouts < 2 && canRetry(attempt, wait)) {
          await sleep(wait, signal);
          continue;
        }
        const tries = `${attempt + 1} attempt${attempt ? 's' : ''}`;
        throw new EmbeddingError(
          'network',
          timeout.aborted
            ? `the embeddings API at ${this.url} did not answer within ${Math.round(allowedMs / 1000)} s (${tries}): check that the server at OPENAI_BASE_URL is running and not overloaded.`
            : `cannot reach the embeddings API at ${this.url} (${networkReason(e)}; ${tries}): check OPENAI_BASE_URL and that the server is running.`,
        );
      }
      if (text === undefined) {
        throw new EmbeddingError(
          'invalid_response',
          `the embeddings API at ${this.s.baseUrl} answered ${res.status} with more than ${Math.round(limit / 1e6)} MB for ${input.length} text${input.length === 1 ? '' : 's'}, far more than embeddings take: check that OPENAI_BASE_URL is an OpenAI-compatible embeddings API.`,
        );
      }
      if (res.ok) return this.parse(text, input.length, dimension);
      if (res.status >= 300 && res.status < 400) throw this.redirectError(res);
      const detail = errorDetail(text);
      const wait = retryAfterMs(res.headers) ?? backoff(attempt);
      if (retryable(res.status) && canRetry(attempt, wait)) {
        await sleep(wait, signal);
        continue;
      }
      if (res.status === 413) {
        this.tooLargeBytes = Math.min(this.tooLargeBytes, bytes);
        if (input.length > 1) return this.embedHalves(input, dimension, signal, deadline);
      }
      if ((res.status === 400 && isTooLong(detail)) || res.status === 413) {
        const longest = Math.max(...input.map((t) => t.length));
        if (longest > MIN_CUT_CHARS) {
          this.cutChars = Math.min(this.cutChars, Math.max(MIN_CUT_CHARS, Math.floor(longest / 2)));
          attempt--; // cutting is progress, not a failed attempt
          continue;
        }
      }
      throw this.httpError(res.status, detail, attempt);
    }
  }

  /** Embeds a batch the server finds too large as two halves, one after the other. */
  private async embedHalves(input: string[], dimension: number | undefined, signal: AbortSignal | undefined, deadline: number): Promise<Float32Array[]> {
    const half = Math.ceil(input.length / 2);
    const first = await this.embedBatch(input.slice(0, half), dimension, signal, deadline);
    return [...first, ...(await this.embedBatch(input.slice(half), dimension, signal, deadline))];
  }

  private redirectError(res: Response): EmbeddingError {
    let to = res.headers.get('location') ?? '';
    try {
      to = new URL(to, this.url).toString();
    } catch {
      // keep it as sent
    }
    return new EmbeddingError(
      'network',
      `the embeddings API at ${this.s.baseUrl} answered ${res.status}, a redirect${to ? ` to ${JSON.stringify(to.slice(0, 300))}` : ''}; Doctor does not follow it (the key would go along): set OPENAI_BASE_URL to the embeddings API's own address.`,
    );
  }

  private httpError(status: number, detail: string, retries: number): EmbeddingError {
    const base = this.s.baseUrl;
    const said = `${status}${detail ? `: ${detail}` : ''}`;
    if (status === 401 || status === 403) {
      return new EmbeddingError(
        'auth',
        this.s.apiKey
          ? `the embeddings API at ${base} rejected the key (${said}): set OPENAI_API_KEY to a valid key.`
          : `the embeddings API at ${base} needs a key (${said}): set OPENAI_API_KEY.`,
      );
    }
    if (status === 404 || (status >= 400 && status < 500 && status !== 429 && isUnknownModel(detail))) {
      return new EmbeddingError(
        'model',
        `unknown model "${this.s.model}" at ${base} (${said}): set DOCTOR_EMBEDDING_MODEL to an embedding model this endpoint serves${
          status === 404 && !isUnknownModel(detail) ? `, and check that OPENAI_BASE_URL is right (POST ${this.url} was not found)` : ''
        }.`,
      );
    }
    if (status === 429) {
      return new EmbeddingError('rate_limit', `the embeddings API at ${base} is still rate limiting after ${retries} retries (${said}): wait and run again, or raise the account's limits.`);
    }
    if (status === 413) {
      return new EmbeddingError(
        'server',
        `the embeddings API at ${base} refused even one short text as too large (${said}): raise the request size limit of the server or of the proxy in front of it (e.g. nginx client_max_body_size).`,
      );
    }
    if (status >= 500) {
      return new EmbeddingError('server', `the embeddings API at ${base} answered ${said} after ${retries} retries: try again later.`);
    }
    return new EmbeddingError('server', `the embeddings API at ${base} refused the request (${said}).`);
  }

  private parse(text: string, expected: number, dimension: number | undefined): Float32Array[] {
    const where = `the embeddings API at ${this.s.baseUrl} (model "${this.s.model}")`;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new EmbeddingError('invalid_response', `${where} answered with something that is not JSON: ${JSON.stringify(text.slice(0, 120))}.`);
    }
    const items = (body as { data?: unknown } | null)?.data;
    if (!Array.isArray(items)) throw new EmbeddingError('invalid_response', `${where} answered without a "data" list of embeddings.`);
    if (items.length !== expected) {
      throw new EmbeddingError('invalid_response', `${where} returned ${items.length} embeddings for ${expected} texts.`);
    }
    // Order by `index` when the server gives one (it may answer out of order); it must name each input once.
    const ordered: unknown[] = new Array(expected);
    const indexed = items.some((it) => typeof (it as { index?: unknown })?.index === 'number');
    items.forEach((item, pos) => {
      const index = indexed ? (item as { index?: unknown })?.index : pos;
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= expected || ordered[index] !== undefined) {
        throw new EmbeddingError('invalid_response', `${where} returned a missing, repeated or out-of-range index (${JSON.stringify(index)}) for ${expected} texts.`);
      }
      ordered[index] = (item as { embedding?: unknown })?.embedding;
    });
    // OpenAI's encoding_format "base64" (packed little-endian float32): some servers and proxies answer so unasked
    const lists = ordered.map((e, i) => (typeof e === 'string' ? base64Floats(e, `${where}: embedding #${i}`) : e));
    const first = (lists[0] as ArrayLike<unknown> | undefined)?.length;
    return lists.map((e, i) => {
      if (!Array.isArray(e) && !(e instanceof Float32Array)) {
        throw new EmbeddingError('invalid_response', `${where}: embedding #${i} is not a list of numbers (nor base64-encoded floats).`);
      }
      const want = dimension ?? first;
      if (e.length !== want) {
        throw new EmbeddingError(
          'invalid_response',
          dimension !== undefined
            ? `${where}: embedding #${i} has ${e.length} dimensions, expected ${dimension} (set DOCTOR_EMBEDDING_DIM to the model's size, or use the model this database was built with).`
            : `${where}: embeddings of different sizes (${first} and ${e.length}).`,
        );
      }
      const v = new Float32Array(e.length);
      let zero = true;
      for (let j = 0; j < e.length; j++) {
        const x: unknown = e[j];
        if (typeof x !== 'number' || !Number.isFinite(Math.fround(x))) {
          // (beyond ±3.4e38 a stored 32-bit value is infinite)
          throw new EmbeddingError('invalid_response', `${where}: embedding #${i} has a non-finite value (${JSON.stringify(x) ?? String(x)}) at position ${j}.`);
        }
        v[j] = x;
        if (v[j] !== 0) zero = false;
      }
      // Cosine similarity is undefined for a zero vector: the store would refuse it, without naming the API.
      if (zero && v.length > 0) throw new EmbeddingError('invalid_response', `${where}: embedding #${i} is all zeros, which no search can compare.`);
      return v;
    });
  }
}

/** `${base}/embeddings`, keeping a query string (Azure's `?api-version=`); a base already ending in /embeddings is used as is. */
export function embeddingsUrl(baseUrl: string): string {
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch {
    throw new EmbeddingError('network', `the embeddings base URL ${JSON.stringify(baseUrl)} is not a URL: set OPENAI_BASE_URL to e.g. https://api.openai.com/v1 or http://localhost:11434/v1.`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new EmbeddingError('network', `the embeddings base URL must be http(s) (got ${u.protocol}): fix OPENAI_BASE_URL.`);
  }
  const path = u.pathname.replace(/\/+$/, '');
  if (!/\/embeddings$/.test(path)) u.pathname = `${path}/embeddings`;
  return u.toString();
}

/**
 * Cuts a text to about `maxTokens` tokens, estimated cautiously without a tokenizer: 3 ASCII characters
 * per token (English runs about 4, code about 3), 1 token per other character (CJK runs 1-2 per token).
 */
export function truncateToTokens(text: string, maxTokens: number): string {
  if (text.length <= maxTokens) return text;
  const budget = maxTokens * 3;
  let cost = 0;
  for (let i = 0; i < text.length; i++) {
    cost += text.charCodeAt(i) < 128 ? 1 : 3;
    if (cost > budget) return cutAt(text, i);
  }
  return text;
}

/** text.slice(0, n) without splitting a surrogate pair. */
/**
 * The floats of an embedding sent as base64 (OpenAI's `encoding_format: "base64"`: little-endian float32 bytes),
 * or an error naming `what` when the string is not that.
 */
function base64Floats(text: string, what: string): Float32Array {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new EmbeddingError('invalid_response', `${what} is a string that is not base64 (${JSON.stringify(text.slice(0, 40))}), nor a list of numbers.`);
  }
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 4 !== 0) {
    throw new EmbeddingError('invalid_response', `${what} is base64 of ${bytes.length} bytes, not of 32-bit floats (a multiple of 4 bytes).`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const out = new Float32Array(bytes.length / 4);
  for (let j = 0; j < out.length; j++) out[j] = view.getFloat32(j * 4, true);
  return out;
}

function cutAt(text: string, n: number): string {
  const c = text.charCodeAt(n - 1);
  return text.slice(0, c >= 0xd800 && c <= 0xdbff ? n - 1 : n);
}

/**
 * The most bytes read of one answer: generous for `texts` embeddings written as JSON numbers (under 40
 * characters each), far below what an endless or compressed-bomb answer would fill memory with.
 */
function answerLimit(texts: number, dimension: number | undefined): number {
  return 1_000_000 + texts * (dimension ?? 65_536) * 40;
}

/** The answer's body as text, or undefined (the rest left unread) when it is longer than `limit` bytes, decompressed. */
async function readCapped(res: Response, limit: number): Promise<string | undefined> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    parts.push(value);
  }
  return Buffer.concat(parts).toString('utf8');
}

function retryable(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

function isUnknownModel(detail: string): boolean {
  return /model_not_found|(model|deployment).{0,80}(not found|does not exist|doesn't exist|not exist|unknown|not available|no such)|(unknown|invalid|no such) (embedding )?model|try pulling it/i.test(
    detail,
  );
}

function isTooLong(detail: string): boolean {
  return /context length|context window|too many tokens|maximum.{0,40}tokens|input.{0,40}(too long|length)|exceeds?.{0,40}(token|length|limit)/i.test(detail);
}

/** The message in an error body (OpenAI `{error: {message, code}}`, Ollama `{error: "..."}`, or plain text), on one line, control characters escaped. */
function errorDetail(text: string): string {
  let out: string;
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown; code?: unknown } | string; message?: unknown; detail?: unknown };
    if (typeof j.error === 'string') out = j.error;
    else {
      const msg = j.error?.message ?? j.message ?? j.detail;
      const code = j.error?.code;
      out = [typeof msg === 'string' ? msg : msg === undefined ? '' : JSON.stringify(msg), typeof code === 'string' && !String(msg).includes(code) ? `(${code})` : '']
        .filter(Boolean)
        .join(' ');
    }
  } catch {
    out = text;
  }
  // Control characters are shown escaped: terminal escape sequences in the answer must not reach the user's terminal or the logs.
  out = out.replace(/\s+/g, ' ').trim().replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return out.length > 300 ? `${out.slice(0, 300)}…` : out;
}

function networkReason(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  const cause = err.cause?.code ?? err.cause?.message;
  return [err.message ?? String(e), cause].filter(Boolean).join(': ');
}

/** Exponential backoff with jitter: attempt 0 waits 0.25-0.5 s, then doubling, capped. */
function backoff(attempt: number): number {
  const base = Math.min(MAX_WAIT_MS, 500 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

/** The wait a 429/503 asks for, in ms: `retry-after-ms`, or `Retry-After` in seconds or as an HTTP date; capped at 60 s; undefined for anything else (a negative number). */
export function retryAfterMs(headers: Headers): number | undefined {
  const ms = Number(headers.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return Math.min(MAX_WAIT_MS, ms);
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  // Only a name-bearing HTTP date is parsed as one: Date.parse reads "-5" as a day in 2001 (a wait of 0).
  const secs = /^\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : /[a-z]/i.test(value) ? Date.parse(value) - Date.now() : NaN;
  return Number.isFinite(secs) ? Math.min(MAX_WAIT_MS, Math.max(0, secs)) : undefined;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
