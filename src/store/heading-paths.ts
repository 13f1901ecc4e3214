/**
 * A one-time repair of the heading paths stored with chunks, for two fixes of how a heading's links are read
 * (2026-12-05):
 * 1. a link whose destination or title held a parenthesis was cut there, leaving the rest in the heading:
 *    Sphinx puts a module's summary in the title of the link in every module page's heading, so 62 of 300
 *    pages of Python's library reference had paths such as `optparse") — Parser for command line options`;
 * 2. only the first 400 characters of a heading line were read, so a link crossing that point stayed as
 *    markup: rustdoc links every type in a method's signature, and 18,447 of 48,673 chunks of 400 pages of
 *    Rust's standard library had paths such as `fn try_into(self) -> Result<U, <U as TryFrom<T>>::[Error](http://…`.
 *
 * The repair reads each such page's stored
 * Markdown, works out what the old and the current rules make of each of its headings, and puts the
 * current text in place of the old in its chunks' paths. Vectors and keyword terms stay as they are (the
 * words a path lost or gained are the link's title, whose words are rarely new). Like url-forms.ts, not a
 * schema version: no table changes, and a file opened read-only stays readable.
 */
import type { Database, Tx } from '../db/database.js';
import { getMeta, setMeta } from '../db/meta.js';
import { HEADING_RULE, headingTitle, MAX_HEADING_CHARS, type HeadingRule } from '../text/markdown-heading.js';
import { linksToText } from '../text/markdown-links.js';
import { VARCHAR_LIST, varcharList } from './sql-values.js';

/** The meta key recording which repairs the stored heading paths have had. */
export const HEADING_PATHS_KEY = 'heading_paths';
/** 1: links with parentheses in their destination or title; 2: links past 400 characters (both 2026-12-05). */
const HEADING_PATHS = '2';
/** Pages read per query while repairing (their Markdown is held in memory meanwhile). */
const PAGES_PER_READ = 50;

/** Repairs the heading paths written by earlier versions, once per file (a write open). */
export async function upgradeHeadingPaths(db: Database): Promise<void> {
  const done = await getMeta(db, HEADING_PATHS_KEY);
  if (done === HEADING_PATHS) return;
  await db.transaction(async (tx) => {
    await repair(tx, done === '1' ? [RULE_1] : OLD_RULES);
    await setMeta(tx, HEADING_PATHS_KEY, HEADING_PATHS);
  });
}

/** The rule before fix 1: a link ended at the first `)` after `](`; 400 characters read. */
const RULE_0: HeadingRule = {
  links: (s) => s.replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1'),
  readChars: 2 * MAX_HEADING_CHARS,
  cutLinks: false,
};
/** The rule between fixes 1 and 2. */
const RULE_1: HeadingRule = { links: linksToText, readChars: 2 * MAX_HEADING_CHARS, cutLinks: false };
/** Every earlier rule: what an export or a file of unknown age may hold. */
const OLD_RULES = [RULE_0, RULE_1];

/**
 * Old heading text -> current text, for each heading line of `markdown` that one of the `old` rules reads
 * differently from the current one.
 */
export function headingRepairs(markdown: string, old: readonly HeadingRule[] = OLD_RULES): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of markdown.split('\n')) {
    if (!line.includes('](')) continue;
    // an ATX heading's text, or a line that a setext underline may make a heading
    const raw = /^ {0,3}#{1,6}[ \t]+(.*)$/.exec(line)?.[1] ?? line;
    const now = headingTitle(raw, MAX_HEADING_CHARS, HEADING_RULE);
    if (!now) continue;
    for (const rule of old) {
      const before = headingTitle(raw, MAX_HEADING_CHARS, rule);
      if (before && before !== now) out.set(before, now);
    }
  }
  return out;
}

/** `path` (`A > B > C`) with each part that the old rule made replaced by what the current rule makes of it. */
export function repairedPath(path: string, repairs: ReadonlyMap<string, string>): string {
  if (!repairs.size) return path;
  return path
    .split(' > ')
    .map((h) => repairs.get(h) ?? h)
    .join(' > ');
}

/**
 * {@link headingRepairs} of each page among `ids` whose Markdown has a link, read from `table`: the stored
 * pages, or an import's staging table (an export written before the fix carries the old paths).
 */
export async function pageHeadingRepairs(
  tx: Tx,
  table: 'pages' | 'temp.imp_pages',
  ids: readonly string[],
  old: readonly HeadingRule[] = OLD_RULES,
): Promise<Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, string>>();
  for (let i = 0; i < ids.length; i += PAGES_PER_READ) {
    const texts = await tx.all<{ id: string; raw_text: string | null }>(
      `SELECT id, raw_text FROM ${table} WHERE id IN (SELECT unnest($ids)) AND contains(raw_text, '](')`,
      { ids: varcharList(ids.slice(i, i + PAGES_PER_READ)) },
      { ids: VARCHAR_LIST },
    );
    for (const t of texts) {
      const repairs = headingRepairs(t.raw_text ?? '', old);
      if (repairs.size) out.set(t.id, repairs);
    }
  }
  return out;
}

/** Only a page with a path holding a ")" or a "[" can hold what an old rule left. */
const MAY_NEED_REPAIR = "(contains(heading_path, ')') OR contains(heading_path, '['))";

/** Whether a stored path may hold what an old rule left (see MAY_NEED_REPAIR). */
export const mayNeedRepair = (path: string): boolean => path.includes(')') || path.includes('[');

async function repair(tx: Tx, old: readonly HeadingRule[]): Promise<void> {
  const pages = await tx.all<{ id: string }>(
    `SELECT DISTINCT page_id AS id FROM document_embeddings WHERE page_id IS NOT NULL AND ${MAY_NEED_REPAIR} ORDER BY 1`,
  );
  const ids: string[] = [];
  const paths: string[] = [];
  for (let i = 0; i < pages.length; i += PAGES_PER_READ) {
    const repairs = await pageHeadingRepairs(tx, 'pages', pages.slice(i, i + PAGES_PER_READ).map((p) => p.id), old);
    if (!repairs.size) continue;
    const chunks = await tx.all<{ id: string; page_id: string; heading_path: string }>(
      // every chunk of the page: a heading that an old rule cut inside a link's text holds neither mark
      'SELECT id, page_id, heading_path FROM document_embeddings WHERE page_id IN (SELECT unnest($ids)) AND heading_path IS NOT NULL',
      { ids: varcharList([...repairs.keys()]) },
      { ids: VARCHAR_LIST },
    );
    for (const c of chunks) {
      const path = repairedPath(c.heading_path, repairs.get(c.page_id)!);
      if (path !== c.heading_path) {
        ids.push(c.id);
        paths.push(path);
      }
    }
  }
  if (!ids.length) return;
  await tx.run(
    `UPDATE document_embeddings SET heading_path = r.path
     FROM (SELECT unnest($ids) AS id, unnest($paths) AS path) r WHERE document_embeddings.id = r.id`,
    { ids: varcharList(ids), paths: varcharList(paths) },
    { ids: VARCHAR_LIST, paths: VARCHAR_LIST },
  );
}
