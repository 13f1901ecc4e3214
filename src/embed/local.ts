/**
 * The `local` embedding provider: a sentence-embedding model run in process by transformers.js on ONNX
 * Runtime (CPU), in a worker thread, so that requests are never blocked by tokenising or inference.
 *
 * - Texts get the model's query or document prefix, are cut to a bound, sorted by length and sent in
 *   batches (less padding); results come back in input order.
 * - Queries go ahead of queued document batches: a search waits for at most the batch in flight.
 * - Vectors are pooled as the model card asks (mean over real tokens, or the CLS token) and L2-normalised.
 * - A request the worker refuses (bad input) fails alone; a worker that dies is restarted (the model is
 *   loaded again) on the next request.
 * - Loading plus the first text, and each batch after, have a deadline (timeoutMs): ONNX Runtime cannot
 *   interrupt a model, so a call past it fails, and later calls fail at once while the thread is still busy
 *   with it; a thread that never gets free is given up at close (stuck-threads.ts).
 * - The model's files are read from one directory and nothing else: no network, unless they are missing
 *   and downloading is allowed (downloadModel).
 */
import { availableParallelism } from 'node:os';
import { EmbeddingError, type Embedder, type EmbedOptions } from './embedder.js';
import { missingModelMessage, modelFiles, type LocalModel } from './local-models.js';
import type { DownloadProgress, DownloadSpec, EmbedResult, LoadSpec, WorkerReply, WorkerRequest } from './local-protocol.js';
import { noteStuckThread } from '../stuck-threads.js';
import { askToStop, startWorker, stopWorker } from '../worker-thread.js';

export type { DownloadProgress } from './local-protocol.js';

class WorkerFailure extends Error {
  constructor(
    readonly kind: 'input' | 'runtime' | 'model' | 'network' | 'timeout',
    message: string,
    /** A timeout: the request that took too long, in words. */
    readonly what?: string,
  ) {
    super(message);
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onProgress?: (p: DownloadProgress) => void;
  timer?: NodeJS.Timeout;
}

/**
 * One worker thread: requests in, replies out, in order. Fails every pending call if the thread dies.
 * A call given a deadline fails when it passes (ONNX Runtime cannot be interrupted: the thread goes on with
 * that request); until the thread is done with it, further calls fail at once instead of queueing behind it.
 */
class WorkerHandle {
  private readonly worker = startWorker(import.meta.url, 'local-worker');
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private dead?: Error;
  private closing = false;
  /** The request that passed its deadline and still runs in the thread (its reply is no longer awaited). */
  private overdue?: { id: number; what: string; since: number };

  constructor() {
    this.worker.unref();
    this.worker.on('message', (reply: WorkerReply) => {
      if (this.overdue?.id === reply.id && !('progress' in reply)) this.overdue = undefined; // the thread is free again
      const p = this.pending.get(reply.id);
      if (!p) return;
      if ('progress' in reply) return p.onProgress?.(reply.progress);
      this.settle(reply.id, p);
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new WorkerFailure(reply.kind, reply.error));
    });
    const fail = (e: Error) => {
      this.dead ??= e;
      this.overdue = undefined;
      for (const [id, p] of this.pending) {
        this.settle(id, p);
        p.reject(e);
      }
    };
    this.worker.on('error', (e) => fail(new WorkerFailure('runtime', `the embedding worker failed: ${e.message}`)));
    this.worker.on('exit', (code) => fail(new WorkerFailure('runtime', this.closing ? 'the local embedder is closed' : `the embedding worker exited (code ${code})`)));
  }

  get alive(): boolean {
    return !this.dead;
  }

  /**
   * `what`: the request in words, for a timeout's message ("loading the model"); `timeoutMs`: its deadline
   * (none: no deadline).
   */
  call<T>(req: WorkerRequest, opts: { what?: string; timeoutMs?: number; onProgress?: (p: DownloadProgress) => void } = {}): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.overdue) {
      const { what, since } = this.overdue;
      return Promise.reject(new WorkerFailure('timeout', `an earlier request (${what}) is still running ${seconds(Date.now() - since)} after it started, past its deadline`, what));
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      // Referenced only while a reply is awaited: an idle embedder never keeps the process alive.
      if (this.pending.size === 0) this.worker.ref();
      const p: Pending = { resolve: resolve as (v: unknown) => void, reject, onProgress: opts.onProgress };
      this.pending.set(id, p);
      if (opts.timeoutMs !== undefined) {
        const what = opts.what ?? req.op;
        const since = Date.now();
        p.timer = setTimeout(() => {
          this.overdue = { id, what, since };
          this.settle(id, p);
          reject(new WorkerFailure('timeout', `${what} did not finish within ${seconds(opts.timeoutMs!)}`, what));
        }, opts.timeoutMs);
      }
      try {
        this.worker.postMessage({ ...req, id });
      } catch (e) {
        // A value that cannot be sent to a thread (a function, say): this request fails, nothing else.
        this.settle(id, p);
        reject(new WorkerFailure('input', (e as Error).message));
      }
    });
  }

  /** A call answered, failed or given up: no longer awaited. */
  private settle(id: number, p: Pending): void {
    clearTimeout(p.timer);
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  /**
   * Ends the thread once the request it runs is done (stopWorker: terminate() inside onnxruntime can abort the
   * process). A thread busy past a deadline is not waited for: it is asked to stop when its request ends,
   * which may be never, and noted as stuck (the CLI then ends the process by signal: see stuck-threads.ts).
   */
  async terminate(): Promise<void> {
    this.closing = true;
    if (this.overdue) {
      askToStop(this.worker);
      this.worker.unref();
    } else if (await stopWorker(this.worker)) return;
    noteStuckThread(`the local embedding model's thread (${this.overdue?.what ?? 'a request'}, past its deadline)`);
  }
}

export interface LocalEmbedderOptions {
  /** ONNX Runtime threads (default: the machine's cores). */
  threads?: number;
  /**
   * Texts per model call (default 8). A query waits for the batch in flight: with a model of bge-small's
   * size, 8 chunks of ~220 tokens take ~0.3 s of 2 cores, at the same CPU cost per chunk as 16
   * (bench/results/embed.md).
   */
  batchSize?: number;
  /**
   * Deadline (ms, default 120 s) for loading the model and embedding the probe text in open(), together, and
   * afterwards for each batch (a worker restart's load too). ONNX Runtime cannot interrupt a model: a call
   * past it fails, and the model's thread, still busy, is not sent more work until it is done.
   */
  timeoutMs?: number;
  /** The configured vector size (DOCTOR_EMBEDDING_DIM): checked against the model's when its settings give none. */
  dimension?: number;
}

export const DEFAULT_MODEL_TIMEOUT_MS = 120_000;

/**
 * The local model did not finish a call within its deadline (DOCTOR_MODEL_TIMEOUT_MS): its thread is still busy
 * inside ONNX Runtime and cannot be stopped, so the process can only end by signal (stuck-threads.ts).
 */
export class ModelTimeoutError extends EmbeddingError {
  override name = 'ModelTimeoutError';
  constructor(message: string) {
    super('model', message);
  }
}

interface Batch {
  texts: unknown[];
  query: boolean;
  resolve: (r: EmbedResult) => void;
  reject: (e: Error) => void;
  signal?: AbortSignal;
}

export class LocalEmbedder implements Embedder {
  readonly provider = 'local';
  readonly model: string;
  private worker?: WorkerHandle;
  private loading?: Promise<WorkerHandle>;
  private readonly queue: Batch[] = [];
  private busy = false;
  private closed = false;
  private readonly batchSize: number;
  private readonly maxChars: number;
  private readonly threads: number;
  /** The model hub, for the message about missing files. */
  private readonly host: string;
  private readonly timeoutMs: number;
  private readonly configuredDimension?: number;
  /** While open() runs: when loading and the probe must be done by (one deadline for both). */
  private openDeadline?: number;
  /** Worker threads started so far (1 + restarts after a crash). */
  workerStarts = 0;

  /** Vector size, known once open() has embedded its probe text. */
  dimension = 0;

  private constructor(
    readonly settings: LocalModel,
    opts: LocalEmbedderOptions & { host?: string },
  ) {
    this.model = settings.name;
    this.threads = opts.threads ?? Math.max(1, availableParallelism());
    this.host = opts.host ?? 'the model hub';
    this.batchSize = opts.batchSize ?? 8;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_MODEL_TIMEOUT_MS;
    this.configuredDimension = opts.dimension;
    // A token is rarely more than a few characters; a longer text would only be cut by the tokenizer
    // after paying for tokenising all of it.
    this.maxChars = settings.maxTokens * 32;
  }

  /**
   * Loads the model from its directory in a worker thread and checks it by embedding one text. Throws an
   * EmbeddingError ('model') naming the missing files when the directory is incomplete, and saying why
   * when ONNX Runtime cannot run here.
   */
  static async open(settings: LocalModel, opts: LocalEmbedderOptions & { host?: string } = {}): Promise<LocalEmbedder> {
    const embedder = new LocalEmbedder(settings, opts);
    embedder.openDeadline = Date.now() + embedder.timeoutMs;
    try {
      const [v] = await embedder.embed(['dimension probe']);
      embedder.openDeadline = undefined;
      embedder.dimension = v!.length; // checked by embed() against the size expected, if any
      return embedder;
    } catch (e) {
      await embedder.close();
      throw e;
    }
  }

  async embed(texts: string[], opts: EmbedOptions = {}): Promise<Float32Array[]> {
    opts.signal?.throwIfAborted();
    if (this.closed) throw new EmbeddingError('model', 'the local embedder is closed');
    if (!Array.isArray(texts)) throw new EmbeddingError('invalid_input', 'texts must be a list of strings');
    if (texts.length === 0) return [];
    const query = opts.input === 'query';
    const prefix = query ? this.settings.queryPrefix : this.settings.documentPrefix;
    const prepared: unknown[] = texts.map((t) => (typeof t === 'string' ? prefix + cut(t, this.maxChars) : t));
    // Similar lengths together: each batch is padded to its longest text.
    const order = prepared.map((_, i) => i).sort((a, b) => lengthOf(prepared[a]) - lengthOf(prepared[b]));
    const out: Float32Array[] = new Array(texts.length);
    const parts: Promise<void>[] = [];
    for (let start = 0; start < order.length; start += this.batchSize) {
      const idx = order.slice(start, start + this.batchSize);
      parts.push(
        this.enqueue(idx.map((i) => prepared[i]), query, opts.signal).then((r) => {
          idx.forEach((i, k) => (out[i] = r.vectors.slice(k * r.dimension, (k + 1) * r.dimension)));
        }),
      );
    }
    const results = await Promise.allSettled(parts);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw this.toEmbeddingError(failed.reason);
    for (const v of out) {
      const wrong = this.wrongDimension(v.length);
      if (wrong) throw wrong;
    }
    return out;
  }

  /**
   * The error for vectors of `got` dimensions where another size is due: the size the model made when it was
   * loaded, else the known model's, its config.json's (hidden_size), or DOCTOR_EMBEDDING_DIM; undefined when
   * `got` is right or nothing is known yet. Each case says what to do.
   */
  private wrongDimension(got: number): EmbeddingError | undefined {
    const m = this.settings;
    const expected = this.dimension || m.dimension || this.configuredDimension;
    if (expected === undefined || got === expected) return undefined;
    const makes = `the model in ${m.dir} makes ${got}-dimensional vectors`;
    const pull = m.hubId ? `delete ${m.dir} and run \`doctor models pull ${m.hubId}\` again` : undefined;
    let why: string;
    if (this.dimension) {
      why =
        `${makes} now, but made ${expected}-dimensional ones when Doctor loaded it: its files were replaced while Doctor ran ` +
        `(they are read again when the model's thread restarts). Put the model Doctor started with back in ${m.dir}, or restart Doctor ` +
        'with the new model (a database made with the old one then needs `doctor reembed`).';
    } else if (m.known) {
      why = `${m.known.id} makes ${expected}-dimensional vectors, but ${makes}: its weights are not that model's. ${pull ? capital(pull) : `Put ${m.known.id}'s own weights in ${m.dir}`}, or point DOCTOR_EMBEDDING_MODEL at another model.`;
    } else if (m.dimension) {
      why =
        `${makes}, but its config.json says ${expected} (hidden_size): the weights are not the model config.json describes. ` +
        `${pull ? capital(pull) : `Put the model's own onnx/model_quantized.onnx (or onnx/model.onnx) beside its config.json in ${m.dir}`}, or point DOCTOR_EMBEDDING_MODEL at another model.`;
    } else {
      why = `${makes}, but DOCTOR_EMBEDDING_DIM is ${expected}. Set DOCTOR_EMBEDDING_DIM=${got} (or unset it) to use this model, or point DOCTOR_EMBEDDING_MODEL at a model that makes ${expected}-dimensional vectors.`;
    }
    return new EmbeddingError('model', `local embedding model ${m.name}: ${why}`);
  }

  private enqueue(texts: unknown[], query: boolean, signal?: AbortSignal): Promise<EmbedResult> {
    return new Promise((resolve, reject) => {
      const batch: Batch = { texts, query, resolve, reject, signal };
      // Queries go before every queued document batch (after queries already waiting).
      if (query) {
        const at = this.queue.findIndex((b) => !b.query);
        this.queue.splice(at < 0 ? this.queue.length : at, 0, batch);
      } else this.queue.push(batch);
      this.pump();
    });
  }

  private pump(): void {
    if (this.busy) return;
    const batch = this.queue.shift();
    if (!batch) return;
    if (batch.signal?.aborted) {
      batch.reject(batch.signal.reason as Error);
      return this.pump();
    }
    this.busy = true;
    this.run(batch.texts)
      .then(batch.resolve, batch.reject)
      .finally(() => {
        this.busy = false;
        this.pump();
      });
  }

  private async run(texts: unknown[]): Promise<EmbedResult> {
    for (let attempt = 0; ; attempt++) {
      const worker = await this.ready();
      try {
        const what = this.openDeadline ? 'embedding a first text' : `embedding a batch of ${texts.length} text${texts.length === 1 ? '' : 's'}`;
        return await worker.call<EmbedResult>({ op: 'embed', texts, pooling: this.settings.pooling, maxTokens: this.settings.maxTokens }, { what, timeoutMs: this.timeLeft() });
      } catch (e) {
        // The thread died under this batch (killed, out of memory): once more on a fresh one.
        if (attempt === 0 && e instanceof WorkerFailure && e.kind === 'runtime' && !worker.alive && !this.closed) continue;
        throw e;
      }
    }
  }

  /** The loaded worker; started (or restarted after a crash) when needed. */
  private ready(): Promise<WorkerHandle> {
    if (this.closed) return Promise.reject(new WorkerFailure('runtime', 'the local embedder is closed'));
    if (this.worker?.alive) return Promise.resolve(this.worker);
    this.loading ??= (async () => {
      try {
        const old = this.worker;
        this.worker = undefined;
        await old?.terminate();
        const spec = this.loadSpec();
        const w = new WorkerHandle();
        this.workerStarts++;
        try {
          await w.call({ op: 'load', spec }, { what: 'loading the model', timeoutMs: this.timeLeft() });
        } catch (e) {
          await w.terminate();
          throw e;
        }
        this.worker = w;
        return w;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  /**
   * What a worker loads: the model's files as they are now. Checked first, at the start and whenever a thread
   * is started again (after a crash): files removed since Doctor started made transformers.js fail with
   * "Cannot read properties of undefined (reading 'tokenizer_class')".
   */
  private loadSpec(): LoadSpec {
    const m = this.settings;
    const files = modelFiles(m.dir);
    if (!files.weights || files.missing.length) {
      const why = this.workerStarts ? 'its files were removed while Doctor ran (they are read again whenever its thread restarts)' : 'is not downloaded automatically here';
      throw new EmbeddingError('model', missingModelMessage(m, files.missing, why, this.host));
    }
    return { dir: m.dir, dtype: files.weights.dtype, subfolder: files.weights.subfolder, threads: this.threads };
  }

  /** The deadline of the next worker call: what is left of open()'s, else one call's. */
  private timeLeft(): number {
    return this.openDeadline === undefined ? this.timeoutMs : Math.max(1, this.openDeadline - Date.now());
  }

  private toEmbeddingError(e: unknown): Error {
    if (e instanceof EmbeddingError) return e;
    if (e instanceof WorkerFailure && e.kind === 'timeout') {
      const m = this.settings;
      const slow = `the model in ${m.dir} is too slow for this machine or never finishes`;
      const what =
        this.openDeadline !== undefined
          ? `${m.name} did not load and embed a first text within ${seconds(this.timeoutMs)} (DOCTOR_MODEL_TIMEOUT_MS; it was still ${e.what}): ${slow}.`
          : `${m.name}: ${e.message} (DOCTOR_MODEL_TIMEOUT_MS=${this.timeoutMs}), and ONNX Runtime cannot interrupt a model: embedding fails until ` +
            `that request ends. ${capital(slow)} (if it never does, restart Doctor once the model is changed).`;
      return new ModelTimeoutError(
        `local embedding model ${what} Use a smaller or other model (DOCTOR_EMBEDDING_MODEL) or another provider (DOCTOR_EMBEDDING_PROVIDER), ` +
          'or raise DOCTOR_MODEL_TIMEOUT_MS if it is only slow.',
      );
    }
    if (e instanceof WorkerFailure) {
      if (e.kind === 'input') return new EmbeddingError('invalid_input', `the local embedder refused the input: ${e.message}.`);
      if (e.kind === 'runtime' && /cannot be loaded/.test(e.message)) {
        return new EmbeddingError(
          'model',
          `the local embedding provider cannot run here: ${e.message}. Use DOCTOR_EMBEDDING_PROVIDER=openai or lexical, or reinstall Doctor's dependencies (npm ci) on this machine.`,
        );
      }
      const m = this.settings;
      // The model's own files are at fault (damaged, not a model, an output Doctor cannot use): say what to do.
      const what =
        e.kind === 'model'
          ? m.hubId
            ? ` The files in ${m.dir} are damaged or not that model: delete that directory and run \`doctor models pull ${m.hubId}\` again, or set DOCTOR_EMBEDDING_PROVIDER to another provider.`
            : ` The files in ${m.dir} are damaged or not a model Doctor can use: replace them, point DOCTOR_EMBEDDING_MODEL at another model, or set DOCTOR_EMBEDDING_PROVIDER to another provider.`
          : '';
      return new EmbeddingError('model', `local embedding model ${m.name}: ${e.message.replace(/[.\s]+$/, '')}.${what}`);
    }
    return e as Error; // an abort
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const b of this.queue.splice(0)) b.reject(new WorkerFailure('runtime', 'the local embedder is closed'));
    const w = this.worker ?? (await this.loading?.catch(() => undefined));
    this.worker = undefined;
    await w?.terminate();
  }
}

/**
 * Downloads a hub model's files (tokenizer, config, quantised ONNX weights) into `<modelDir>/<hubId>/`,
 * reporting progress per file. Files already there are kept (an interrupted download resumes file by file;
 * each file is written under a temporary name and renamed when complete). Throws an EmbeddingError
 * ('network' when the hub cannot be reached, 'model' when it does not have the files).
 */
export async function downloadModel(spec: DownloadSpec, onProgress?: (p: DownloadProgress) => void): Promise<void> {
  const w = new WorkerHandle();
  try {
    await w.call({ op: 'download', spec }, { onProgress });
  } catch (e) {
    const f = e as WorkerFailure;
    const code = f.kind === 'network' ? 'network' : 'model';
    throw new EmbeddingError(code, f.kind === 'network' ? `the model hub ${spec.host} cannot be reached (${f.message})` : `the model hub ${spec.host} could not provide ${spec.hubId} (${f.message})`);
  } finally {
    await w.terminate();
  }
}

function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const c = text.charCodeAt(max - 1);
  return text.slice(0, c >= 0xd800 && c <= 0xdbff ? max - 1 : max);
}

const lengthOf = (t: unknown) => (typeof t === 'string' ? t.length : 0);

const capital = (s: string) => s[0]!.toUpperCase() + s.slice(1);

const seconds = (ms: number) => `${ms < 10_000 ? Math.round(ms / 100) / 10 : Math.round(ms / 1000)} s`;
