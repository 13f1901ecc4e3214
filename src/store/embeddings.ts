/**
 * VectorIndexer: chunks and their embeddings in `document_embeddings`.
 * Writes go in bulk (appender + data chunks) inside one transaction; searches go through the configured
 * vector engine; payloads are read back from DuckDB.
 */
import { randomUUID } from 'node:crypto';
import { LIST, VARCHAR, listValue } from '../db/duckdb.js';
import type { Database, Tx } from '../db/database.js';
import type { ChunkTerms } from '../text/chunk-terms.js';
import type { EngineRow, VectorEngine, VectorHit } from '../vector/engine.js';
import { ExactEngine } from '../vector/exact.js';
import { appendEmbeddingRows, type EmbeddingRow } from './bulk-append.js';
import { tagsOfFilter, type TagFilter } from './tag-filter.js';
import { ValidationError, checkLimit, checkSameLength, checkVector } from './validation.js';

export interface ChunkPayload {
  text: string;
  page_id?: string | null;
  url?: string | null;
  domain?: string | null;
  tags?: readonly string[] | null;
  job_id?: string | null;
  chunk_index?: number | null;
  title?: string | null;
  heading_path?: string | null;
  /** Fields with no column of their own (e.g. unknown Qdrant payload fields), kept as JSON. */
  extra?: Record<string, unknown> | null;
  /** The chunk's keyword terms when already computed (e.g. in a worker thread): chunkTerms() of this payload. */
  keyword_terms?: ChunkTerms;
}

export interface StoredPayload {
  text: string;
  page_id: string | null;
  url: string | null;
  domain: string | null;
  tags: string[];
  job_id: string | null;
  chunk_index: number | null;
  title: string | null;
  heading_path: string | null;
}

export interface SearchResult {
  id: string;
  score: number;
  payload: StoredPayload;
}

/** A chunk as the keyword index sees it. */
export interface IndexedChunk {
  id: string;
  seq: bigint;
  text: string;
  title: string | null;
  heading_path: string | null;
  page_id: string | null;
  tags: readonly string[];
  /** Pre-computed keyword terms (ChunkPayload.keyword_terms); computed from the text when absent. */
  terms?: ChunkTerms;
}

/** A chunk as deleted. */
export interface DeletedChunk {
  id: string;
  seq: bigint;
}

/** Keeps a secondary structure (e.g. the BM25 keyword index) in the same transaction as chunk writes. */
export interface ChunkHook {
  onInsert(tx: Tx, chunks: readonly IndexedChunk[]): Promise<void>;
  onDelete(tx: Tx, deleted: readonly DeletedChunk[]): Promise<void>;
}

type PreparedRow = Omit<EmbeddingRow, 'seq'> & { keywordTerms?: ChunkTerms };

export interface WriteOptions {
  /** Replace rows whose id already exists (idempotent re-runs); otherwise a duplicate id is an error. */
  replace?: boolean;
}

export class VectorIndexer {
  private engine: VectorEngine;
  private readonly hooks: ChunkHook[] = [];
  private dim: number;

  constructor(
    readonly db: Database,
    dimension: number,
    engine?: VectorEngine,
  ) {
    this.dim = dimension;
    this.engine = engine ?? new ExactEngine(db, dimension);
  }

  /** Size of the stored vectors. */
  get dimension(): number {
    return this.dim;
  }

  /** After a re-embedding switched the table to vectors of another model: their size and engine. */
  useSpace(dimension: number, engine: VectorEngine): void {
    this.dim = dimension;
    this.engine = engine;
  }

  get vectorEngine(): VectorEngine {
    return this.engine;
  }

  setEngine(engine: VectorEngine): void {
    this.engine = engine;
  }

  addHook(hook: ChunkHook): void {
    this.hooks.push(hook);
  }

  /** Stores one vector with its payload; returns its id (a new UUID when none is given). */
  async indexVector(vector: ArrayLike<number>, payload: ChunkPayload, id?: string): Promise<string> {
    const [out] = await this.indexBatch([vector], [payload], id === undefined ? undefined : [id]);
    return out!;
  }

  /** Stores many vectors in one transaction: all of them, or (on any bad input) none. */
  async indexBatch(
    vectors: readonly ArrayLike<number>[],
    payloads: readonly ChunkPayload[],
    ids?: readonly string[],
    opts: WriteOptions = {},
  ): Promise<string[]> {
    const rows = this.prepareRows(vectors, payloads, ids);
    return this.db.transaction((tx) => this.writeRows(tx, rows, opts));
  }

  /**
   * Same as indexBatch, inside the caller's transaction (e.g. a page and its chunks together).
   * Validation happens before anything is written.
   */
  async writeBatch(
    tx: Tx,
    vectors: readonly ArrayLike<number>[],
    payloads: readonly ChunkPayload[],
    ids?: readonly string[],
    opts: WriteOptions = {},
  ): Promise<string[]> {
    return this.writeRows(tx, this.prepareRows(vectors, payloads, ids), opts);
  }

  /** Validates everything first, so a bad vector anywhere fails the batch before any write. */
  private prepareRows(
    vectors: readonly ArrayLike<number>[],
    payloads: readonly ChunkPayload[],
    ids?: readonly string[],
  ): PreparedRow[] {
    if (!Array.isArray(vectors) || !Array.isArray(payloads)) {
      throw new ValidationError('vectors and payloads must be arrays.');
    }
    checkSameLength({ vectors: vectors.length, payloads: payloads.length, ids: ids?.length });
    const now = new Date();
    const seen = new Set<string>();
    return vectors.map((v, i) => {
      const embedding = checkVector(v, this.dimension, typeof ids?.[i] === 'string' ? `the vector of chunk ${ids[i]}` : `vector #${i}`);
      const p = payloads[i];
      if (!p || typeof p.text !== 'string') throw new ValidationError(`payload #${i} needs a text (string).`);
      const id = ids ? ids[i] : randomUUID();
      if (typeof id !== 'string' || id.length === 0) throw new ValidationError(`id #${i} must be a non-empty string.`);
      if (seen.has(id)) throw new ValidationError(`id "${id}" appears twice in one batch.`);
      seen.add(id);
      const tags = p.tags ?? [];
      if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) {
        throw new ValidationError(`payload #${i} tags must be a list of strings.`);
      }
      return {
        id,
        embedding,
        text_chunk: p.text,
        page_id: p.page_id ?? null,
        url: p.url ?? null,
        domain: p.domain ?? null,
        tags,
        job_id: p.job_id ?? null,
        chunk_index: p.chunk_index ?? null,
        title: p.title ?? null,
        heading_path: p.heading_path ?? null,
        extra: p.extra && Object.keys(p.extra).length ? JSON.stringify(p.extra) : null,
        created_at: now,
        keywordTerms: p.keyword_terms,
      };
    });
  }

  private async writeRows(tx: Tx, prepared: PreparedRow[], opts: WriteOptions): Promise<string[]> {
    if (prepared.length === 0) return [];
    const ids = prepared.map((r) => r.id);
    if (opts.replace) await this.deleteWhere(tx, 'id IN (SELECT unnest($ids))', ids);
    if (tx.batched) {
      // a group commit: the rows of every page in the transaction go in with one appender before COMMIT
      this.pendingRows(tx).push(...prepared);
      return ids;
    }
    await this.appendRows(tx, prepared);
    return ids;
  }

  /** Rows written in a batched transaction and not appended yet (appended by its pre-commit flush). */
  private pendingRows(tx: Tx): PreparedRow[] {
    return tx.deferred<PreparedRow[]>(this, () => [], (rows) => this.appendRows(tx, rows));
  }

  /** Appends rows (sequence numbers, vectors, keyword rows) inside `tx`; the engine learns of them at commit. */
  private async appendRows(tx: Tx, prepared: PreparedRow[]): Promise<void> {
    if (prepared.length === 0) return;
    const seqRows = await tx.all<{ s: bigint }>("SELECT nextval('embedding_seq') AS s FROM range(?)", [prepared.length]);
    const rows: (EmbeddingRow & { keywordTerms?: ChunkTerms })[] = prepared.map((r, i) => ({ ...r, seq: BigInt(seqRows[i]!.s) }));
    try {
      await appendEmbeddingRows(tx.connection, this.dimension, rows);
    } catch (e) {
      const msg = (e as Error).message;
      if (/duplicate key|primary key|unique/i.test(msg)) {
        throw new ValidationError(`a chunk with one of these ids already exists (${msg.split('\n')[0]}); pass replace to overwrite.`);
      }
      throw e;
    }
    const indexed: IndexedChunk[] = rows.map((r) => ({
      id: r.id,
      seq: r.seq,
      text: r.text_chunk ?? '',
      title: r.title,
      heading_path: r.heading_path,
      page_id: r.page_id,
      tags: r.tags,
      terms: r.keywordTerms,
    }));
    for (const hook of this.hooks) await hook.onInsert(tx, indexed);
    const engineRows: EngineRow[] = rows.map((r) => ({ id: r.id, seq: r.seq, vector: r.embedding, tags: r.tags, pageId: r.page_id }));
    tx.onCommit(() => this.engine.afterInsert?.(engineRows));
  }

  /** Deletes chunks by id inside `tx`; returns how many were deleted. */
  deleteByIds(tx: Tx, ids: readonly string[]): Promise<number> {
    return this.deleteWhere(tx, 'id IN (SELECT unnest($ids))', ids);
  }

  /** Deletes every chunk of these pages inside `tx`; returns how many were deleted. */
  deleteByPageIds(tx: Tx, pageIds: readonly string[]): Promise<number> {
    return this.deleteWhere(tx, 'page_id IN (SELECT unnest($ids))', pageIds);
  }

  private async deleteWhere(tx: Tx, where: string, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    if (tx.batched) {
      // rows buffered earlier in this transaction must be in the table for the delete to see them
      const pending = this.pendingRows(tx);
      await this.appendRows(tx, pending.splice(0));
    }
    const deleted = await tx.all<{ id: string; seq: bigint }>(
      `DELETE FROM document_embeddings WHERE ${where} RETURNING id, seq`,
      { ids: listValue([...ids]) },
      { ids: LIST(VARCHAR) },
    );
    if (deleted.length === 0) return 0;
    for (const hook of this.hooks) await hook.onDelete(tx, deleted.map((d) => ({ id: d.id, seq: BigInt(d.seq) })));
    const seqs = deleted.map((d) => BigInt(d.seq));
    tx.onCommit(() => this.engine.afterDelete?.(seqs));
    return deleted.length;
  }

  /**
   * Nearest chunks to `queryVector`, best first, `score` = 1 - cosine distance.
   * `filter` keeps chunks having any of the given tags.
   */
  async search(queryVector: ArrayLike<number>, limit: number, filter?: TagFilter): Promise<SearchResult[]> {
    const hits = await this.nearest(queryVector, limit, filter);
    if (hits.length === 0) return [];
    const payloads = await this.payloads(hits.map((h) => h.id));
    return hits
      .filter((h) => payloads.has(h.id))
      .map((h) => ({ id: h.id, score: h.score, payload: payloads.get(h.id)! }));
  }

  /**
   * Nearest chunks as the engine returns them (id, score, page id), without payloads: for callers that
   * rank or group first and read payloads only for what they keep.
   */
  async nearest(queryVector: ArrayLike<number>, limit: number, filter?: TagFilter): Promise<VectorHit[]> {
    const query = checkVector(queryVector, this.dimension, 'query vector');
    checkLimit(limit);
    return this.engine.search({ query, limit, tags: tagsOfFilter(filter) });
  }

  /** Payloads of the given chunk ids (missing ids are absent from the map). */
  async payloads(ids: readonly string[]): Promise<Map<string, StoredPayload>> {
    const out = new Map<string, StoredPayload>();
    // An IN list of placeholders lets DuckDB use the primary-key index: ~2 ms for 80 ids at 100k rows,
    // against ~8 ms for `IN (SELECT unnest($list))`, which scans the id column.
    const unique = [...new Set(ids)];
    for (let start = 0; start < unique.length; start += 500) {
      const part = unique.slice(start, start + 500);
      const rows = await this.db.all<StoredPayload & { id: string }>(
        `SELECT id, text_chunk AS text, page_id, url, domain, tags, job_id, chunk_index, title, heading_path
         FROM document_embeddings WHERE id IN (${part.map(() => '?').join(', ')})`,
        part,
      );
      for (const { id, ...p } of rows) out.set(id, { ...p, tags: p.tags ?? [] });
    }
    return out;
  }

  async count(): Promise<number> {
    const [row] = await this.db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM document_embeddings');
    return row?.n ?? 0;
  }
}
