/**
 * A one-time rewrite of the URLs a database holds, for a change of the crawler's URL normalisation that older
 * files predate. Not a schema version: the tables do not change, and a file opened read-only (which cannot be
 * rewritten, and cannot crawl either) stays readable by this Doctor and by the one before.
 */
import type { Database, Tx } from '../db/database.js';
import { getMeta, setMeta } from '../db/meta.js';
import { withSamePercentEncoding } from '../text/percent-escapes.js';
import { VARCHAR_LIST, varcharList } from './sql-values.js';

/** The meta key recording which URL forms the stored URLs have. */
export const URL_FORMS_KEY = 'url_forms';
/** 1: percent-escapes written one way (2026-12-04). */
const URL_FORMS = '1';

/** Rewrites stored URLs to the forms the crawler writes now, once per file (a write open). */
export async function upgradeUrlForms(db: Database): Promise<void> {
  if ((await getMeta(db, URL_FORMS_KEY)) === URL_FORMS) return;
  await db.transaction(async (tx) => {
    await rewrite(tx);
    await setMeta(tx, URL_FORMS_KEY, URL_FORMS);
  });
}

/**
 * Page URLs stored with percent-escapes the crawler now writes another way (`%7e` -> `~`, `%2f` ->
 * `%2F`, see text/percent-escapes.ts) take the new form, with their chunks' URLs and the frontier rows of
 * unfinished crawls, so that a re-crawl replaces those pages (a URL keeps one page) instead of storing them
 * again beside the old ones. A page whose new URL another page already holds (both forms were crawled)
 * keeps its URL, as does a frontier row whose new URL its job already has. Set-based: a site of escaped
 * URLs (CJK paths) may hold tens of thousands.
 */
async function rewrite(tx: Tx): Promise<void> {
  const rows = await tx.all<{ id: string; url: string }>("SELECT id, url FROM pages WHERE contains(url, '%') ORDER BY crawl_date DESC, id");
  const moves = new Map<string, { id: string; from: string }>();
  for (const r of rows) {
    const to = withSamePercentEncoding(r.url);
    if (to !== null && to !== r.url && !moves.has(to)) moves.set(to, { id: r.id, from: r.url });
  }
  if (moves.size) {
    await tx.run(
      `CREATE OR REPLACE TEMP TABLE url_forms AS
         SELECT * FROM (SELECT unnest($ids) AS id, unnest($froms) AS old_url, unnest($tos) AS new_url)
         WHERE new_url NOT IN (SELECT url FROM pages)`,
      { ids: varcharList([...moves.values()].map((m) => m.id)), froms: varcharList([...moves.values()].map((m) => m.from)), tos: varcharList([...moves.keys()]) },
      { ids: VARCHAR_LIST, froms: VARCHAR_LIST, tos: VARCHAR_LIST },
    );
    await tx.run('UPDATE pages SET url = f.new_url FROM url_forms f WHERE pages.id = f.id');
    await tx.run('UPDATE document_embeddings SET url = f.new_url FROM url_forms f WHERE document_embeddings.page_id = f.id AND document_embeddings.url = f.old_url');
    await tx.run('DROP TABLE url_forms');
  }
  // crawl_frontier's key is (job_id, url): a row moves only when its job has no row at the new URL yet
  const frontier = await tx.all<{ job_id: string; url: string }>("SELECT job_id, url FROM crawl_frontier WHERE contains(url, '%')");
  for (const f of frontier) {
    const to = withSamePercentEncoding(f.url);
    if (to === null || to === f.url) continue;
    await tx.run('UPDATE crawl_frontier SET url = ? WHERE job_id = ? AND url = ? AND NOT EXISTS (SELECT 1 FROM crawl_frontier c WHERE c.job_id = ? AND c.url = ?)', [to, f.job_id, f.url, f.job_id, to]);
  }
}
