/** The `pages` table: one row per crawled URL, with its Markdown and its place in the site. */
import { INTEGER, LIST, TIMESTAMPTZ, VARCHAR, listValue } from '../db/duckdb.js';
import type { Database, Tx } from '../db/database.js';
import { appendInChunks } from './appender.js';
import type { VectorIndexer } from './embeddings.js';
import { VARCHAR_LIST, timestamptz, toDate, varcharList } from './sql-values.js';

export interface PageRecord {
  id: string;
  url: string;
  domain: string | null;
  title: string | null;
  raw_text: string | null;
  crawl_date: Date;
  tags: string[];
  job_id: string | null;
  parent_page_id: string | null;
  root_page_id: string | null;
  depth: number;
  path: string | null;
  content_hash: string | null;
}

/** Page list entries leave out the text. */
export type PageSummary = Omit<PageRecord, 'raw_text'>;

export interface PageSelector {
  ids?: readonly string[];
  tags?: readonly string[];
  domain?: string;
  /** Pages of this site: its root page and every page under it. */
  rootPageId?: string;
}

export interface DeleteResult {
  pages: number;
  chunks: number;
  page_ids: string[];
}

const SUMMARY_COLUMNS =
  'id, url, domain, title, crawl_date, tags, job_id, parent_page_id, root_page_id, depth, path, content_hash';

type Queryable = Pick<Database, 'all'> | Pick<Tx, 'all'>;

/** A page row to write: `replace` when a stored row may have its id; `keepsChunks` when its stored chunks stay. */
type PageRow = { page: PageRecord; replace: boolean; keepsChunks: boolean };

export class PageStore {
  constructor(
    private readonly db: Database,
    private readonly chunks: VectorIndexer,
  ) {}

  /**
   * Inserts the page, or replaces the row with the same id (`isNew`: the caller knows there is none). Rows go
   * in through an appender after a DELETE of the ids they replace (~1 ms of DuckDB CPU per page, against ~10 ms
   * for an INSERT OR REPLACE); in a batched transaction (a crawl's group commit) all of its pages at once,
   * just before COMMIT.
   */
  async upsert(tx: Tx, page: PageRecord, opts: { isNew?: boolean; keepsChunks?: boolean } = {}): Promise<void> {
    const keepsChunks = opts.keepsChunks === true;
    if (tx.batched) {
      const rows = tx.deferred<Map<string, PageRow>>(this, () => new Map(), (r) => this.appendPages(tx, [...r.values()]));
      rows.set(page.id, { page, replace: !opts.isNew || rows.has(page.id), keepsChunks });
      return;
    }
    await this.appendPages(tx, [{ page, replace: !opts.isNew, keepsChunks }]);
  }

  /**
   * Writes page rows with one appender, after one DELETE of those that may replace a stored row (an id
   * list of placeholders, so that DuckDB looks them up in the primary-key index).
   *
   * The rows are checked against the table as it is now, not as it was when their pages were read (another
   * crawl, an import or a delete may have committed since): a URL keeps one page, so a stored page of the same
   * URL under another id (another crawl stored it meanwhile) is replaced, chunks and all; and a row that only
   * refreshes a stored page keeping its chunks (`keepsChunks`) is dropped when that page was deleted meanwhile,
   * instead of coming back without chunks.
   */
  private async appendPages(tx: Tx, all: readonly PageRow[]): Promise<void> {
    if (all.length === 0) return;
    const stored: { id: string; url: string; root_page_id: string | null }[] = [];
    const urls = [...new Set(all.map((r) => r.page.url))];
    for (let start = 0; start < urls.length; start += 500) {
      const part = urls.slice(start, start + 500);
      stored.push(
        ...(await tx.all<{ id: string; url: string; root_page_id: string | null }>(
          `SELECT id, url, root_page_id FROM pages WHERE url IN (${part.map(() => '?').join(', ')})`,
          part,
        )),
      );
    }
    const present = new Map(stored.map((s) => [s.id, s]));
    // A page re-crawled unchanged keeps its row: its crawl date, job and place are updated in place. Deleting
    // and appending it again (its whole text) grew the file at every re-crawl of an unchanged site, as DuckDB
    // does not reuse the space of deleted rows in a row group that still holds others.
    const refresh = all.filter((r) => {
      const s = r.keepsChunks ? present.get(r.page.id) : undefined;
      return s !== undefined && s.url === r.page.url && s.root_page_id === r.page.root_page_id;
    });
    if (refresh.length) await this.refreshRows(tx, refresh.map((r) => r.page));
    const refreshed = new Set(refresh);
    const rows = all.filter((r) => (!r.keepsChunks || present.has(r.page.id)) && !refreshed.has(r));
    if (rows.length === 0) return;
    const ids = new Set(all.map((r) => r.page.id));
    const written = new Set(rows.map((r) => r.page.url));
    const others = stored.filter((s) => !ids.has(s.id) && written.has(s.url)).map((s) => s.id);
    if (others.length) {
      await this.chunks.deleteByPageIds(tx, others);
      await tx.run('DELETE FROM pages WHERE id IN (SELECT unnest($ids))', { ids: varcharList(others) }, { ids: VARCHAR_LIST });
    }
    const replaced = rows.filter((r) => r.replace).map((r) => r.page.id);
    for (let start = 0; start < replaced.length; start += 500) {
      const part = replaced.slice(start, start + 500);
      await tx.run(`DELETE FROM pages WHERE id IN (${part.map(() => '?').join(', ')})`, part);
    }
    const types = [VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR, TIMESTAMPTZ, LIST(VARCHAR), VARCHAR, VARCHAR, VARCHAR, INTEGER, VARCHAR, VARCHAR];
    const pages = rows.map((r) => r.page);
    await appendInChunks(tx.connection, 'pages', types, pages, (_chunk, _part, col) => {
      col(0, (p) => p.id);
      col(1, (p) => p.url);
      col(2, (p) => p.domain);
      col(3, (p) => p.title);
      col(4, (p) => p.raw_text);
      col(5, (p) => timestamptz(p.crawl_date));
      col(6, (p) => listValue([...p.tags]));
      col(7, (p) => p.job_id);
      col(8, (p) => p.parent_page_id);
      col(9, (p) => p.root_page_id);
      col(10, (p) => p.depth);
      col(11, (p) => p.path);
      col(12, (p) => p.content_hash);
    });
  }

  /**
   * Updates stored pages in place, leaving their text, URL, root and tags as stored (the caller checked they
   * are the same): only columns without an index, which DuckDB updates in place (an indexed one would make the
   * update a delete and an insert).
   */
  private async refreshRows(tx: Tx, pages: readonly PageRecord[]): Promise<void> {
    const column = <T>(f: (p: PageRecord) => T) => listValue(pages.map(f) as never[]);
    await tx.run(
      `UPDATE pages SET domain = v.domain, title = v.title, crawl_date = v.crawl_date, job_id = v.job_id,
         parent_page_id = v.parent_page_id, depth = v.depth, path = v.path
       FROM (SELECT unnest($ids) AS id, unnest($domains) AS domain, unnest($titles) AS title, unnest($dates) AS crawl_date,
               unnest($jobs) AS job_id, unnest($parents) AS parent_page_id, unnest($depths) AS depth, unnest($paths) AS path) v
       WHERE pages.id = v.id`,
      {
        ids: column((p) => p.id),
        domains: column((p) => p.domain),
        titles: column((p) => p.title),
        dates: column((p) => timestamptz(p.crawl_date)),
        jobs: column((p) => p.job_id),
        parents: column((p) => p.parent_page_id),
        depths: column((p) => p.depth),
        paths: column((p) => p.path),
      },
      {
        ids: VARCHAR_LIST,
        domains: VARCHAR_LIST,
        titles: VARCHAR_LIST,
        dates: LIST(TIMESTAMPTZ),
        jobs: VARCHAR_LIST,
        parents: VARCHAR_LIST,
        depths: LIST(INTEGER),
        paths: VARCHAR_LIST,
      },
    );
  }

  async get(id: string, db: Queryable = this.db): Promise<PageRecord | undefined> {
    const rows = await db.all<PageRecord>(`SELECT ${SUMMARY_COLUMNS}, raw_text FROM pages WHERE id = ?`, [id]);
    return rows[0] ? toPage(rows[0]) : undefined;
  }

  /**
   * The first `maxChars` characters of a page's text and its whole length, without reading the rest into
   * this process (search_docs' full-text answers are bounded with it).
   */
  async textHead(id: string, maxChars: number): Promise<{ text: string; length: number } | undefined> {
    const rows = await this.db.all<{ text: string | null; length: number | bigint | null }>(
      'SELECT substr(raw_text, 1, ?) AS text, length(raw_text) AS length FROM pages WHERE id = ?',
      [Math.max(0, Math.floor(maxChars)), id],
    );
    const row = rows[0];
    return row && row.text !== null ? { text: row.text, length: Number(row.length ?? 0) } : undefined;
  }

  /** The newest stored page with this URL (a crawl looks this up for every page it stores). */
  async getByUrl(url: string, db: Queryable = this.db): Promise<PageRecord | undefined> {
    // The newest is picked here, not with ORDER BY crawl_date DESC LIMIT 1: DuckDB plans that as a top-N of
    // row ids joined back to a full scan of pages, which reads every stored page's text on each lookup
    // (~3 ms at 600 pages, growing with the table); a plain equality is an index lookup of the few rows.
    const rows = await db.all<PageRecord>(`SELECT ${SUMMARY_COLUMNS}, raw_text FROM pages WHERE url = ?`, [url]);
    let newest: PageRecord | undefined;
    for (const row of rows.map(toPage)) if (!newest || row.crawl_date > newest.crawl_date) newest = row;
    return newest;
  }

  /** Summaries (no text) of the pages with these ids. */
  async summaries(ids: readonly string[]): Promise<Map<string, PageSummary>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.all<PageSummary>(
      `SELECT ${SUMMARY_COLUMNS} FROM pages WHERE id IN (SELECT unnest($ids))`,
      { ids: varcharList(ids) },
      { ids: VARCHAR_LIST },
    );
    return new Map(rows.map((r) => [r.id, toPage(r)]));
  }

  /** A page of summaries, newest first, optionally only pages having any of `tags`. */
  async list(opts: { tags?: readonly string[]; domain?: string; offset?: number; limit?: number } = {}): Promise<{
    pages: PageSummary[];
    total: number;
  }> {
    const { where, params } = selectorWhere({ tags: opts.tags, domain: opts.domain });
    const types = { tags: VARCHAR_LIST };
    const [count] = await this.db.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM pages ${where}`, params, types);
    const rows = await this.db.all<PageSummary>(
      `SELECT ${SUMMARY_COLUMNS} FROM pages ${where} ORDER BY crawl_date DESC, id LIMIT $limit OFFSET $offset`,
      { ...params, limit: opts.limit ?? 100, offset: opts.offset ?? 0 },
      types,
    );
    return { pages: rows.map(toPage), total: count?.n ?? 0 };
  }

  /**
   * Distinct tags over all pages; with `substring`, only those containing it (case-insensitive) or close to
   * it (Jaro-Winkler >= 0.85, so small typos still match).
   */
  async tags(substring?: string): Promise<string[]> {
    const rows = await this.db.all<{ tag: string }>(
      `SELECT DISTINCT tag FROM (SELECT unnest(tags) AS tag FROM pages)
       WHERE $s IS NULL OR contains(lower(tag), lower($s)) OR jaro_winkler_similarity(lower(tag), lower($s)) >= 0.85
       ORDER BY tag`,
      { s: substring ?? null },
      { s: undefined },
    );
    return rows.map((r) => r.tag);
  }

  /**
   * The pending or running crawl jobs that stored any of the selected pages, or start from one of them (a
   * re-crawl that has stored nothing yet).
   */
  async unfinishedJobsOf(selector: PageSelector): Promise<string[]> {
    const { where, params } = selectorWhere(selector);
    if (!where) return [];
    const rows = await this.db.all<{ job_id: string }>(
      `WITH sel AS (SELECT job_id, url FROM pages ${where})
       SELECT job_id FROM jobs WHERE status IN ('pending', 'running')
         AND (job_id IN (SELECT job_id FROM sel) OR start_url IN (SELECT url FROM sel))
       ORDER BY created_at, job_id`,
      params,
      { tags: VARCHAR_LIST, ids: VARCHAR_LIST },
    );
    return rows.map((r) => r.job_id);
  }

  /** The sites (root page ids: a page without a root is its own) of the selected pages. */
  async rootsOf(selector: PageSelector): Promise<string[]> {
    const { where, params } = selectorWhere(selector);
    if (!where) return [];
    const rows = await this.db.all<{ root: string }>(`SELECT DISTINCT coalesce(root_page_id, id) AS root FROM pages ${where}`, params, {
      tags: VARCHAR_LIST,
      ids: VARCHAR_LIST,
    });
    return rows.map((r) => r.root);
  }

  /** Deletes the selected pages and all their chunks in one transaction. */
  async delete(selector: PageSelector): Promise<DeleteResult> {
    const { where, params } = selectorWhere(selector);
    if (!where) return { pages: 0, chunks: 0, page_ids: [] };
    return this.db.transaction(async (tx) => {
      const rows = await tx.all<{ id: string }>(`SELECT id FROM pages ${where}`, params, { tags: VARCHAR_LIST, ids: VARCHAR_LIST });
      const ids = rows.map((r) => r.id);
      if (ids.length === 0) return { pages: 0, chunks: 0, page_ids: [] };
      const chunks = await this.chunks.deleteByPageIds(tx, ids);
      await tx.run('DELETE FROM pages WHERE id IN (SELECT unnest($ids))', { ids: varcharList(ids) }, { ids: VARCHAR_LIST });
      return { pages: ids.length, chunks, page_ids: ids };
    });
  }

  /** Sites: pages that are the root of a crawl, with how many pages hang under each. */
  async roots(): Promise<(PageSummary & { page_count: number; last_crawl: Date })[]> {
    const rows = await this.db.all<PageSummary & { page_count: number; last_crawl: Date }>(
      `SELECT r.id, r.url, r.domain, r.title, r.crawl_date, r.tags, r.job_id, r.parent_page_id, r.root_page_id, r.depth,
              r.path, r.content_hash, count(p.id)::INTEGER AS page_count, max(p.crawl_date) AS last_crawl
       FROM pages r JOIN pages p ON p.root_page_id = r.id
       WHERE r.root_page_id = r.id
       GROUP BY ALL ORDER BY r.domain, r.url`,
    );
    return rows.map((r) => ({ ...toPage(r), last_crawl: toDate(r.last_crawl) }));
  }

  /** Every page under a root (summaries), shallowest first. */
  async underRoot(rootId: string): Promise<PageSummary[]> {
    const rows = await this.db.all<PageSummary>(
      `SELECT ${SUMMARY_COLUMNS} FROM pages WHERE root_page_id = ? ORDER BY depth, url`,
      [rootId],
    );
    return rows.map(toPage);
  }

  /** Pages whose parent is `id`. */
  async children(id: string): Promise<PageSummary[]> {
    const rows = await this.db.all<PageSummary>(`SELECT ${SUMMARY_COLUMNS} FROM pages WHERE parent_page_id = ? ORDER BY url`, [id]);
    return rows.map(toPage);
  }

  async count(): Promise<number> {
    const [row] = await this.db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM pages');
    return row?.n ?? 0;
  }
}

/** WHERE clause for a selector: conditions are ANDed; each value is a bound parameter. */
function selectorWhere(sel: PageSelector): { where: string; params: Record<string, ReturnType<typeof varcharList> | string> } {
  const conds: string[] = [];
  const params: Record<string, ReturnType<typeof varcharList> | string> = {};
  if (sel.ids && sel.ids.length) {
    conds.push('id IN (SELECT unnest($ids))');
    params.ids = varcharList(sel.ids);
  }
  if (sel.tags && sel.tags.length) {
    conds.push('list_has_any(tags, $tags)');
    params.tags = varcharList(sel.tags);
  }
  if (sel.domain) {
    conds.push('domain = $domain');
    params.domain = sel.domain;
  }
  if (sel.rootPageId) {
    conds.push('coalesce(root_page_id, id) = $root');
    params.root = sel.rootPageId;
  }
  return { where: conds.length ? `WHERE ${conds.join(' AND ')}` : '', params };
}

function toPage<T extends PageSummary>(row: T): T {
  return { ...row, crawl_date: toDate(row.crawl_date), tags: row.tags ?? [], depth: Number(row.depth ?? 0) };
}
