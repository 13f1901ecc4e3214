/**
 * Counts over everything indexed, grouped the way people think of it: by site (the root page of a crawl)
 * and by tag. Read-only queries over `pages` and `document_embeddings`.
 */
import type { Database } from '../db/database.js';
import { toDate } from './sql-values.js';

export interface SiteStats {
  /** The site's root page id (a page that has no root counts as its own site). */
  root_page_id: string;
  /** The root page's URL and title; null when the root page itself was deleted. */
  url: string | null;
  title: string | null;
  domain: string | null;
  /** Every tag of the site's pages. */
  tags: string[];
  pages: number;
  chunks: number;
  last_crawl: Date;
  /** The job that crawled the root page (its settings serve a re-crawl). */
  job_id: string | null;
  /** The shallowest page's URL (stands in for the root's when the root page is gone). */
  first_url: string;
}

export interface TagStats {
  tag: string;
  sites: number;
  pages: number;
  chunks: number;
}

/** Chunks whose page has no row in `pages` (a Qdrant migration stores chunks only), by domain. */
export interface UnattachedChunks {
  domain: string | null;
  chunks: number;
}

const CHUNKS_PER_PAGE = 'SELECT page_id, count(*)::BIGINT AS n FROM document_embeddings GROUP BY page_id';

/** Sites, largest domain groups sorted by domain then URL. */
export async function siteStats(db: Database): Promise<SiteStats[]> {
  const rows = await db.all<SiteStats & { pages: number; chunks: bigint | number }>(
    `WITH c AS (${CHUNKS_PER_PAGE}),
     s AS (
       SELECT coalesce(p.root_page_id, p.id) AS root_page_id, count(*)::INTEGER AS pages,
              coalesce(sum(c.n), 0)::BIGINT AS chunks, max(p.crawl_date) AS last_crawl,
              list_sort(list_distinct(flatten(list(p.tags)))) AS tags, arg_min(p.url, p.depth) AS first_url,
              arg_min(p.domain, p.depth) AS first_domain
       FROM pages p LEFT JOIN c ON c.page_id = p.id
       GROUP BY 1)
     SELECT s.root_page_id, r.url, r.title, coalesce(r.domain, s.first_domain) AS domain, s.tags, s.pages, s.chunks,
            s.last_crawl, r.job_id, s.first_url
     FROM s LEFT JOIN pages r ON r.id = s.root_page_id
     ORDER BY domain, coalesce(r.url, s.first_url)`,
  );
  return rows.map((r) => ({
    ...r,
    tags: r.tags ?? [],
    pages: Number(r.pages),
    chunks: Number(r.chunks),
    last_crawl: toDate(r.last_crawl),
  }));
}

/** Every tag with how many sites, pages and chunks carry it, by tag. */
export async function tagStats(db: Database): Promise<TagStats[]> {
  const rows = await db.all<{ tag: string; sites: number; pages: number; chunks: bigint | number }>(
    `WITH c AS (${CHUNKS_PER_PAGE}),
     t AS (SELECT unnest(tags) AS tag, id, coalesce(root_page_id, id) AS site FROM pages)
     SELECT t.tag, count(DISTINCT t.site)::INTEGER AS sites, count(DISTINCT t.id)::INTEGER AS pages,
            coalesce(sum(c.n), 0)::BIGINT AS chunks
     FROM t LEFT JOIN c ON c.page_id = t.id
     GROUP BY t.tag ORDER BY t.tag`,
  );
  return rows.map((r) => ({ tag: r.tag, sites: Number(r.sites), pages: Number(r.pages), chunks: Number(r.chunks) }));
}

export async function unattachedChunks(db: Database): Promise<UnattachedChunks[]> {
  const rows = await db.all<{ domain: string | null; chunks: bigint | number }>(
    `SELECT e.domain, count(*)::BIGINT AS chunks FROM document_embeddings e
     WHERE NOT EXISTS (SELECT 1 FROM pages p WHERE p.id = e.page_id)
     GROUP BY e.domain ORDER BY e.domain`,
  );
  return rows.map((r) => ({ domain: r.domain, chunks: Number(r.chunks) }));
}
