/**
 * reembed: switches the database to the configured embedding model by embedding every stored chunk again
 * from its text (chunk text with its page title and heading path, as a crawl embeds it).
 *
 * It runs alongside everything else: the new vectors are staged in their own table in committed batches
 * (src/store/reembed.ts) while searches keep using the old vectors with the old model. When every chunk has
 * a new vector (chunks crawled meanwhile included) and no crawl is running in this process, one transaction
 * swaps the tables and the recorded model; in that same step, with searches held off, this process
 * switches its embedder and vector engine, so no search ever compares a query of one model with vectors of
 * the other. Killed at any point, the database keeps either the old complete set or the new complete set;
 * running again resumes from the staged batches.
 */
import type { Embedder } from '../embed/embedder.js';
import { chunkSearchText } from '../ingest/extract/chunker.js';
import {
  beginReembed,
  dropStaleVectorIndex,
  reembedCounts,
  stageVectors,
  swapInStaged,
  unstagedChunks,
} from '../store/reembed.js';
import { sameEmbedding, type EmbeddingIdentity, type Store } from '../store/store.js';
import { ExactEngine } from '../vector/exact.js';
import type { DoctorContext } from './context.js';
import { ConflictError } from './errors.js';

export interface ReembedProgress {
  /** embedding: staging new vectors; waiting: for running crawls to finish; switched: done. */
  phase: 'embedding' | 'waiting' | 'switching' | 'switched';
  /** Chunks that have a new vector. */
  done: number;
  total: number;
  detail?: string;
}

export interface ReembedResult {
  status: 'switched' | 'unchanged';
  from: EmbeddingIdentity;
  to: EmbeddingIdentity;
  /** Chunks in the database after the switch. */
  chunks: number;
  /** Chunks embedded by this run (the rest were staged by an interrupted run). */
  embedded: number;
  /** Chunks already staged when this run started. */
  resumed: number;
  seconds: number;
  /** Chunks embedded per second of embedding (model + staging writes). */
  chunksPerSecond: number;
}

export interface ReembedOptions {
  /** The embedder of the model to switch to. */
  target: Embedder;
  /** Chunks per committed batch of new vectors (default 256). */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: ReembedProgress) => void;
  /** Wait between attempts to switch while crawls run in this process (default 1 s). */
  retryMs?: number;
}

const running = new WeakSet<Store>();

export async function reembed(ctx: DoctorContext, opts: ReembedOptions): Promise<ReembedResult> {
  const { store, log } = ctx;
  const t0 = performance.now();
  const from = { ...store.embedding };
  const to: EmbeddingIdentity = { provider: opts.target.provider, model: opts.target.model, dimension: opts.target.dimension };
  const batchSize = opts.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer (got ${batchSize})`);
  if (sameEmbedding(from, to)) {
    const { total } = await reembedCounts(store.db);
    return { status: 'unchanged', from, to, chunks: total, embedded: 0, resumed: 0, seconds: 0, chunksPerSecond: 0 };
  }
  if (running.has(store)) throw new ConflictError('a re-embedding is already running on this database.');
  if (ctx.jobs && !ctx.jobs.activeJobs) {
    throw new ConflictError('this process runs crawls but cannot tell when none is running, so it cannot switch models safely.');
  }
  running.add(store);
  try {
    const begun = await beginReembed(store.db, to);
    if (begun.discarded) log.warn({ discarded: begun.discarded }, 'a re-embedding to another model was pending: its vectors were discarded');
    const start = await reembedCounts(store.db);
    let embedded = 0;
    let embedMs = 0;
    for (;;) {
      // Stage every chunk without a new vector (chunks crawled meanwhile are picked up by the next pass).
      let after = 0n;
      for (;;) {
        opts.signal?.throwIfAborted();
        const rows = await unstagedChunks(store.db, after, batchSize);
        if (rows.length === 0) break;
        const t = performance.now();
        const texts = rows.map((r) => chunkSearchText({ text: r.text, headingPath: r.heading_path ? r.heading_path.split(' > ') : [], index: 0 }, r.title));
        const vectors = await opts.target.embed(texts, { signal: opts.signal });
        await stageVectors(store.db, to.dimension, rows.map((r, i) => ({ seq: r.seq, vector: vectors[i]! })));
        embedMs += performance.now() - t;
        embedded += rows.length;
        after = rows[rows.length - 1]!.seq;
        const c = await reembedCounts(store.db);
        opts.onProgress?.({ phase: 'embedding', done: c.done, total: c.total });
      }
      opts.signal?.throwIfAborted();
      const outcome = await switchModels(ctx, opts.target, to);
      if (outcome.swapped) {
        const seconds = (performance.now() - t0) / 1000;
        opts.onProgress?.({ phase: 'switched', done: outcome.rows, total: outcome.rows });
        log.info({ from, to, chunks: outcome.rows, seconds }, 'switched the database to the new embedding model');
        return {
          status: 'switched',
          from,
          to,
          chunks: outcome.rows,
          embedded,
          resumed: start.done,
          seconds,
          chunksPerSecond: embedMs > 0 ? embedded / (embedMs / 1000) : 0,
        };
      }
      if ('busy' in outcome) {
        const c = await reembedCounts(store.db);
        opts.onProgress?.({ phase: 'waiting', done: c.done, total: c.total, detail: outcome.busy });
        await sleep(opts.retryMs ?? 1000, opts.signal);
      }
      // else: chunks were stored since the last pass; stage them and try again.
    }
  } finally {
    running.delete(store);
  }
}

/**
 * The switch: one transaction (store/reembed.ts swapInStaged); just before its COMMIT, with every search
 * drained and new ones held, this process's embedder, recorded identity and vector engine are switched
 * (undone if the transaction fails). After COMMIT: the old index file is removed and the configured engine
 * starts on the new vectors (exact search answers until its index is built).
 */
async function switchModels(ctx: DoctorContext, target: Embedder, to: EmbeddingIdentity) {
  const { store } = ctx;
  let release: (() => void) | undefined;
  let old: { embedder: Embedder; embedding: EmbeddingIdentity; dimension: number } | undefined;
  const outcome = await swapInStaged(store.db, {
    busy: () => {
      const n = ctx.jobs?.activeJobs?.() ?? 0;
      return n > 0 ? `waiting for ${n} running crawl job${n === 1 ? '' : 's'} to finish before switching` : undefined;
    },
    beforeCommit: async () => {
      release = await store.vectorSpace.lockExclusive();
      old = { embedder: ctx.embedder, embedding: store.embedding, dimension: store.chunks.dimension };
      await store.chunks.vectorEngine.close?.();
      store.chunks.useSpace(to.dimension, new ExactEngine(store.db, to.dimension));
      store.embedding = { ...to };
      ctx.embedder = target;
    },
    rollback: async () => {
      if (old) {
        ctx.embedder = old.embedder;
        store.embedding = old.embedding;
        store.chunks.useSpace(old.dimension, await store.openVectorEngine(old.dimension));
      }
      release?.();
    },
  });
  release?.();
  if (outcome.swapped) {
    try {
      await dropStaleVectorIndex(store.db);
      store.chunks.useSpace(to.dimension, await store.openVectorEngine(to.dimension));
      await store.db.checkpoint();
    } catch (e) {
      // The switch is committed; exact search answers, and the next start removes the stale index file.
      ctx.log.warn({ err: (e as Error).message }, 'switched models, but the vector index could not be restarted: exact search answers until the next start');
    }
  }
  return outcome;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });
}
