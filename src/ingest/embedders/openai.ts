/**
 * Embeddings from any OpenAI-compatible `/embeddings` endpoint (OpenAI, Azure-style bases, Ollama `/v1`,
 * LM Studio, vLLM). Batches by count and size, bounded concurrency, retries with backoff on 429/5xx and
 * network errors (honouring Retry-After), and refuses malformed answers instead of storing them.
 */
import { EmbeddingError, type Embedder } from './embedder.js';

export const KNOWN_DIMENSIONS: Record<string, number> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
};

export interface OpenAIEmbedderOptions {
  apiKey?: string;
  baseUrl?: string;
  model?: string;
  dimension?: number;
  maxBatchTexts?: number;
  maxBatchChars?: number;
  concurrency?: number;
  maxRetries?: number;
  timeoutMs?: number;
  /** Longest text sent (characters); longer texts are truncated (~8k tokens). */
  maxTextChars?: number;
}

export class OpenAIEmbedder implements Embedder {
  readonly provider = 'openai';
  readonly model: string;
  readonly dimension: number;
  private readonly baseUrl: string;
  private readonly o: Required<Omit<OpenAIEmbedderOptions, 'apiKey' | 'dimension' | 'baseUrl' | 'model'>> & { apiKey?: string };
  private readonly sendDimensions: boolean;

  constructor(opts: OpenAIEmbedderOptions = {}) {
    this.model = opts.model ?? 'text-embedding-3-small';
    this.baseUrl = (opts.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
    const known = KNOWN_DIMENSIONS[this.model];
    const dim = opts.dimension ?? known;
    if (!dim) {
      throw new EmbeddingError(
        'model',
        `the embedding dimension of model "${this.model}" is unknown: set DOCTOR_EMBEDDING_DIM to the size of its vectors.`,
      );
    }
    this.dimension = dim;
    this.sendDimensions = opts.dimension !== undefined && known !== undefined && opts.dimension !== known && this.model.startsWith('text-embedding-3');
    this.o = {
      apiKey: opts.apiKey,
      maxBatchTexts: opts.maxBatchTexts ?? 256,
      maxBatchChars: opts.maxBatchChars ?? 250_000,
      concurrency: opts.concurrency ?? 2,
      maxRetries: opts.maxRetries ?? 5,
      timeoutMs: opts.timeoutMs ?? 60_000,
      maxTextChars: opts.maxTextChars ?? 30_000,
    };
  }

  async embed(texts: string[], opts: { signal?: AbortSignal } = {}): Promise<Float32Array[]> {
    const batches = this.batches(texts.map((t) => (t.length > this.o.maxTextChars ? t.slice(0, this.o.maxTextChars) : t || ' ')));
    const out: Float32Array[][] = new Array(batches.length);
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const i = next++;
        out[i] = await this.request(batches[i]!, opts.signal);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency, batches.length) }, worker));
    return out.flat();
  }

  private batches(texts: string[]): string[][] {
    const batches: string[][] = [];
    let cur: string[] = [];
    let chars = 0;
    for (const t of texts) {
      if (cur.length && (cur.length >= this.o.maxBatchTexts || chars + t.length > this.o.maxBatchChars)) {
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

  private async request(input: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const url = `${this.baseUrl}/embeddings`;
    const body = JSON.stringify({ model: this.model, input, ...(this.sendDimensions ? { dimensions: this.dimension } : {}) });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.o.apiKey) {
      headers.authorization = `Bearer ${this.o.apiKey}`;
      headers['api-key'] = this.o.apiKey; // Azure-style bases
    }
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        const timeout = AbortSignal.timeout(this.o.timeoutMs);
        res = await fetch(url, { method: 'POST', headers, body, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      } catch (e) {
        if (signal?.aborted) throw e;
        if (attempt < this.o.maxRetries) {
          await sleep(backoff(attempt), signal);
          continue;
        }
        throw new EmbeddingError('network', `cannot reach the embeddings API at ${url}: ${(e as Error).message}`);
      }
      if (res.ok) return this.parse(await res.text(), input.length);
      const text = await res.text().catch(() => '');
      if ((res.status === 429 || res.status >= 500) && attempt < this.o.maxRetries) {
        await sleep(retryAfter(res.headers.get('retry-after')) ?? backoff(attempt), signal);
        continue;
      }
      throw this.httpError(res.status, text);
    }
  }

  private httpError(status: number, text: string): EmbeddingError {
    const detail = errorMessage(text);
    if (status === 401 || status === 403) {
      return new EmbeddingError('auth', `the embeddings API at ${this.baseUrl} rejected the key (${status}${detail ? `: ${detail}` : ''}): set OPENAI_API_KEY to a valid key.`);
    }
    if (status === 404 || /model/i.test(detail)) {
      return new EmbeddingError('model', `unknown model "${this.model}" at ${this.baseUrl} (${status}${detail ? `: ${detail}` : ''}): set DOCTOR_EMBEDDING_MODEL to a model the endpoint serves.`);
    }
    if (status === 429) return new EmbeddingError('rate_limit', `the embeddings API kept answering 429 (rate limited) after retries${detail ? `: ${detail}` : ''}.`);
    return new EmbeddingError('server', `the embeddings API answered ${status}${detail ? `: ${detail}` : ''}.`);
  }

  private parse(text: string, expected: number): Float32Array[] {
    let data: { data?: { embedding?: unknown; index?: number }[] };
    try {
      data = JSON.parse(text);
    } catch {
      throw new EmbeddingError('invalid_response', 'the embeddings API answered with something that is not JSON.');
    }
    const items = data.data;
    if (!Array.isArray(items) || items.length !== expected) {
      throw new EmbeddingError('invalid_response', `the embeddings API returned ${Array.isArray(items) ? items.length : 'no'} embeddings for ${expected} texts.`);
    }
    const sorted = [...items].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    return sorted.map((item, i) => {
      const e = item.embedding;
      if (!Array.isArray(e)) throw new EmbeddingError('invalid_response', `embedding #${i} is not a list of numbers.`);
      if (e.length !== this.dimension) {
        throw new EmbeddingError('invalid_response', `embedding #${i} has ${e.length} dimensions, expected ${this.dimension} for ${this.model} (set DOCTOR_EMBEDDING_DIM if the model differs).`);
      }
      const v = new Float32Array(e.length);
      for (let j = 0; j < e.length; j++) {
        const x = e[j];
        if (typeof x !== 'number' || !Number.isFinite(x)) {
          throw new EmbeddingError('invalid_response', `embedding #${i} has a non-finite value (${String(x)}) at position ${j}.`);
        }
        v[j] = x;
      }
      return v;
    });
  }
}

function errorMessage(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    if (typeof j.error === 'string') return j.error;
    return j.error?.message ?? j.message ?? '';
  } catch {
    return text.slice(0, 200);
  }
}

function backoff(attempt: number): number {
  const base = Math.min(30_000, 500 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

/** Retry-After in ms (seconds or an HTTP date), capped at 60 s. */
export function retryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.min(60_000, Math.max(0, ms)) : undefined;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });
}
