/**
 * The site links (root_page_id, parent_page_id) of imported pages, checked before they are written.
 *
 * A page's root and parent are page ids, and an export may name any: a page of evil.example naming the root
 * page of docs.python.org stored here was listed in that site's map (/map/site/{root}) and among the
 * children of its pages. A crawl never links pages across sites: every page of a crawl is on its start
 * page's domain (its scope, `makeScopeFilter` in ingest/fetch/url.ts, keeps at most the registrable domain,
 * with private suffixes such as github.io counting as their own), and a local source's pages are all under
 * its base URL. So an imported page keeps a link only to a page that will be stored here after the import
 * (stored already and not replaced, or imported with it) on its own domain, read from both pages' URLs (not
 * from their `domain` column, which an export may set apart from the URL). A filtered export imported where
 * an earlier import stored its root keeps its links that way.
 *
 * Other links are dropped: a page whose parent is dropped has none (the site map puts it under its root, as
 * it did a parent that was not stored); pages whose root is dropped form a site of their own, rooted at the
 * shallowest of them with the same former root on the same domain (one site stands in for the missing or
 * foreign root, as the pages of a crawl were one site). Only the imported rows change; nothing stored does.
 */
import { getDomain } from 'tldts';
import type { Tx } from '../db/database.js';
import { VARCHAR_LIST, varcharList } from '../store/sql-values.js';

/** Pages whose root or parent link was dropped, and why; in the import's summary. */
export interface DetachedPages {
  /** Imported pages whose root or parent link was dropped. */
  pages: number;
  /** ... of them, those linked to a page on another domain. */
  other_domain: number;
  /** ... the others: linked to a page that is neither in the export nor stored here. */
  missing: number;
  /** One of them (one linked to another domain when there is one). */
  example: {
    page_id: string;
    url: string;
    link: 'root' | 'parent';
    /** The page id it named. */
    target_id: string;
    /** That page's URL, when it is stored here or in the export. */
    target_url: string | null;
  } | null;
}

/**
 * Which site a URL belongs to, for comparing two pages: for http(s), the registrable domain (as a crawl's
 * "domain" scope; the host itself when it has none: an IP address, localhost); for other schemes (file:),
 * the scheme and host. Null for a URL that does not parse (it then links to nothing).
 */
export function siteOf(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol === 'http:' || u.protocol === 'https:') {
    if (!u.hostname) return null;
    return getDomain(u.hostname, { allowPrivateDomains: true }) ?? u.hostname;
  }
  return `${u.protocol}//${u.hostname}`;
}

/**
 * The start of an http(s) or file URL up to the end of its host and port (`https://docs.python.org:443`),
 * when a /, a backslash, ? or # (or the end) follows: the WHATWG parser (Node's URL) ends the host of these
 * schemes there, so that start parses to the same host as the whole URL. Any other URL is parsed whole: one
 * with whitespace there in particular (the parser deletes a tab or newline and reads on, so
 * `https://docs.python.org<TAB>.evil.example/` is on evil.example).
 */
const ORIGIN = '^((?i:https?|file)://[^/\\\\?#\\s]*)(?:[/\\\\?#]|$)';

/** SQL: the part of `col` (a URL) that decides its site: its ORIGIN when it has one, else all of it. */
const originOf = (col: string) => `CASE WHEN regexp_matches(${col}, $origin) THEN regexp_extract(${col}, $origin, 1) ELSE ${col} END`;

/**
 * Drops the links of the pages about to be imported (temp table imp_pages, rows whose imp_plan action is
 * 'new' or 'replace') that name a page not on their domain or not there at all (see the module comment).
 * Runs after the replaced pages were deleted and before the imported ones are inserted, in the import's
 * transaction; changes imp_pages only.
 */
export async function detachForeignLinks(tx: Tx): Promise<DetachedPages> {
  // Every link of an imported page to another page, with the URL of the page it names: a page stored here
  // (the replaced ones are deleted by now) or one imported with it (their ids are not stored here: a page
  // whose id belongs to another URL here is skipped as an id conflict). Each URL comes with the part that
  // decides its site (see ORIGIN), so that only a few distinct values need parsing.
  await tx.run(
    `CREATE OR REPLACE TEMP TABLE imp_links AS
    WITH ins AS (SELECT i.id, i.url, i.root_page_id, i.parent_page_id FROM imp_pages i JOIN imp_plan p USING (id) WHERE p.action IN ('new', 'replace')),
    refs AS (
      SELECT id, url, 'root' AS link, root_page_id AS target FROM ins WHERE root_page_id IS NOT NULL AND root_page_id <> id
      UNION ALL
      SELECT id, url, 'parent' AS link, parent_page_id AS target FROM ins WHERE parent_page_id IS NOT NULL AND parent_page_id <> id),
    named AS (SELECT r.id, r.url, r.link, r.target, coalesce(s.url, a.url) AS target_url
      FROM refs r LEFT JOIN pages s ON s.id = r.target LEFT JOIN ins a ON a.id = r.target)
    SELECT *, ${originOf('url')} AS from_key, ${originOf('target_url')} AS to_key FROM named`,
    { origin: ORIGIN },
  );
  // The sites of those keys (URL parsing and the public suffix list are not SQL), back as bound lists.
  const keys = await tx.all<{ k: string }>(
    'SELECT DISTINCT k FROM (SELECT from_key AS k FROM imp_links UNION ALL SELECT to_key AS k FROM imp_links WHERE to_key IS NOT NULL)',
  );
  const known: string[] = [];
  const sites: string[] = [];
  for (const { k } of keys) {
    const site = siteOf(k);
    if (site === null) continue;
    known.push(k);
    sites.push(site);
  }
  await tx.run('CREATE OR REPLACE TEMP TABLE imp_sites AS SELECT unnest($keys) AS k, unnest($sites) AS site', {
    keys: varcharList(known),
    sites: varcharList(sites),
  }, { keys: VARCHAR_LIST, sites: VARCHAR_LIST });
  // A link is kept when both URLs have a site and it is the same.
  await tx.run(`CREATE OR REPLACE TEMP TABLE imp_detach AS
    SELECT l.id, l.url, l.from_key, l.link, l.target, l.target_url, CASE WHEN l.target_url IS NULL THEN 'missing' ELSE 'other_domain' END AS reason
    FROM imp_links l LEFT JOIN imp_sites f ON f.k = l.from_key LEFT JOIN imp_sites t ON t.k = l.to_key
    WHERE NOT coalesce(f.site = t.site, false)`);
  await tx.run("UPDATE imp_pages SET parent_page_id = NULL WHERE id IN (SELECT id FROM imp_detach WHERE link = 'parent')");
  // Pages whose root is dropped: one site per former root and domain, rooted at its shallowest page.
  await tx.run(`UPDATE imp_pages SET root_page_id = g.new_root FROM (
      SELECT d.id, first_value(d.id) OVER (PARTITION BY d.target, s.site ORDER BY i.depth, i.url, d.id) AS new_root
      FROM imp_detach d JOIN imp_pages i ON i.id = d.id LEFT JOIN imp_sites s ON s.k = d.from_key
      WHERE d.link = 'root') g
    WHERE imp_pages.id = g.id`);
  const counts = (await tx.all<{ pages: number; other_domain: number }>(
    `SELECT count(DISTINCT id)::INTEGER AS pages, count(DISTINCT id) FILTER (reason = 'other_domain')::INTEGER AS other_domain FROM imp_detach`,
  ))[0]!;
  const example = (await tx.all<NonNullable<DetachedPages['example']>>(
    `SELECT id AS page_id, url, link, target AS target_id, target_url FROM imp_detach
     ORDER BY reason = 'other_domain' DESC, id, link DESC LIMIT 1`,
  ))[0];
  for (const t of ['imp_links', 'imp_sites', 'imp_detach']) await tx.run(`DROP TABLE IF EXISTS temp.${t}`);
  return { pages: counts.pages, other_domain: counts.other_domain, missing: counts.pages - counts.other_domain, example: example ?? null };
}
