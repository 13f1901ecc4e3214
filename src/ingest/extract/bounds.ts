/**
 * Limits that keep extraction and chunking of any page bounded in time and memory, whatever the page
 * holds (issue 20: a 2,000,000-character <title> was copied into every chunk row; 50,000 headings made
 * 50,000 chunks; a 9 MB word made 11,000 chunks of one word). They are applied inside the extraction and
 * chunking functions, so they hold wherever those run (main thread or a worker).
 */
import { clip, isLowSurrogate } from '../../text/clip.js';
import { MAX_HEADING_CHARS } from '../../text/markdown-heading.js';

// where the extraction's limits and cuts are looked up (they live in text/, which the store's repairs read too)
export { clip, MAX_HEADING_CHARS };

/** Longest page title kept, in characters (longer ones are cut at a word and end with "…"). */
export const MAX_TITLE_CHARS = 300;
/** Longest heading path of a chunk (`A > B > C`), in characters. */
export const MAX_HEADING_PATH_CHARS = 1000;
/** Headings of a page that start sections; later ones stay in the text as ordinary lines. */
export const MAX_SECTIONS = 1000;
/** Longest run of non-space characters kept in a page's text (longer runs are cut and end with "…"). */
export const MAX_WORD_CHARS = 3000;
/** Most distinct links taken from one page, and most link targets looked at to find them. */
export const MAX_LINKS = 10_000;
export const MAX_HREFS_SCANNED = 50_000;

/** A title within {@link MAX_TITLE_CHARS}. */
export function clipTitle(title: string): string {
  return clip(title, MAX_TITLE_CHARS);
}

/**
 * A heading path whose parts are each within {@link MAX_HEADING_CHARS} and whose `' > '`-joined text is
 * within {@link MAX_HEADING_PATH_CHARS} (each part then gets an equal share).
 */
export function clipHeadingPath(path: readonly string[]): string[] {
  const parts = path.map((h) => clip(h, MAX_HEADING_CHARS));
  const joined = parts.reduce((n, p) => n + p.length, 0) + 3 * Math.max(0, parts.length - 1);
  if (joined <= MAX_HEADING_PATH_CHARS) return parts;
  const share = Math.floor((MAX_HEADING_PATH_CHARS - 3 * (parts.length - 1)) / parts.length);
  return parts.map((p) => clip(p, share));
}

/**
 * Cuts every run of more than `max` non-whitespace characters to `max` (plus "…"). One linear pass; the
 * text is returned as it is when nothing is that long.
 */
export function clipLongWords(text: string, max = MAX_WORD_CHARS): string {
  let out: string[] | undefined;
  let copied = 0; // text before this index is in `out`
  let runStart = 0;
  const n = text.length;
  for (let i = 0; i <= n; i++) {
    if (i < n && !isSpace(text.charCodeAt(i))) continue;
    if (i - runStart > max) {
      out ??= [];
      let cut = runStart + max;
      if (isLowSurrogate(text.charCodeAt(cut))) cut--;
      out.push(text.slice(copied, cut), '…');
      copied = i;
    }
    runStart = i + 1;
  }
  if (!out) return text;
  out.push(text.slice(copied));
  return out.join('');
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x3000;
}

