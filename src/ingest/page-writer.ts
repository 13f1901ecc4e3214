/**
 * Storing one extracted page: page row, chunks, vectors (and, through the chunk hooks, keyword rows) in one
 * transaction of a group commit, with whatever else must commit with it (a crawl's frontier mark). An
 * unchanged page (same content hash and tags) keeps its chunks and is not embedded again.
 *
 * Every source of pages calls this: crawls (src/ingest/crawler.ts) and any other way pages arrive.
 */
import { createHash } from 'node:crypto';
import type { Tx } from '../db/database.js';
import type { Embedder } from '../embed/embedder.js';
import type { Store } from '../store/store.js';
import type { PageRecord } from '../store/pages.js';
import type { ChunkTerms } from '../text/chunk-terms.js';
import { chunkMarkdown, chunkSearchText, type Chunk } from './extract/chunker.js';
import type { ExtractedPage } from './extract/extract.js';
import type { GroupWriter } from './group-writer.js';
import { headingPathOf } from './process-page.js';

export interface PageWriterDeps {
  store: Store;
  embedder: Embedder;
  writer: GroupWriter;
  chunking: { maxChars: number; overlap: number };
}

export interface PageToStore {
  id: string;
  url: string;
  page: ExtractedPage;
  /** The stored page with this URL, if any: its tags are kept, its chunks replaced. */
  existing: PageRecord | undefined;
  tags: readonly string[];
  job_id: string | null;
  parent_page_id: string | null;
  root_page_id: string;
  depth: number;
  /** contentHash(page.markdown), when the caller has it already (the crawler, which skips twins by it). */
  hash?: string;
  /** Chunks already cut (e.g. in a worker thread: ./process-page.ts); cut here when absent. */
  chunks?: readonly Chunk[];
  /**
   * The chunks' vectors, one per chunk in order, already made by an embedder of this database's model (the
   * lexical embedder in the processing step, a remote crawl worker); embedded here when absent. Only with `chunks`.
   */
  vectors?: readonly Float32Array[];
  /** The chunks' keyword terms, already computed (processPage's `terms`); computed at insert when absent. */
  terms?: readonly ChunkTerms[];
  /**
   * Embedding the page's chunks already failed where they were made (a remote crawl worker): told to onEmbed
   * and thrown, as when embedding here fails. An unchanged page is stored as usual (it needs no vectors).
   */
  embedError?: Error;
  /** Written in the page's own transaction (a frontier mark). */
  alsoInTx?: (tx: Tx) => Promise<void>;
  signal?: AbortSignal;
  /**
   * Told how embedding the page's chunks went, here or where its vectors (or `embedError`) came from; not for
   * an unchanged page, nor one without chunks: `ok` true, or the error (which writePage then throws). A crawl
   * counts embedding failures in a row by it (./embed-failures.ts).
   */
  onEmbed?: (outcome: { ok: true } | { ok: false; error: unknown }) => void;
  /** Called before the write (after embedding, if the page needs it): throws to abandon the page (a cancelled crawl). */
  beforeWrite?: () => void;
}

/** Wall time per stage in ms, for one page. */
export interface PageWriteTimes {
  chunk: number;
  embed: number;
  store: number;
}

export const contentHash = (markdown: string): string => createHash('sha256').update(markdown).digest('hex');

/** Stores a page and its chunks in one transaction; an unchanged page is not re-embedded. */
export async function writePage(deps: PageWriterDeps, p: PageToStore): Promise<PageWriteTimes & { unchanged: boolean }> {
  const { store, embedder } = deps;
  const times = { chunk: 0, embed: 0, store: 0 };
  const { page, existing, id, url } = p;
  const hash = p.hash ?? contentHash(page.markdown);
  const tags = [...new Set([...(existing?.tags ?? []), ...p.tags])];
  const record = {
    id,
    url,
    domain: hostnameOf(url),
    title: page.title,
    raw_text: page.markdown,
    crawl_date: new Date(),
    tags,
    job_id: p.job_id,
    parent_page_id: p.parent_page_id ?? existing?.parent_page_id ?? null,
    root_page_id: p.root_page_id,
    depth: p.depth,
    path: pathOf(url),
    content_hash: hash,
  };
  // Same text, tags and title: the chunks stay. A title read differently (a fix of the title rules) is in every
  // chunk's row and embedded text, so the page is chunked and embedded again like a changed one.
  if (existing && existing.content_hash === hash && sameTags(existing.tags, tags) && existing.title === page.title) {
    p.beforeWrite?.();
    const t = performance.now();
    await deps.writer.write(async (tx) => {
      // the stored chunks stay: a page deleted since it was read stays deleted (not back without its chunks)
      await store.pages.upsert(tx, { ...record, raw_text: existing.raw_text }, { keepsChunks: true });
      await p.alsoInTx?.(tx);
    });
    times.store += performance.now() - t;
    return { ...times, unchanged: true };
  }
  if (p.embedError) {
    p.onEmbed?.({ ok: false, error: p.embedError });
    throw p.embedError;
  }
  let t = performance.now();
  const chunks = p.chunks ?? chunkMarkdown(page.markdown, { maxChars: deps.chunking.maxChars, overlap: deps.chunking.overlap, title: page.title });
  times.chunk += performance.now() - t;
  if (p.vectors && (!p.chunks || p.vectors.length !== chunks.length || p.vectors.some((v) => v.length !== embedder.dimension))) {
    throw new Error(`the page came with ${p.vectors.length} vectors for ${chunks.length} chunks, or of the wrong size (expected ${embedder.dimension}): not stored`);
  }
  const terms = p.terms && p.chunks && p.terms.length === chunks.length ? p.terms : undefined;
  t = performance.now();
  let vectors: Float32Array[];
  if (p.vectors) {
    vectors = [...p.vectors];
    if (vectors.length > 0) p.onEmbed?.({ ok: true });
  } else if (chunks.length === 0) vectors = [];
  else {
    try {
      vectors = await embedder.embed(chunks.map((c) => chunkSearchText(c, page.title)), { signal: p.signal });
    } catch (error) {
      p.onEmbed?.({ ok: false, error });
      throw error;
    }
    p.onEmbed?.({ ok: true });
  }
  times.embed += performance.now() - t;
  p.beforeWrite?.();
  t = performance.now();
  await deps.writer.write(async (tx) => {
    if (existing) await store.chunks.deleteByPageIds(tx, [id]); // a new page has no chunks to replace
    await store.pages.upsert(tx, record, { isNew: !existing });
    await store.chunks.writeBatch(
      tx,
      vectors,
      chunks.map((c, i) => ({
        text: c.text,
        page_id: id,
        url,
        domain: record.domain,
        tags,
        job_id: p.job_id,
        chunk_index: c.index,
        title: page.title,
        heading_path: headingPathOf(c),
        keyword_terms: terms?.[i],
      })),
    );
    await p.alsoInTx?.(tx);
  }, chunks.length);
  times.store += performance.now() - t;
  return { ...times, unchanged: false };
}

function hostnameOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((t) => b.includes(t));
}
