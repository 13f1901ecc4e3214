/**
 * The BM25 keyword index over chunks, in DuckDB tables maintained by a ChunkHook in the same transaction
 * as chunk inserts and deletes (so it is never stale). DuckDB's own `fts` extension is not used: it
 * cannot be installed offline and its index does not follow table changes.
 *
 * Each chunk is indexed with its page title and heading path (counted twice: page-level evidence that
 * chunk text alone lacks, see shared/notes/retrieval.md).
 */
import { LIST, VARCHAR, listValue } from '@duckdb/node-api';
import type { Database, Tx } from '../db/database.js';
import { tokenize } from '../search/tokenize.js';
import type { ChunkHook, IndexedChunk } from './embeddings.js';
import { VARCHAR_LIST, varcharList } from './sql-values.js';

const K1 = 1.2;
const B = 0.75;
const MAX_QUERY_TERMS = 32;

export interface KeywordHit {
  id: string;
  score: number;
}

/** Term frequencies of a chunk as indexed: title and heading path count twice. */
export function chunkTerms(c: Pick<IndexedChunk, 'text' | 'title' | 'heading_path'>): Map<string, number> {
  const tf = new Map<string, number>();
  const add = (text: string | null, weight: number) => {
    if (!text) return;
    for (const t of tokenize(text)) tf.set(t, (tf.get(t) ?? 0) + weight);
  };
  add(c.title, 2);
  add(c.heading_path, 2);
  add(c.text, 1);
  return tf;
}

export class KeywordIndex implements ChunkHook {
  constructor(private readonly db: Database) {}

  async onInsert(tx: Tx, chunks: readonly IndexedChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    const docs = await tx.connection.createAppender('kw_docs');
    const postings = await tx.connection.createAppender('kw_postings');
    try {
      for (const c of chunks) {
        const tf = chunkTerms(c);
        let len = 0;
        for (const [term, n] of tf) {
          postings.appendVarchar(term);
          postings.appendVarchar(c.id);
          postings.appendInteger(n);
          postings.endRow();
          len += n;
        }
        docs.appendVarchar(c.id);
        if (c.page_id === null) docs.appendNull();
        else docs.appendVarchar(c.page_id);
        docs.appendInteger(len);
        docs.appendList(listValue([...c.tags]), LIST(VARCHAR));
        docs.endRow();
      }
      docs.flushSync();
      postings.flushSync();
    } finally {
      try {
        docs.closeSync();
      } catch {
        /* reported by the flush above */
      }
      try {
        postings.closeSync();
      } catch {
        /* reported by the flush above */
      }
    }
  }

  async onDelete(tx: Tx, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const params = { ids: varcharList(ids) };
    const types = { ids: VARCHAR_LIST };
    await tx.run('DELETE FROM kw_postings WHERE chunk_id IN (SELECT unnest($ids))', params, types);
    await tx.run('DELETE FROM kw_docs WHERE chunk_id IN (SELECT unnest($ids))', params, types);
  }

  /** Chunks ranked by BM25 for `query`, optionally only chunks having any of `tags`. */
  async search(query: string, limit: number, tags?: readonly string[]): Promise<KeywordHit[]> {
    const terms = [...new Set(tokenize(query))].slice(0, MAX_QUERY_TERMS);
    if (terms.length === 0) return [];
    const rows = await this.db.all<{ id: string; score: number }>(
      `WITH stats AS (SELECT count(*)::DOUBLE AS n, coalesce(avg(len), 1)::DOUBLE AS avgdl FROM kw_docs),
       hits AS (SELECT term, chunk_id, tf FROM kw_postings WHERE term IN (SELECT unnest($terms))),
       df AS (SELECT term, count(*)::DOUBLE AS df FROM hits GROUP BY term)
       SELECT h.chunk_id AS id,
              sum(ln(1 + (s.n - df.df + 0.5) / (df.df + 0.5)) * (h.tf * ${K1 + 1}) /
                  (h.tf + ${K1} * (1 - ${B} + ${B} * d.len / s.avgdl))) AS score
       FROM hits h JOIN df USING (term) JOIN kw_docs d ON d.chunk_id = h.chunk_id CROSS JOIN stats s
       WHERE $tags IS NULL OR list_has_any(d.tags, $tags)
       GROUP BY h.chunk_id
       ORDER BY score DESC, id
       LIMIT $limit`,
      { terms: varcharList(terms), tags: tags && tags.length ? varcharList(tags) : null, limit },
      { terms: VARCHAR_LIST, tags: VARCHAR_LIST },
    );
    return rows.map((r) => ({ id: r.id, score: Number(r.score) }));
  }

  async count(): Promise<number> {
    const [row] = await this.db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM kw_docs');
    return row?.n ?? 0;
  }

  /**
   * Indexes chunks stored without the hook (e.g. by an older version or a bulk migration), in batches.
   * Returns how many chunks were added.
   */
  async indexMissing(batch = 2000): Promise<number> {
    let total = 0;
    for (;;) {
      const rows = await this.db.all<{ id: string; seq: bigint; text: string; title: string | null; heading_path: string | null; page_id: string | null; tags: string[] }>(
        `SELECT e.id, e.seq, coalesce(e.text_chunk, '') AS text, e.title, e.heading_path, e.page_id, e.tags
         FROM document_embeddings e ANTI JOIN kw_docs d ON d.chunk_id = e.id
         ORDER BY e.seq LIMIT ?`,
        [batch],
      );
      if (rows.length === 0) return total;
      await this.db.transaction((tx) => this.onInsert(tx, rows.map((r) => ({ ...r, tags: r.tags ?? [] }))));
      total += rows.length;
    }
  }
}
