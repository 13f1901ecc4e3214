/**
 * Qdrant's REST API (port 6333), following its published API: GET /collections/{name}, POST
 * .../points/count, .../points/scroll and .../points (retrieve), answers in the `{result, status, time}`
 * envelope. Requests go through undici; answers with points are read from their bytes (rest-json.ts), the
 * hot path of a migration, and integer ids above 2^53 travel exactly both ways.
 */
import { Agent, request } from 'undici';
import { MigrationError } from './errors.js';
import type { PointId } from './points.js';
import { parseRetrieveAnswer, parseScrollAnswer } from './rest-json.js';
import type { CollectionInfo, ErrorClass, QdrantSource, RawPoint, SourceConfig, VectorParams } from './source.js';

/**
 * A vector's size and distance as the collection info gives them, and nothing else of it: the info goes to
 * the migration's main thread as a message, and a hostile answer's other fields may be nested too deep to copy.
 * A value that is not a plain one (an object where a number or a name belongs) is named by its kind.
 */
function vectorParams(v: unknown): VectorParams {
  const o = (v !== null && typeof v === 'object' ? v : {}) as Record<string, unknown>;
  const plain = (x: unknown) => (x !== null && typeof x === 'object' ? (Array.isArray(x) ? '(an array)' : '(an object)') : x);
  return { size: plain(o.size), distance: plain(o.distance) } as VectorParams;
}

/** An HTTP answer other than 200, with its status for the retry policy. */
export class QdrantHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** JSON with BigInts written as plain integers (ids above 2^53). */
const toJson = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `\u0000${x}\u0000` : x)).replace(/"\\u0000(\d+)\\u0000"/g, '$1');

/** An answer larger than any Qdrant sends for the request (see answerLimit); not retried. */
export class AnswerTooLargeError extends MigrationError {}

/** An answer that did not arrive whole within its deadline (a server trickling bytes, never idle long). */
export class SlowAnswerError extends Error {}

/**
 * Most bytes read of one answer. Without a bound, a server (or something else at that address) that sent an
 * endless body made the reader buffer it until the process ran out of memory, and a content-length of 1 TB
 * was allocated, or failed as "cannot reach Qdrant". A scroll page is bounded by its points: a component
 * takes at most ~16 characters of JSON ("-0.0012345678," and the like), and each point gets 64 KiB for its
 * id and payload, on top of 64 MiB for the page; other answers (collection info, count) by 16 MiB.
 */
export function answerLimit(points = 0, dimension = 0): number {
  return points > 0 ? 64 * 2 ** 20 + points * (Math.max(dimension, 1) * 32 + 64 * 1024) : 16 * 2 ** 20;
}

/**
 * The whole body in one buffer: copied once into a buffer of the announced length when there is one, into
 * `scratch` when it is large enough (see RestSource.scratch), else into a new one. More than `limit` bytes
 * (announced or sent) is refused with `tooLarge()`.
 */
async function readBody(body: AsyncIterable<Uint8Array> & { destroy(): void }, length: number, limit: number, tooLarge: () => Error, scratch?: Uint8Array): Promise<Uint8Array> {
  if (Number.isSafeInteger(length) && length >= 0) {
    if (length > limit) {
      body.destroy();
      throw tooLarge();
    }
    const out = scratch && scratch.length >= length ? scratch.subarray(0, length) : new Uint8Array(length);
    let at = 0;
    for await (const chunk of body) {
      if (at + chunk.length > length) throw new SyntaxError('the answer is longer than its content-length');
      out.set(chunk, at);
      at += chunk.length;
    }
    return at === length ? out : out.subarray(0, at);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > limit) throw tooLarge(); // leaving the loop destroys the stream
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export class RestSource implements QdrantSource {
  private readonly agent: Agent;
  private readonly base: string;
  /** The longest a whole answer may take (see SourceConfig.timeoutMs). */
  private readonly answerMs: number;

  constructor(readonly config: SourceConfig) {
    const timeout = config.timeoutMs ?? 60_000;
    this.answerMs = 2 * timeout;
    this.agent = new Agent({ headersTimeout: timeout, bodyTimeout: timeout, connections: 4 });
    this.base = config.url.replace(/\/+$/, '');
  }

  /**
   * The buffer scroll answers are read into, reused from page to page: a fresh 3 MB buffer per page cost
   * ~40 µs per 1536-d point in page faults (profile of a migration). Safe because a page is parsed into
   * values of its own (rest-json.ts) before the next request starts.
   */
  private scratch: Uint8Array | undefined;

  private async call(method: 'GET' | 'POST', path: string, body?: unknown, reuse = false, limit = answerLimit(), hint = ''): Promise<Uint8Array> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.config.apiKey) headers['api-key'] = this.config.apiKey;
    const deadline = AbortSignal.timeout(this.answerMs);
    try {
      return await this.send(method, path, headers, body, reuse, limit, hint, deadline);
    } catch (e) {
      if (!deadline.aborted) throw e;
      throw new SlowAnswerError(`${method} ${path} was not answered whole within ${this.answerMs / 1000} s`);
    }
  }

  private async send(method: 'GET' | 'POST', path: string, headers: Record<string, string>, body: unknown, reuse: boolean, limit: number, hint: string, deadline: AbortSignal): Promise<Uint8Array> {
    const res = await request(`${this.base}${path}`, { method, headers, body: body === undefined ? undefined : toJson(body), dispatcher: this.agent, signal: deadline });
    const length = Number(res.headers['content-length'] ?? NaN);
    const tooLarge = () =>
      new AnswerTooLargeError(
        `${this.base} answered ${method} ${path} with more than ${Math.round(limit / 2 ** 20)} MiB${Number.isSafeInteger(length) ? ` (content-length ${length})` : ''}, ` +
          `more than Qdrant sends for that request, so the answer was not read${hint}. Nothing after the last committed batch was written.`,
      );
    if (reuse && Number.isSafeInteger(length) && length <= limit && length > (this.scratch?.length ?? 0)) this.scratch = new Uint8Array(Math.ceil(length * 1.25));
    const bytes = await readBody(res.body, length, limit, tooLarge, reuse ? this.scratch : undefined);
    if (res.statusCode !== 200) {
      let detail = Buffer.from(bytes).toString('utf8').slice(0, 300);
      try {
        const e = JSON.parse(detail) as { status?: { error?: string } };
        if (e.status?.error) detail = e.status.error;
      } catch {
        /* not JSON: keep the text */
      }
      throw new QdrantHttpError(res.statusCode, detail || `HTTP ${res.statusCode}`);
    }
    return bytes;
  }

  /**
   * The `result` of an answer. An answer without one, or (see `shaped`) with another shape than Qdrant's, is a
   * SyntaxError like unparsable JSON: retried, then reported as a malformed answer. (Read as it came, a
   * `{"result": null}` failed with a TypeError, reported as "cannot reach Qdrant ... Is it running?".)
   */
  private async result<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const answer = JSON.parse(Buffer.from(await this.call(method, path, body)).toString('utf8')) as unknown;
    if (!answer || typeof answer !== 'object' || !('result' in answer)) throw new SyntaxError(`the answer to ${method} ${path} has no "result"`);
    return (answer as { result: T }).result;
  }

  private path(collection: string, tail = ''): string {
    return `/collections/${encodeURIComponent(collection)}${tail}`;
  }

  async collectionInfo(collection: string): Promise<CollectionInfo> {
    const info = await this.result<{ points_count?: number; config?: { params?: { vectors?: unknown } } } | null>('GET', this.path(collection));
    if (!info || typeof info !== 'object') throw new SyntaxError(`the collection info is ${JSON.stringify(info)}, not an object`);
    const vectors = info.config?.params?.vectors;
    let out: CollectionInfo['vectors'];
    if (vectors && typeof vectors === 'object' && 'size' in vectors) out = vectorParams(vectors);
    else if (vectors && typeof vectors === 'object') out = Object.fromEntries(Object.entries(vectors).map(([k, v]) => [k, vectorParams(v)]));
    return { vectors: out, pointsCount: Number(info.points_count ?? 0) };
  }

  async count(collection: string): Promise<number> {
    const r = await this.result<{ count?: unknown } | null>('POST', this.path(collection, '/points/count'), { exact: true });
    const n = r?.count;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new SyntaxError(`the point count is ${JSON.stringify(n)?.slice(0, 40)}, not a number of points`);
    return n;
  }

  async scroll(collection: string, args: { offset: PointId | null; limit: number; vectorName?: string; dimension?: number }) {
    const body = { limit: args.limit, offset: args.offset ?? undefined, with_payload: true, with_vector: args.vectorName ? [args.vectorName] : true };
    // The offset comes after the points in Qdrant's JSON: the page is parsed here (inside the retries: a
    // malformed answer is asked for again).
    const hint = `: if the collection's payloads are that large, lower --batch-size (${args.limit} points per request now); else check what answers at that address`;
    const answer = await this.call('POST', this.path(collection, '/points/scroll'), body, true, answerLimit(args.limit, args.dimension), hint);
    const page = parseScrollAnswer(answer, args.vectorName, args.dimension, args.limit);
    return { next: page.next, points: () => page };
  }

  async retrieve(collection: string, ids: PointId[], vectorName?: string): Promise<RawPoint[]> {
    const body = { ids, with_payload: false, with_vector: vectorName ? [vectorName] : true };
    return parseRetrieveAnswer(await this.call('POST', this.path(collection, '/points'), body, false, answerLimit(ids.length, 65536)), vectorName);
  }

  classify(e: unknown): ErrorClass {
    if (e instanceof SlowAnswerError) return { transient: true, kind: 'other', status: 'too slowly' };
    if (!(e instanceof QdrantHttpError)) {
      // no answer (refused, reset, timed out) or an unreadable one: worth another try
      return { transient: true, kind: e instanceof SyntaxError ? 'other' : 'unreachable', status: e instanceof SyntaxError ? 'with malformed JSON' : 'no answer' };
    }
    const s = e.status;
    const kind = s === 404 ? 'not-found' : s === 401 || s === 403 ? 'auth' : 'other';
    return { transient: s === 429 || s >= 500, kind, status: String(s) };
  }

  close(): void {
    void this.agent.close();
  }
}
