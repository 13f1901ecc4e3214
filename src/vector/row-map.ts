/**
 * The engine's in-memory view of `document_embeddings`: seq -> (id, tags, page id), and how many rows carry each
 * tag. It turns index keys into chunk ids without a database round trip (the index answers in well under a
 * millisecond; a DuckDB lookup would cost more than the search), post-filters hits by tag, and estimates a
 * tag filter's selectivity. ~150 bytes a row (100k rows: ~15 MB); tag lists are shared between rows.
 */
export interface RowEntry {
  id: string;
  tags: readonly string[];
  /** Shared between the rows of one page (interned below). */
  pageId: string | null;
}

export class RowMap {
  private readonly rows = new Map<number, RowEntry>();
  private readonly tagCounts = new Map<string, number>();
  private readonly tagLists = new Map<string, readonly string[]>();
  /** Interned page ids with their row counts: a page's chunks share one string. */
  private readonly pageIds = new Map<string, { id: string; rows: number }>();
  private maxSeqSeen = 0;

  get size(): number {
    return this.rows.size;
  }

  /** The largest seq ever added (rows are never re-keyed: seq only grows). */
  get maxSeq(): number {
    return this.maxSeqSeen;
  }

  get(seq: number): RowEntry | undefined {
    return this.rows.get(seq);
  }

  has(seq: number): boolean {
    return this.rows.has(seq);
  }

  add(seq: number, id: string, tags: readonly string[], pageId: string | null): void {
    if (this.rows.has(seq)) this.remove(seq);
    const key = tags.join('\u0000');
    let shared = this.tagLists.get(key);
    if (!shared) {
      shared = Object.freeze([...tags]);
      this.tagLists.set(key, shared);
    }
    let page: string | null = null;
    if (pageId !== null) {
      const interned = this.pageIds.get(pageId);
      if (interned) interned.rows++;
      else this.pageIds.set(pageId, { id: pageId, rows: 1 });
      page = interned?.id ?? pageId;
    }
    this.rows.set(seq, { id, tags: shared, pageId: page });
    for (const t of new Set(shared)) this.tagCounts.set(t, (this.tagCounts.get(t) ?? 0) + 1);
    if (seq > this.maxSeqSeen) this.maxSeqSeen = seq;
  }

  remove(seq: number): boolean {
    const row = this.rows.get(seq);
    if (!row) return false;
    this.rows.delete(seq);
    if (row.pageId !== null) {
      const interned = this.pageIds.get(row.pageId);
      if (interned && --interned.rows <= 0) this.pageIds.delete(row.pageId);
    }
    for (const t of new Set(row.tags)) {
      const n = (this.tagCounts.get(t) ?? 1) - 1;
      if (n > 0) this.tagCounts.set(t, n);
      else this.tagCounts.delete(t);
    }
    return true;
  }

  /**
   * How many rows carry any of `tags`: exact for one tag, an upper bound for several (a row carrying two of
   * them counts twice). An overestimate only makes the over-fetch smaller, and an under-filled page falls
   * back to exact search, so results stay complete.
   */
  matchingUpperBound(tags: readonly string[]): number {
    let n = 0;
    for (const t of new Set(tags)) n += this.tagCounts.get(t) ?? 0;
    return Math.min(n, this.rows.size);
  }

  /** Rows with seq <= `seq` (to check a saved index's watermark against the table). */
  countUpTo(seq: number): number {
    let n = 0;
    for (const k of this.rows.keys()) if (k <= seq) n++;
    return n;
  }

  /** Seqs greater than `seq`, ascending. */
  seqsAfter(seq: number): number[] {
    const out: number[] = [];
    for (const k of this.rows.keys()) if (k > seq) out.push(k);
    return out.sort((a, b) => a - b);
  }

  clear(): void {
    this.rows.clear();
    this.tagCounts.clear();
    this.tagLists.clear();
    this.pageIds.clear();
    this.maxSeqSeen = 0;
  }
}
