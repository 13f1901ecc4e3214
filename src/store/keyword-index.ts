/**
 * The BM25 keyword index over chunks: persisted in DuckDB, searched in memory.
 *
 * - DuckDB (`kw_docs`, the source of truth): one row per chunk with its seq (`doc`), BM25 length and terms
 *   (64-bit term hashes with their counts, see src/text/chunk-terms.ts), written by a ChunkHook in the same
 *   transaction as the chunk, and deleted with it (`DELETE ... RETURNING` gives back the deleted chunk's
 *   terms). So the table always matches `document_embeddings`, whatever happens to the process.
 * - Memory (inverted-index.ts, searched by bm25-search.ts): posting lists in typed arrays, derived from
 *   `kw_docs`: loaded on open, and changed after each commit (Tx.onCommit) by exactly what that transaction
 *   wrote. A crash between a commit and the memory update loses nothing: the next open loads the table.
 *   An update that fails marks the memory stale, and the next search reloads it from the table.
 * - Chunks stored without keyword rows (older versions, or a tokeniser change, which drops every row) are
 *   tokenised and written on open (`indexMissing`).
 * - A file beside the database (`<db>.keywords`, keyword-snapshot.ts) keeps the memory's arrays between
 *   runs: on open it is read and brought up to `kw_docs` (chunks added and deleted since its save), instead
 *   of rebuilding every posting list; without it (or when it is damaged) the rows are read. It is saved in
 *   the background after changes (at most 2% of the time) and on close.
 *
 * DuckDB's `fts` extension is not used: it cannot be installed offline and its index does not follow table
 * changes.
 */
import { BIGINT, DuckDBDataChunk, bindings, INTEGER, LIST, USMALLINT, listValue, type DuckDBListValue, type DuckDBType, type DuckDBValue } from '../db/duckdb.js';
import type { Database, Tx } from '../db/database.js';
import { getMeta, setMeta } from '../db/meta.js';
import type { Logger } from '../log.js';
import { chunkTerms, type ChunkTerms } from '../text/chunk-terms.js';
import { MAY_DECOMPOSE_RE, SPACELESS_RE, queryTerms } from '../text/tokenize.js';
import { appendInChunks } from './appender.js';
import { absentWords, planQuery, scorePages, tagSetFilter, topPages, type QueryPlan } from './bm25-search.js';
import type { ChunkHook, DeletedChunk, IndexedChunk } from './embeddings.js';
import { InvertedIndex, type DocInput, type IndexStats } from './inverted-index.js';
import { readSnapshot, serialise, snapshotPathOf, writeSnapshot } from './keyword-snapshot.js';

/**
 * Recorded in `meta.keyword_tokenizer`: a database indexed with another tokeniser (or term weighting) is
 * re-indexed from its chunks on open. Change it whenever src/text/ changes what terms a text gives.
 */
export const TOKENIZER_VERSION = 'kw6: words (with their marks, composed; Thai, Lao, Khmer, Burmese by ICU words) + identifier parts + capitalised pairs + CJK bigrams; links as their text; title x2, heading x2; fnv/mx 64-bit';
const KW5 = 'kw5: words (with their marks, composed; Thai, Lao, Khmer, Burmese by ICU words) + identifier parts + capitalised pairs + CJK bigrams; title x2, heading x2; fnv/mx 64-bit';

/** A character class of tokenize.ts (`[...]`, \u escapes) as the body of an RE2 class (\x{...} escapes), for DuckDB. */
const re2Class = (re: RegExp) => re.source.replace(/^\[|\]$/g, '').replace(/\\u\{?([0-9a-f]{4,5})\}?/gi, '\\x{$1}');

/**
 * Earlier tokenisers whose terms differ from this one's only for some chunks: opening a database indexed by
 * one re-indexes the chunks whose text, title or heading path matches its pattern (RE2) instead of every
 * chunk. kw4 split words at combining marks, did not compose and kept Thai, Lao, Khmer and Burmese runs whole:
 * a chunk holding no mark, Jamo or compatibility ideograph (MAY_DECOMPOSE_RE) and no letter of those scripts
 * (SPACELESS_RE) has the same terms in both. kw5 also read a Markdown link's destination and title as words
 * (each link to `json1.html#jex` counted "json1", "html", "jex"): only a chunk holding `](` differs from kw6.
 */
const LINKS_RE2 = '\\]\\(';
const PARTIAL_REINDEX: Readonly<Record<string, string>> = {
  'kw4: words + identifier parts + capitalised pairs + CJK bigrams; title x2, heading x2; fnv/mx 64-bit': `[${re2Class(MAY_DECOMPOSE_RE)}${re2Class(SPACELESS_RE)}]|${LINKS_RE2}`,
  [KW5]: LINKS_RE2,
};


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

/** A page as the keyword side ranks it. */
export interface KeywordPage {
  /** Page id; a chunk stored without a page stands for itself as `chunk:<id>`. */
  pageKey: string;
  /** The page's best chunk for the query. */
  chunkId: string;
  /** BM25 of that chunk. */
  score: number;
}

export interface ScoredPage extends KeywordPage {
  /** BM25 of the page as one document (its chunks' counts and lengths summed). */
  pageScore: number;
}

/** A prepared query: its terms looked up once, for several calls. */
export interface KeywordQuery {
  readonly plan: QueryPlan;
  /** Words of the query that no indexed chunk holds (bm25-search.ts absentWords). */
  readonly absent: readonly string[];
  /** Chunks in the index when the query was prepared. */
  readonly indexed: number;
}

interface Pending {
  inserts: Map<number, DocInput>;
  deletes: { seq: number; words: Int32Array }[];
}

export class KeywordIndex implements ChunkHook {
  private index = new InvertedIndex();
  private readonly pending = new WeakMap<Tx, Pending>();
  private loading: Promise<void> | undefined;
  private stale = true;
  /** Large commits' changes being applied in slices (see apply), in commit order. */
  private applying: Promise<void> | undefined;
  /** Counts loads of the memory: a change committed before a load is in it already. */
  private generation = 0;
  private compactScheduled = false;
  private dirty = false;
  private closed = false;
  private saving: Promise<void> | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private lastSaveMs = 0;
  private lastSaveEnd = 0;
  private readonly snapshotPath: string | undefined;
  /** Milliseconds the last load took, and how it went. */
  lastLoadMs = 0;
  loadedHow = '';

  constructor(
    private readonly db: Database,
    private readonly log?: Logger,
  ) {
    this.snapshotPath = db.isMemory ? undefined : snapshotPathOf(db.path);
  }

  // ---- writes (inside the chunk's transaction) -------------------------------------------------------

  async onInsert(tx: Tx, chunks: readonly IndexedChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    const docs: DocInput[] = chunks.map((c) => {
      const t = c.terms ? checkTerms(c.terms) : chunkTerms(c);
      return { seq: Number(c.seq), id: c.id, pageId: c.page_id, tags: c.tags, length: t.length, words: t.words, counts: t.counts };
    });
    await appendDocs(tx, docs);
    const p = this.pendingOf(tx);
    for (const d of docs) p.inserts.set(d.seq, d);
  }

  async onDelete(tx: Tx, deleted: readonly DeletedChunk[]): Promise<void> {
    if (deleted.length === 0) return;
    const gone = await tx.all<{ doc: bigint; terms: bigint[] }>(
      'DELETE FROM kw_docs WHERE doc IN (SELECT unnest($docs)) RETURNING doc, terms',
      { docs: listOf(deleted.map((d) => BigInt(d.seq))) },
      { docs: LIST(BIGINT) },
    );
    const p = this.pendingOf(tx);
    for (const g of gone) {
      const seq = Number(g.doc);
      if (p.inserts.delete(seq)) continue; // inserted and deleted in this transaction
      p.deletes.push({ seq, words: wordsOf(g.terms) });
    }
  }

  private pendingOf(tx: Tx): Pending {
    let p = this.pending.get(tx);
    if (!p) {
      const created: Pending = { inserts: new Map(), deletes: [] };
      this.pending.set(tx, created);
      tx.onCommit(() => this.apply(created));
      p = created;
    }
    return p;
  }

  /**
   * After COMMIT: the memory takes exactly what the transaction wrote. A small transaction's changes are applied
   * at once; a large one's (one 20 MB document's ~20,000 chunks took ~0.4 s) in slices, between which the server
   * goes on answering. Searches wait for them (ready), and later commits apply after them, in order.
   */
  private apply(p: Pending): void {
    if (this.stale) return; // the next load reads the table, this transaction included
    const inserts = [...p.inserts.values()];
    const count = p.deletes.length + inserts.length;
    if (!this.applying && count <= APPLY_SLICE) {
      if (this.applyChanges(p.deletes, inserts, 0, count)) this.applied(count);
      return;
    }
    const generation = this.generation;
    const run = (this.applying ?? Promise.resolve()).then(async () => {
      for (let start = 0; start < count; start += APPLY_SLICE) {
        // a reload since this commit read its changes from the table
        if (generation !== this.generation || this.stale) return;
        if (!this.applyChanges(p.deletes, inserts, start, Math.min(count, start + APPLY_SLICE))) return;
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (generation === this.generation && !this.stale) this.applied(count);
    });
    this.applying = run;
    void run.finally(() => {
      if (this.applying === run) this.applying = undefined;
    });
  }

  /**
   * Applies changes [from, to) of a commit (its deletes, then its inserts) to the memory; false (and the memory
   * marked stale) when that fails.
   */
  private applyChanges(deletes: Pending['deletes'], inserts: readonly DocInput[], from: number, to: number): boolean {
    try {
      for (let i = from; i < to; i++) {
        if (i < deletes.length) this.index.remove(deletes[i]!.seq, deletes[i]!.words);
        else this.index.add(inserts[i - deletes.length]!);
      }
      return true;
    } catch (e) {
      this.stale = true;
      this.log?.error({ err: e }, 'keyword index: update after commit failed; it will be reloaded from the database');
      return false;
    }
  }

  private applied(changes: number): void {
    if (changes > 0) {
      this.dirty = true;
      this.scheduleSave();
    }
    this.maybeCompact();
  }

  /** Compaction runs outside the commit path, when the tail or the dead documents have grown large. */
  private maybeCompact(): void {
    const idx = this.index;
    const tailHeavy = idx.tailPostings > Math.max(1 << 20, idx.base.postings / 4);
    const deadHeavy = idx.deadDocs > Math.max(10_000, idx.liveDocs / 8);
    if ((!tailHeavy && !deadHeavy) || this.compactScheduled) return;
    this.compactScheduled = true;
    setImmediate(() => {
      this.compactScheduled = false;
      if (this.stale) return;
      const t0 = performance.now();
      this.index.compact();
      this.log?.debug({ ms: Math.round(performance.now() - t0), postings: this.index.base.postings }, 'keyword index compacted');
    });
  }

  // ---- loading ---------------------------------------------------------------------------------------

  /**
   * Makes the memory match the table: indexes chunks that have no keyword rows yet (after re-indexing
   * everything when the tokeniser changed), then loads the rows. Called by openStore; searches call it
   * when the memory is stale.
   */
  async open(): Promise<void> {
    if (this.db.readOnly) return this.openReadOnly();
    const before = await getMeta(this.db, 'keyword_tokenizer');
    if (before !== TOKENIZER_VERSION) {
      const only = before === undefined ? undefined : PARTIAL_REINDEX[before];
      await this.db.transaction(async (tx) => {
        if (only) {
          const holds = (column: string) => `regexp_matches(coalesce(${column}, ''), $pattern)`;
          await tx.run(
            `DELETE FROM kw_docs WHERE doc IN (SELECT seq FROM document_embeddings WHERE ${['text_chunk', 'title', 'heading_path'].map(holds).join(' OR ')})`,
            { pattern: only },
          );
        } else await tx.run('DELETE FROM kw_docs');
        await setMeta(tx, 'keyword_tokenizer', TOKENIZER_VERSION);
      });
    }
    // A tokeniser change re-indexes every chunk it changes (~4 minutes per million on 2 cores): say so, and how far it is.
    const [todo] = await this.db.all<{ n: number }>(
      'SELECT count(*)::INTEGER AS n FROM document_embeddings e ANTI JOIN kw_docs d ON d.doc = e.seq',
    );
    const total = todo?.n ?? 0;
    const why = before && before !== TOKENIZER_VERSION ? 'the keyword tokeniser changed' : 'chunks without keyword rows';
    if (total >= 10_000) this.log?.info({ chunks: total }, `keyword index: indexing ${total} stored chunks (${why}); keyword search waits until it is done`);
    let lastReport = Date.now();
    const missing = await this.indexMissing(5000, (done) => {
      if (Date.now() - lastReport < 5000) return;
      lastReport = Date.now();
      this.log?.info({ done, of: total }, `keyword index: ${done} of ${total} chunks indexed`);
    });
    if (missing > 0) this.log?.info({ chunks: missing }, 'keyword index: indexed stored chunks');
    await this.reload();
  }

  /** A database opened read-only: the rows as they are (chunks without rows are not searched by keyword, and said so). */
  private async openReadOnly(): Promise<void> {
    const [todo] = await this.db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM document_embeddings e ANTI JOIN kw_docs d ON d.doc = e.seq');
    const stale = (await getMeta(this.db, 'keyword_tokenizer')) !== TOKENIZER_VERSION;
    if (stale || todo?.n) {
      this.log?.warn(
        { chunks: todo?.n },
        `keyword index: ${stale ? 'made by an older tokeniser' : `${todo!.n} chunks without keyword rows`}; keyword search misses ${stale ? 'words it would find' : 'them'} until the database is opened once with write access`,
      );
    }
    await this.reload();
  }

  /** Waits until the memory is loaded and holds every committed change (see apply). */
  private async ready(fromTable = false): Promise<void> {
    for (;;) {
      if (this.stale) {
        this.loading ??= this.load(fromTable).finally(() => (this.loading = undefined));
        await this.loading;
      } else if (this.applying) await this.applying;
      else return;
    }
  }

  /** Makes the memory match the table again (from the saved file and the rows since, or from every row). */
  async reload(o: { fromTable?: boolean } = {}): Promise<void> {
    this.stale = true;
    await this.ready(o.fromTable);
  }

  private async load(fromTable: boolean): Promise<void> {
    const t0 = performance.now();
    // One transaction on the write connection: a consistent snapshot, and no commit can happen between the
    // read and the switch to the new index (commits wait for the write lock), so none is missed or doubled.
    await this.db.transaction(async (tx) => {
      let idx: InvertedIndex | undefined;
      let how = 'loaded from kw_docs';
      if (this.snapshotPath && !fromTable) {
        const saved = readSnapshot(this.snapshotPath, TOKENIZER_VERSION);
        if ('index' in saved) {
          const caught = await catchUp(tx, saved.index);
          if (caught !== undefined) {
            idx = saved.index;
            how = `loaded from ${this.snapshotPath}, ${caught.added} chunks added and ${caught.removed} removed since it was saved`;
            this.dirty = caught.added + caught.removed > 0;
          } else how = `${this.snapshotPath} disagrees with kw_docs: loaded from kw_docs`;
        } else if (saved.reason !== 'no saved index') how = `${this.snapshotPath} not used (${saved.reason}): loaded from kw_docs`;
      }
      if (!idx) {
        idx = await loadAll(tx);
        this.dirty = true;
      }
      this.index = idx;
      this.generation++; // changes committed before this snapshot and not yet applied are in it: dropped
      this.stale = false;
      this.loadedHow = how;
    });
    this.lastLoadMs = performance.now() - t0;
    this.log?.debug({ ms: Math.round(this.lastLoadMs), how: this.loadedHow, ...this.index.stats() }, 'keyword index ready');
    if (this.dirty) this.scheduleSave();
  }

  // ---- saving --------------------------------------------------------------------------------------------

  /** Saves soon (debounced), keeping automatic saves under SAVE_DUTY of the time. */
  private scheduleSave(): void {
    if (!this.snapshotPath || this.saveTimer || this.closed || this.db.readOnly) return;
    const wait = Math.max(SAVE_DELAY_MS, this.lastSaveEnd + this.lastSaveMs / SAVE_DUTY - Date.now());
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.save().catch((e) => this.log?.warn({ err: e }, 'keyword index: saving failed; it is rebuilt from the database when needed'));
    }, wait);
    this.saveTimer.unref();
  }

  /** Writes the in-memory index beside the database when it changed since it was loaded or saved. */
  async save(): Promise<void> {
    if (!this.snapshotPath || this.db.readOnly) return;
    while (this.saving || this.applying) await (this.saving ?? this.applying);
    if (!this.dirty || this.stale) return;
    const t0 = Date.now();
    if (this.index.tailPostings > 0 || this.index.deadDocs > 0) this.index.compact();
    const data = serialise(this.index, TOKENIZER_VERSION);
    this.dirty = false;
    this.saving = writeSnapshot(this.snapshotPath, data).finally(() => (this.saving = undefined));
    await this.saving;
    this.lastSaveMs = Date.now() - t0;
    this.lastSaveEnd = Date.now();
    this.log?.debug({ ms: this.lastSaveMs, bytes: data.length }, 'keyword index saved');
  }

  /** Saves when needed and stops background work (the store closes the database after). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    await this.save();
  }

  /**
   * Indexes stored chunks that have no keyword rows (written before the index existed, or before a
   * tokeniser change), in batches of one transaction each. Returns how many chunks were added.
   */
  async indexMissing(batch = 5000, onProgress?: (done: number) => void): Promise<number> {
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
          { seqs: listOf(rows.map((r) => BigInt(r.seq))) },
          { seqs: LIST(BIGINT) },
        );
        const keep = new Set(still.map((s) => BigInt(s.seq)));
        const chunks = rows.filter((r) => keep.has(BigInt(r.seq))).map((r) => ({ ...r, seq: BigInt(r.seq), tags: r.tags ?? [] }));
        await this.onInsert(tx, chunks);
        total += chunks.length;
      });
      onProgress?.(total);
      after = BigInt(rows[rows.length - 1]!.seq);
    }
  }

  /** Drops every keyword row and indexes the stored chunks again. Returns how many chunks were indexed. */
  async rebuild(): Promise<number> {
    await this.db.transaction((tx) => tx.run('DELETE FROM kw_docs'));
    const n = await this.indexMissing();
    await this.reload({ fromTable: true });
    return n;
  }

  // ---- queries ---------------------------------------------------------------------------------------

  /** Looks a query's terms up (see queryTerms: stop words only when there is nothing else). */
  async prepare(query: string): Promise<KeywordQuery> {
    await this.ready();
    return { plan: planQuery(this.index, queryTerms(query)), absent: absentWords(this.index, query), indexed: this.index.liveDocs };
  }

  /** The best `limit` pages by their best chunk's BM25 (exact top k, pruned), with the tag filter. */
  async topPages(q: KeywordQuery, limit: number, tags?: readonly string[]): Promise<KeywordPage[]> {
    await this.ready();
    const idx = this.index;
    return topPages(idx, q.plan, limit, tagSetFilter(idx, tags), true).map((h) => ({
      pageKey: idx.pageKeys[h.page]!,
      chunkId: idx.ids[h.doc]!,
      score: h.score,
    }));
  }

  /**
   * For each page key (unknown or emptied pages are left out): its best chunk's BM25 and the page-level
   * BM25. No tag filter: the caller passes pages that passed it.
   */
  async scorePages(q: KeywordQuery, pageKeys: readonly string[]): Promise<ScoredPage[]> {
    await this.ready();
    const idx = this.index;
    const ords = [...new Set(pageKeys)].map((k) => idx.pageOf.get(k)).filter((p): p is number => p !== undefined && idx.pageLive[p]! > 0);
    return scorePages(idx, q.plan, ords).map((s) => ({ pageKey: idx.pageKeys[s.page]!, chunkId: idx.ids[s.doc]!, score: s.score, pageScore: s.pageScore }));
  }

  /**
   * Chunks ranked by BM25 for `query`, best first. With `perPage`, only each page's best chunk, and `limit`
   * counts pages.
   */
  async search(query: string, limit: number, o: KeywordSearchOptions = {}): Promise<KeywordHit[]> {
    if (limit < 1) return [];
    const q = await this.prepare(query);
    const idx = this.index;
    return topPages(idx, q.plan, limit, tagSetFilter(idx, o.tags), o.perPage === true).map((h) => ({
      id: idx.ids[h.doc]!,
      page_id: idx.pageIds[idx.page[h.doc]!] ?? null,
      score: h.score,
    }));
  }

  /** Chunks in the index (in memory). */
  async count(): Promise<number> {
    await this.ready();
    return this.index.liveDocs;
  }

  /** Rows of `kw_docs` (the persisted index). */
  async storedCount(): Promise<number> {
    const [row] = await this.db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM kw_docs');
    return row?.n ?? 0;
  }

  /** Sizes of the in-memory index, and how its last load went. */
  async stats(): Promise<IndexStats & { loadMs: number; loadedFrom: string }> {
    await this.ready();
    return { ...this.index.stats(), loadMs: this.lastLoadMs, loadedFrom: this.loadedHow };
  }

  /** Forces a compaction now (benchmarks, tests). */
  async compact(): Promise<void> {
    await this.ready();
    this.index.compact();
  }
}

/** Changes (chunks added or removed) applied to the memory between two turns of the event loop. */
const APPLY_SLICE = 2048;

/** A saved index is saved at most this long after a change (unless saves have been slow, see SAVE_DUTY). */
const SAVE_DELAY_MS = 30_000;
/** Largest share of the time automatic saves may take (a save blocks for its compaction and copy). */
const SAVE_DUTY = 0.02;

/** Builds the index from every row of kw_docs (with the chunks' ids, pages and tags). */
async function loadAll(tx: Tx): Promise<InvertedIndex> {
  const idx = new InvertedIndex();
  const info = await chunkInfo(tx, 'SELECT seq, id, page_id, tags FROM document_embeddings');
  const bulk = idx.bulk();
  const result = await tx.connection.stream('SELECT doc, len, terms, tfs FROM kw_docs');
  for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
    readDocs(chunk, (seq, length, words, counts) => {
      const row = info.get(seq);
      if (row) bulk.add({ seq, id: row.id, pageId: row.pageId, tags: row.tags, length, words, counts });
    });
  }
  bulk.finish();
  return idx;
}

type ChunkInfo = Map<number, { id: string; pageId: string | null; tags: readonly string[] }>;

async function chunkInfo(tx: Tx, sql: string, params?: Record<string, DuckDBValue>, types?: Record<string, DuckDBType>): Promise<ChunkInfo> {
  const info: ChunkInfo = new Map();
  const rows = await tx.connection.stream(sql, params, types);
  for (let chunk = await rows.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await rows.fetchChunk()) {
    const seqs = chunk.getColumnVector(0).toArray() as bigint[];
    const ids = chunk.getColumnVector(1).toArray() as string[];
    const pages = chunk.getColumnVector(2).toArray() as (string | null)[];
    const tags = chunk.getColumnVector(3).toArray() as (DuckDBListValue | null)[];
    for (let i = 0; i < chunk.rowCount; i++) {
      info.set(Number(seqs[i]), { id: ids[i]!, pageId: pages[i] ?? null, tags: (tags[i]?.items ?? []) as string[] });
    }
  }
  return info;
}

/**
 * Brings a saved index up to kw_docs: chunks stored since the save are added, chunks deleted since are
 * removed (then document frequencies are recounted). Returns undefined when the file does not describe this
 * table (a sample of lengths differs) or when so much changed that loading everything is cheaper.
 */
async function catchUp(tx: Tx, idx: InvertedIndex): Promise<{ added: number; removed: number } | undefined> {
  // Every doc of kw_docs, read straight from the result vectors (BIGINT: two 32-bit words each).
  const dbSeqs: number[] = [];
  const result = await tx.connection.stream('SELECT doc FROM kw_docs');
  for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
    const words = new Int32Array(bindings.vector_get_data(bindings.data_chunk_get_vector(chunk.chunk, 0), chunk.rowCount * 8).slice().buffer);
    for (let i = 0; i < chunk.rowCount; i++) dbSeqs.push((words[2 * i]! >>> 0) + words[2 * i + 1]! * 4294967296);
  }
  let maxSeq = 0;
  for (const s of dbSeqs) if (s > maxSeq) maxSeq = s;
  const inDb = new Uint8Array(maxSeq + 1);
  for (const s of dbSeqs) inDb[s] = 1;
  const saved = idx.liveSeqs();
  const removed: number[] = [];
  const kept: number[] = [];
  for (const seq of saved) (seq <= maxSeq && inDb[seq] ? kept : removed).push(seq);
  const added = dbSeqs.filter((seq) => !idx.hasSeq(seq));
  if (added.length > dbSeqs.length / 2) return undefined;
  // The same seqs must hold the same chunks: compare the lengths of a sample.
  const sample = Array.from({ length: Math.min(64, kept.length) }, (_, i) => kept[Math.floor((i * kept.length) / Math.min(64, kept.length))]!);
  if (sample.length > 0) {
    const rows = await tx.all<{ doc: bigint; len: number }>('SELECT doc, len FROM kw_docs WHERE doc IN (SELECT unnest($docs))', { docs: listOf(sample.map(BigInt)) }, { docs: LIST(BIGINT) });
    for (const r of rows) if (idx.len[idx.docOfSeq[Number(r.doc)]!] !== r.len) return undefined;
  }
  for (const seq of removed) idx.markDead(seq);
  for (let i = 0; i < added.length; i += 10_000) {
    const part = added.slice(i, i + 10_000).map(BigInt);
    const params = { docs: listOf(part) };
    const types = { docs: LIST(BIGINT) };
    const info = await chunkInfo(tx, 'SELECT seq, id, page_id, tags FROM document_embeddings WHERE seq IN (SELECT unnest($docs))', params, types);
    const rows = await tx.connection.stream('SELECT doc, len, terms, tfs FROM kw_docs WHERE doc IN (SELECT unnest($docs)) ORDER BY doc', params, types);
    for (let chunk = await rows.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await rows.fetchChunk()) {
      readDocs(chunk, (seq, length, words, counts) => {
        const row = info.get(seq);
        // words/counts are views into this chunk's copy: the index keeps only what it derives from them
        if (row) idx.add({ seq, id: row.id, pageId: row.pageId, tags: row.tags, length, words, counts });
      });
    }
  }
  if (removed.length > 0) idx.compact({ recount: true });
  return { added: added.length, removed: removed.length };
}

/** Validates pre-tokenised terms handed in by a caller (e.g. a worker thread). */
function checkTerms(t: ChunkTerms): ChunkTerms {
  if (!(t.words instanceof Int32Array) || !(t.counts instanceof Uint16Array) || t.words.length !== 2 * t.counts.length || !Number.isFinite(t.length) || t.length < 0) {
    throw new Error('chunk terms must be { words: Int32Array (2 per term), counts: Uint16Array, length >= 0 } as chunkTerms() makes them.');
  }
  return t;
}

const listOf = (values: bigint[]) => listValue(values);

/** BIGINT term hashes (as DuckDB returns them) back to hash words. */
function wordsOf(terms: readonly bigint[]): Int32Array {
  const big = new BigInt64Array(terms.length);
  terms.forEach((t, i) => (big[i] = BigInt.asIntN(64, BigInt(t))));
  return new Int32Array(big.buffer);
}

/** Appends kw_docs rows, the term lists copied into DuckDB's list vectors as raw memory. */
async function appendDocs(tx: Tx, docs: readonly DocInput[]): Promise<void> {
  await appendInChunks(tx.connection, 'kw_docs', [BIGINT, INTEGER, LIST(BIGINT), LIST(USMALLINT)], docs, (chunk, part, col) => {
    col(0, (d) => BigInt(d.seq));
    col(1, (d) => d.length);
    const total = part.reduce((n, d) => n + d.counts.length, 0);
    const entries = new BigUint64Array(part.length * 2);
    const words = new Int32Array(total * 2);
    const counts = new Uint16Array(total);
    let at = 0;
    part.forEach((d, i) => {
      entries[2 * i] = BigInt(at);
      entries[2 * i + 1] = BigInt(d.counts.length);
      words.set(d.words, 2 * at);
      counts.set(d.counts, at);
      at += d.counts.length;
    });
    for (const [index, data] of [[2, words], [3, counts]] as const) {
      const vector = bindings.data_chunk_get_vector(chunk.chunk, index);
      bindings.list_vector_reserve(vector, Math.max(1, total));
      bindings.list_vector_set_size(vector, total);
      bindings.copy_data_to_vector(vector, 0, entries.buffer as ArrayBuffer, 0, entries.byteLength);
      bindings.copy_data_to_vector(bindings.list_vector_get_child(vector), 0, data.buffer as ArrayBuffer, 0, data.byteLength);
    }
  });
}

/** Reads a result chunk of (doc, len, terms, tfs), the term lists straight from DuckDB's memory. */
function readDocs(chunk: DuckDBDataChunk, onDoc: (seq: number, length: number, words: Int32Array, counts: Uint16Array) => void): void {
  const n = chunk.rowCount;
  const seqs = chunk.getColumnVector(0).toArray() as bigint[];
  const lens = chunk.getColumnVector(1).toArray() as number[];
  const termsVec = bindings.data_chunk_get_vector(chunk.chunk, 2);
  const tfsVec = bindings.data_chunk_get_vector(chunk.chunk, 3);
  const size = bindings.list_vector_get_size(termsVec);
  const tfSize = bindings.list_vector_get_size(tfsVec);
  // Copies: the views point into the chunk's memory, freed with the chunk.
  const entries = new BigUint64Array(bindings.vector_get_data(termsVec, n * 16).slice().buffer);
  const tfEntries = new BigUint64Array(bindings.vector_get_data(tfsVec, n * 16).slice().buffer);
  const words = new Int32Array(bindings.vector_get_data(bindings.list_vector_get_child(termsVec), size * 8).slice().buffer);
  const counts = new Uint16Array(bindings.vector_get_data(bindings.list_vector_get_child(tfsVec), tfSize * 2).slice().buffer);
  for (let i = 0; i < n; i++) {
    const off = Number(entries[2 * i]);
    const len = Number(entries[2 * i + 1]);
    const tfOff = Number(tfEntries[2 * i]);
    if (off + len > size || tfOff + len > tfSize || Number(tfEntries[2 * i + 1]) !== len) {
      throw new Error('kw_docs: unexpected list layout in a result chunk');
    }
    onDoc(Number(seqs[i]), lens[i]!, words.subarray(2 * off, 2 * (off + len)), counts.subarray(tfOff, tfOff + len));
  }
}
