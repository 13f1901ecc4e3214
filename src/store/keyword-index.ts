/**
 * The BM25 keyword index over chunks, in DuckDB tables maintained by a ChunkHook in the same transaction
 * as chunk inserts and deletes (so it is never stale). DuckDB's own `fts` extension is not used: it
 * cannot be installed offline and its index does not follow table changes.
 *
 * Tables (created by the "keyword index v2" migration in src/db/schema.ts):
 * - `kw_docs(doc BIGINT, chunk_id, page_id, len, tags)`: one row per chunk; `doc` is the chunk's `seq`.
 * - `kw_postings(term BIGINT, doc BIGINT, tf INTEGER)`: one row per (term, chunk). `term` is a 64-bit hash
 *   of the token (see termHash): integer columns scan and join several times faster than strings, and no
 *   term dictionary has to be kept in step. Two different tokens sharing a hash is ~1e-8-unlikely even
 *   with a million distinct tokens, and would only merge their postings.
 * No ART index on either table: a query scans `kw_postings.term` (one integer column) once, and bulk
 * appends stay fast.
 *
 * Page-level evidence (shared/notes/retrieval.md): each chunk is indexed together with its page title and
 * heading path, both counted twice, so a title or section match lifts every chunk of that page/section.
 * searchDocs then ranks pages by their best chunk.
 */
import bindings from '@duckdb/node-bindings';
import { BIGINT, DuckDBDataChunk, INTEGER, LIST, VARCHAR, listValue } from '@duckdb/node-api';
import type { Database, Tx } from '../db/database.js';
import { appendAll } from './appender.js';
import { tokenize } from '../text/tokenize.js';
import type { ChunkHook, IndexedChunk } from './embeddings.js';
import { VARCHAR_LIST, varcharList } from './sql-values.js';

const K1 = 1.2;
const B = 0.75;
const MAX_QUERY_TERMS = 32;
/** How many times a title / heading-path token counts relative to a token of the chunk text. */
const TITLE_WEIGHT = 2;
const HEADING_WEIGHT = 2;
const CHUNK_ROWS = 2048; // DuckDB's vector size: rows per data chunk

export interface KeywordHit {
  /** Chunk id. */
  id: string;
  page_id: string | null;
  /** BM25 score (k1 = 1.2, b = 0.75): higher is better; only comparable within one query. */
  score: number;
}

export interface KeywordSearchOptions {
  /** Keep only chunks having any of these tags (plain values; none or empty: no filter). */
  tags?: readonly string[];
  /** Return only the best chunk of each page (the limit then counts pages). */
  perPage?: boolean;
}

/** Term frequencies of a chunk as indexed: title and heading path tokens count twice. */
export function chunkTerms(c: Pick<IndexedChunk, 'text' | 'title' | 'heading_path'>): Map<string, number> {
  const tf = new Map<string, number>();
  const add = (text: string | null, weight: number) => {
    if (!text) return;
    for (const t of tokenize(text)) tf.set(t, (tf.get(t) ?? 0) + weight);
  };
  add(c.title, TITLE_WEIGHT);
  add(c.heading_path, HEADING_WEIGHT);
  add(c.text, 1);
  return tf;
}

/** Two 32-bit hashes of a token (FNV-1a and a multiply-xorshift hash over UTF-16 code units): [low, high]. */
function hashWords(term: string): [number, number] {
  let lo = 0x811c9dc5;
  let hi = 0x9747b28c;
  for (let i = 0; i < term.length; i++) {
    const c = term.charCodeAt(i);
    lo = Math.imul(lo ^ c, 0x01000193);
    hi = Math.imul(hi ^ c, 0x5bd1e995);
    hi ^= hi >>> 15;
  }
  hi = Math.imul(hi ^ (hi >>> 13), 0xc2b2ae35);
  hi ^= hi >>> 16;
  return [lo | 0, hi | 0];
}

/** The 64-bit term key stored in kw_postings.term. */
export function termHash(term: string): bigint {
  const [lo, hi] = hashWords(term);
  return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
}

export class KeywordIndex implements ChunkHook {
  constructor(private readonly db: Database) {}

  async onInsert(tx: Tx, chunks: readonly IndexedChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    // Postings go into typed arrays (term hash as two int32 words, little-endian) and are copied into
    // DuckDB data chunks one column at a time: no per-value calls into the bindings.
    let cap = 1024;
    let termWords = new Int32Array(cap * 2);
    let docs = new BigInt64Array(cap);
    let tfs = new Int32Array(cap);
    let n = 0;
    const lens: number[] = [];
    for (const c of chunks) {
      const tf = chunkTerms(c);
      if (n + tf.size > cap) {
        while (n + tf.size > cap) cap *= 2;
        const w = new Int32Array(cap * 2);
        w.set(termWords);
        termWords = w;
        const d = new BigInt64Array(cap);
        d.set(docs);
        docs = d;
        const t = new Int32Array(cap);
        t.set(tfs);
        tfs = t;
      }
      let len = 0;
      for (const [term, count] of tf) {
        const [lo, hi] = hashWords(term);
        termWords[2 * n] = lo;
        termWords[2 * n + 1] = hi;
        docs[n] = c.seq;
        tfs[n] = count;
        len += count;
        n++;
      }
      lens.push(len);
    }

    const docAppender = await tx.connection.createAppender('kw_docs');
    await appendAll(docAppender, async () => {
      for (let start = 0; start < chunks.length; start += CHUNK_ROWS) {
        const part = chunks.slice(start, start + CHUNK_ROWS);
        const chunk = DuckDBDataChunk.create([BIGINT, VARCHAR, VARCHAR, INTEGER, LIST(VARCHAR)], part.length);
        chunk.setColumnValues(0, part.map((c) => c.seq));
        chunk.setColumnValues(1, part.map((c) => c.id));
        chunk.setColumnValues(2, part.map((c) => c.page_id));
        chunk.setColumnValues(3, lens.slice(start, start + part.length));
        chunk.setColumnValues(4, part.map((c) => listValue([...c.tags])));
        docAppender.appendDataChunk(chunk);
      }
    });
    const postAppender = await tx.connection.createAppender('kw_postings');
    await appendAll(postAppender, async () => {
      for (let start = 0; start < n; start += CHUNK_ROWS) {
        const rows = Math.min(CHUNK_ROWS, n - start);
        const chunk = DuckDBDataChunk.create([BIGINT, BIGINT, INTEGER], rows);
        const vec = (i: number) => bindings.data_chunk_get_vector(chunk.chunk, i);
        bindings.copy_data_to_vector(vec(0), 0, termWords.buffer as ArrayBuffer, start * 8, rows * 8);
        bindings.copy_data_to_vector(vec(1), 0, docs.buffer as ArrayBuffer, start * 8, rows * 8);
        bindings.copy_data_to_vector(vec(2), 0, tfs.buffer as ArrayBuffer, start * 4, rows * 4);
        postAppender.appendDataChunk(chunk);
      }
    });
  }

  async onDelete(tx: Tx, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const gone = await tx.all<{ doc: bigint }>(
      'DELETE FROM kw_docs WHERE chunk_id IN (SELECT unnest($ids)) RETURNING doc',
      { ids: varcharList(ids) },
      { ids: VARCHAR_LIST },
    );
    if (gone.length === 0) return;
    await tx.run(
      'DELETE FROM kw_postings WHERE doc IN (SELECT unnest($docs))',
      { docs: listValue(gone.map((g) => BigInt(g.doc))) },
      { docs: LIST(BIGINT) },
    );
  }

  /**
   * Chunks ranked by BM25 for `query` (tokenised like the indexed text), best first. With `perPage`, only
   * each page's best chunk, and `limit` counts pages.
   */
  async search(query: string, limit: number, o: KeywordSearchOptions = {}): Promise<KeywordHit[]> {
    const terms = [...new Set(tokenize(query))].slice(0, MAX_QUERY_TERMS);
    if (terms.length === 0 || limit < 1) return [];
    const filtered = !!o.tags && o.tags.length > 0;
    // Scores are summed per doc (an integer key) first; chunk ids and page ids are joined in afterwards,
    // only for what is returned (or, per page, for the scored docs). The tag filter runs once per chunk.
    const scored = `WITH stats AS (SELECT count(*)::DOUBLE AS n, coalesce(avg(len), 1)::DOUBLE AS avgdl FROM kw_docs),
       hits AS (SELECT term, doc, tf FROM kw_postings WHERE term IN (SELECT unnest($terms))),
       df AS (SELECT term, ln(1 + (s.n - count(*) + 0.5) / (count(*) + 0.5)) AS idf FROM hits, stats s GROUP BY term, s.n),
       docs AS (SELECT doc, len FROM kw_docs ${filtered ? 'WHERE list_has_any(tags, $tags)' : ''}),
       scored AS (
         SELECT h.doc, sum(df.idf * (h.tf * ${K1 + 1}) / (h.tf + ${K1} * (1 - ${B} + ${B} * d.len / s.avgdl))) AS score
         FROM hits h JOIN df USING (term) JOIN docs d ON d.doc = h.doc CROSS JOIN stats s
         GROUP BY h.doc)`;
    const sql = o.perPage
      ? `${scored},
         pages AS (
           SELECT coalesce(d.page_id, 'chunk:' || d.chunk_id) AS page_key, any_value(d.page_id) AS page_id,
                  arg_max(d.chunk_id, s.score) AS id, max(s.score) AS score
           FROM scored s JOIN kw_docs d ON d.doc = s.doc GROUP BY page_key)
         SELECT id, page_id, score FROM pages ORDER BY score DESC, id LIMIT $limit`
      : `${scored}
         SELECT d.chunk_id AS id, d.page_id, t.score
         FROM (SELECT doc, score FROM scored ORDER BY score DESC, doc LIMIT $limit) t JOIN kw_docs d ON d.doc = t.doc
         ORDER BY t.score DESC, t.doc`;
    const rows = await this.db.all<{ id: string; page_id: string | null; score: number }>(
      sql,
      { terms: listValue(terms.map(termHash)), limit, ...(filtered ? { tags: varcharList(o.tags!) } : {}) },
      { terms: LIST(BIGINT), ...(filtered ? { tags: VARCHAR_LIST } : {}) },
    );
    return rows.map((r) => ({ id: r.id, page_id: r.page_id, score: Number(r.score) }));
  }

  /** Chunks in the index. */
  async count(): Promise<number> {
    const [row] = await this.db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM kw_docs');
    return row?.n ?? 0;
  }

  /**
   * Indexes stored chunks that are not in the index yet (chunks written before the index existed, e.g. by
   * an older version), in batches of one transaction each. Returns how many chunks were added.
   */
  async indexMissing(batch = 5000): Promise<number> {
    let total = 0;
    let after = -1n;
    for (;;) {
      const rows = await this.db.all<{ id: string; seq: bigint; text: string; title: string | null; heading_path: string | null; page_id: string | null; tags: string[] | null }>(
        `SELECT e.id, e.seq, coalesce(e.text_chunk, '') AS text, e.title, e.heading_path, e.page_id, e.tags
         FROM document_embeddings e ANTI JOIN kw_docs d ON d.doc = e.seq
         WHERE e.seq > ? ORDER BY e.seq LIMIT ?`,
        [after, batch],
      );
      if (rows.length === 0) return total;
      await this.db.transaction(async (tx) => {
        // Skip rows deleted (or indexed by the hook) since they were read.
        const still = await tx.all<{ seq: bigint }>(
          `SELECT e.seq FROM document_embeddings e ANTI JOIN kw_docs d ON d.doc = e.seq
           WHERE e.seq IN (SELECT unnest($seqs))`,
          { seqs: listValue(rows.map((r) => BigInt(r.seq))) },
          { seqs: LIST(BIGINT) },
        );
        const keep = new Set(still.map((s) => BigInt(s.seq)));
        const chunks = rows.filter((r) => keep.has(BigInt(r.seq))).map((r) => ({ ...r, seq: BigInt(r.seq), tags: r.tags ?? [] }));
        await this.onInsert(tx, chunks);
        total += chunks.length;
      });
      after = BigInt(rows[rows.length - 1]!.seq);
    }
  }

  /** Drops the whole index and builds it again from the stored chunks. Returns how many chunks were indexed. */
  async rebuild(): Promise<number> {
    await this.db.transaction(async (tx) => {
      await tx.run('DELETE FROM kw_postings');
      await tx.run('DELETE FROM kw_docs');
    });
    return this.indexMissing();
  }
}

