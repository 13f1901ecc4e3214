/**
 * The local embedder's model code: transformers.js (and with it onnxruntime-node) imported on first use,
 * a tokenizer + ONNX Runtime session loaded from one directory, batches embedded, hub downloads. It runs
 * in the embedder's worker thread (local-worker.ts); nothing else imports it except the benchmark, which
 * compares it in process with the worker.
 */
import { readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { DownloadProgress, DownloadSpec, EmbedResult, LoadSpec } from './local-protocol.js';
import type { Pooling } from './local-models.js';

type Transformers = typeof import('@huggingface/transformers');
type Tokenizer = Awaited<ReturnType<Transformers['AutoTokenizer']['from_pretrained']>>;
type Model = Awaited<ReturnType<Transformers['AutoModel']['from_pretrained']>>;

export class RequestError extends Error {
  constructor(
    readonly kind: 'input' | 'runtime' | 'model' | 'network',
    message: string,
  ) {
    super(message);
  }
}

let lib: Transformers | undefined;
let loaded: { tokenizer: Tokenizer; model: Model } | undefined;

async function transformers(): Promise<Transformers> {
  if (lib) return lib;
  try {
    // The CommonJS build through require: the same code, but its ESM entry takes ~5x longer to import
    // under tsx's loader (tests, benchmarks).
    lib = createRequire(import.meta.url)('@huggingface/transformers') as Transformers;
  } catch (e) {
    throw new RequestError('runtime', `transformers.js / onnxruntime-node cannot be loaded on this machine (${(e as Error).message.split('\n')[0]})`);
  }
  lib.env.logLevel = lib.LogLevel.ERROR;
  lib.env.backends.onnx.logLevel = 'error';
  return lib;
}

/** Loads the model of `spec.dir` (tokenizer + ONNX session), replacing the one loaded before. */
export async function load(spec: LoadSpec): Promise<null> {
  const t = await transformers();
  // Only the files in spec.dir: no model hub, no cache elsewhere.
  t.env.allowRemoteModels = false;
  t.env.allowLocalModels = true;
  t.env.useFSCache = false;
  try {
    const tokenizer = await t.AutoTokenizer.from_pretrained(spec.dir, { local_files_only: true });
    const model = await t.AutoModel.from_pretrained(spec.dir, {
      local_files_only: true,
      dtype: spec.dtype,
      subfolder: spec.subfolder,
      device: 'cpu',
      session_options: {
        intraOpNumThreads: spec.threads,
        interOpNumThreads: 1,
        // ONNX Runtime's threads spin between runs by default, burning the cores tokenising, DuckDB and
        // request handling need: on this 2-core machine, disabling it cut CPU per batch 2.5x and, with the
        // machine busy, wall time 7x (bench/results/embed.md).
        ...(spec.allowSpinning ? {} : { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }),
      },
    });
    await loaded?.model.dispose();
    loaded = { tokenizer, model };
  } catch (e) {
    throw new RequestError('model', `cannot load the model in ${spec.dir}: ${(e as Error).message.split('\n')[0]}`);
  }
  return null;
}

/** Downloads a hub model's files into `<modelDir>/<hubId>/`, calling `onProgress` as bytes arrive. */
export async function download(spec: DownloadSpec, onProgress: (p: DownloadProgress) => void): Promise<null> {
  const t = await transformers();
  t.env.allowRemoteModels = true;
  t.env.allowLocalModels = true;
  t.env.useFSCache = true;
  t.env.remoteHost = spec.host.replace(/\/*$/, '/');
  // Files already present (an interrupted download) are read from here; missing ones are fetched and
  // written to the same place (the cache writes each file to a temporary name, then renames it).
  t.env.localModelPath = spec.modelDir;
  t.env.cacheDir = spec.modelDir;
  const target = join(spec.modelDir, ...spec.hubId.split('/'));
  const before = new Set(filesIn(target));
  const plainFetch = t.env.fetch;
  t.env.fetch = guardedFetch(plainFetch as typeof fetch, spec) as typeof t.env.fetch;
  const progress_callback = (p: { status: string; file?: string; loaded?: number; total?: number }) => {
    if (p.status === 'progress' && p.file) {
      onProgress({ file: p.file, loaded: p.loaded ?? 0, total: p.total ?? 0 });
    }
  };
  try {
    await t.AutoTokenizer.from_pretrained(spec.hubId, { progress_callback });
    const model = await t.AutoModel.from_pretrained(spec.hubId, { dtype: 'q8', device: 'cpu', progress_callback });
    await model.dispose();
  } catch (e) {
    if (e instanceof RequestError) throw e;
    const err = e as Error & { cause?: { code?: string; message?: string } };
    if (err.cause instanceof RequestError) throw err.cause;
    const cause = err.cause?.code ?? err.cause?.message;
    let msg = [err.message.split('\n')[0], cause].filter(Boolean).join(': ');
    // transformers.js reads a tokenizer_config.json the hub did not give (any status but 2xx) as absent, and
    // then fails on it ("Cannot read properties of undefined (reading 'tokenizer_class')"): say what the hub answered
    if (err instanceof TypeError && /tokenizer_class/.test(err.message)) msg = await hubAnswer(t, spec, 'tokenizer_config.json');
    const kind = /fetch failed|ECONN|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|network|socket/i.test(msg) ? 'network' : 'model';
    if (kind === 'model') {
      // The host sent files that are not this model (an HTML page with status 200, garbage): left in place,
      // they would count as downloaded, and every later start and pull would fail on them. Files that were
      // there before stay.
      const sent = filesIn(target).filter((f) => !before.has(f));
      for (const f of sent) rmSync(join(target, f), { force: true });
      if (sent.length) msg += `; the files it sent (${sent.join(', ')}) were not kept`;
    }
    throw new RequestError(kind, msg);
  } finally {
    t.env.allowRemoteModels = false;
    t.env.fetch = plainFetch;
  }
  return null;
}

/** The files under `dir`, relative to it ([] when it does not exist). */
function filesIn(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath ?? e.path, e.name).slice(dir.length + 1));
  } catch {
    return [];
  }
}

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const size = (n: number) => (n >= GiB ? `${(n / GiB).toFixed(1)} GiB` : `${(n / MiB).toFixed(1)} MiB`);

/**
 * fetch for downloads from a model hub that nobody controls here: answers must start within the idle
 * timeout, bodies keep coming (no pause longer than the idle timeout, no trickle slower than
 * minBytesPerSecond), and no file is larger than a model file can be (by its content-length, and by what
 * actually arrives). A file that breaks a rule fails the download with a RequestError saying which and
 * why; transformers.js then deletes its partial copy. Without this, an endless body or a 1 TB
 * content-length filled the disk, and a server that answered nothing or a byte at a time held
 * `doctor models pull` (and a start that downloads) for ever.
 */
function guardedFetch(plain: typeof fetch, spec: DownloadSpec): typeof fetch {
  const idleMs = spec.idleTimeoutMs ?? 60_000;
  const minRate = spec.minBytesPerSecond ?? 16 * 1024;
  const refuse = (url: string, why: string) =>
    new RequestError('model', `${url} ${why}; a model hub does not do that: check DOCTOR_MODEL_HOST (or try again later)`);
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    const file = new URL(url).pathname;
    const max = spec.maxFileBytes ?? (/\.onnx(_data)?$/.test(file) ? 4 * GiB : 64 * MiB);
    const abort = new AbortController();
    const headersTimer = setTimeout(() => abort.abort(refuse(url, `did not answer within ${idleMs / 1000} s`)), idleMs);
    let res: Response;
    try {
      res = await plain(input, { ...init, signal: abort.signal });
    } catch (e) {
      if (abort.signal.aborted) throw abort.signal.reason;
      throw e;
    } finally {
      clearTimeout(headersTimer);
    }
    if (!res.body) return res;
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > max) {
      abort.abort();
      throw refuse(url, `is ${size(declared)} (its content-length), more than the ${size(max)} a model file may be`);
    }
    const reader = res.body.getReader();
    const started = Date.now();
    let loaded = 0;
    const fail = (ctrl: ReadableStreamDefaultController<Uint8Array>, e: RequestError) => {
      abort.abort(e);
      reader.cancel(e).catch(() => undefined);
      ctrl.error(e);
    };
    const body = new ReadableStream<Uint8Array>({
      async pull(ctrl) {
        let timer: NodeJS.Timeout | undefined;
        const idle = new Promise<'idle'>((r) => (timer = setTimeout(() => r('idle'), idleMs)));
        let next: ReadableStreamReadResult<Uint8Array> | 'idle';
        try {
          next = await Promise.race([reader.read(), idle]);
        } catch (e) {
          return ctrl.error(e);
        } finally {
          clearTimeout(timer);
        }
        if (next === 'idle') return fail(ctrl, refuse(url, `sent nothing for ${idleMs / 1000} s (after ${size(loaded)})`));
        if (next.done) return ctrl.close();
        loaded += next.value.byteLength;
        if (loaded > max) return fail(ctrl, refuse(url, `sent more than the ${size(max)} a model file may be`));
        const elapsed = Date.now() - started;
        if (elapsed > idleMs && (loaded / elapsed) * 1000 < minRate) {
          return fail(ctrl, refuse(url, `arrives too slowly (${size(loaded)} in ${Math.round(elapsed / 1000)} s, less than ${minRate / 1024} KiB/s)`));
        }
        ctrl.enqueue(next.value);
      },
      cancel(reason) {
        abort.abort(reason);
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

/** What the hub answers for one of a model's files, as transformers.js asks for it ("<url> answered 404 Not Found"). */
async function hubAnswer(t: Transformers, spec: DownloadSpec, file: string): Promise<string> {
  const path = t.env.remotePathTemplate.replaceAll('{model}', spec.hubId).replaceAll('{revision}', 'main');
  const url = new URL(path + file, t.env.remoteHost).href;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    await res.body?.cancel();
    if (res.ok) return `${url} could not be read as the model's tokenizer settings`;
    return `${url} answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${res.status === 404 ? ': no such model there (check the model name and DOCTOR_MODEL_HOST)' : ''}`;
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    return `${url}: fetch failed: ${err.cause?.code ?? err.message}`;
  }
}

/** Embeds one batch with the loaded model: pooled as asked, L2-normalised, row-major. */
export async function embed(texts: unknown[], pooling: Pooling, maxTokens: number): Promise<EmbedResult> {
  if (!loaded) throw new RequestError('runtime', 'no model is loaded');
  if (!Array.isArray(texts)) throw new RequestError('input', 'texts must be a list of strings');
  texts.forEach((t, i) => {
    if (typeof t !== 'string') throw new RequestError('input', `text #${i} is ${t === null ? 'null' : typeof t}, not a string`);
  });
  const t = await transformers();
  const { tokenizer, model } = loaded;
  const inputs = tokenizer(texts as string[], { padding: true, truncation: true, max_length: maxTokens });
  const out = (await model(inputs)) as Record<string, InstanceType<Transformers['Tensor']>>;
  const name = ['last_hidden_state', 'token_embeddings'].find((k) => out[k]) ?? Object.keys(out).find((k) => out[k]?.dims?.length === 3);
  if (!name) {
    const outputs = Object.entries(out).map(([k, v]) => `${k} [${v?.dims?.join(', ') ?? '?'}]`);
    throw new RequestError('model', `the model returned no token embeddings (outputs: ${outputs.join(', ')}; expected last_hidden_state [texts, tokens, hidden size])`);
  }
  const hidden = out[name]!;
  checkShape(name, hidden.dims, inputs.input_ids.dims as number[]);
  // Mean pooling counts only real tokens (attention mask), so padding in a batch changes nothing.
  const pooled = pooling === 'cls' ? hidden.slice(null, 0) : t.mean_pooling(hidden, inputs.attention_mask);
  const normalised = pooled.normalize(2, -1);
  const [count, dimension] = normalised.dims as [number, number];
  const vectors = Float32Array.from(normalised.data as Float32Array);
  for (let i = 0; i < vectors.length; i++) {
    if (!Number.isFinite(vectors[i]!)) throw new RequestError('model', `the model produced a non-finite value for text #${Math.floor(i / dimension)}`);
  }
  return { vectors, count, dimension };
}

/**
 * Token embeddings must be [texts, tokens, hidden size] for the batch given ([texts, tokens]): pooling reads
 * them by that layout, and another shape gave garbage vectors, a cryptic error, or vectors that belong to
 * other texts (more rows than texts were dropped without a word).
 */
function checkShape(name: string, dims: readonly number[], input: readonly number[]): void {
  const [texts, tokens] = input as [number, number];
  const problem =
    dims.length !== 3
      ? `${dims.length} dimensions, where token embeddings have 3`
      : dims[0] !== texts
        ? `${dims[0]} row${dims[0] === 1 ? '' : 's'} for ${texts} text${texts === 1 ? '' : 's'} (${dims[0]! > texts ? 'more' : 'fewer'} than the texts)`
        : dims[1] !== tokens
          ? `${dims[1]} token positions for ${tokens}`
          : dims[2]! < 1
            ? 'a hidden size of 0'
            : undefined;
  if (!problem) return;
  throw new RequestError(
    'model',
    `the model's output ${name} has shape [${dims.join(', ')}] for ${texts} text${texts === 1 ? '' : 's'} of ${tokens} tokens, expected [${texts}, ${tokens}, hidden size]: ${problem}`,
  );
}
