/**
 * Tokenisation for documentation text, shared by indexing and querying. Pure functions of their input (no
 * state, no I/O), so they can run in a worker thread.
 *
 * - Words are case-folded runs of letters and digits (any script).
 * - Code identifiers are kept whole and also split into their parts: `readFileSync` -> readfilesync, read,
 *   file, sync; `read_file_sync` -> read_file_sync, read, file, sync; `os.path.join` -> os.path.join, os,
 *   path, join; `array_agg` -> array_agg, array, agg.
 * - Keyword phrases written in capitals, as SQL is (`ON CONFLICT`, `GROUP BY`, `IS DISTINCT FROM`), also
 *   give one term per pair of adjacent words, joined by a space ("on conflict", "conflict do"): a query
 *   naming the phrase (in any case) matches it as a whole, not only word by word.
 * - Stop words ("the", "of", "on", ...) are terms like any other in `analyze`, so they are indexed; a query
 *   uses them only when it has nothing else (`queryTerms`), and they never count towards a text's length.
 */

export const STOPWORDS: ReadonlySet<string> = new Set(
  'a an and are as at be but by for from has have how i if in into is it its of on or that the their then there these this to was were what when where which who why will with you your do does can'.split(
    ' ',
  ),
);

/** Tokens longer than this are dropped (hashes, base64 runs). */
export const MAX_TOKEN_LENGTH = 64;

// An identifier-ish run: letters/digits joined by _ . - :: (dotted paths, snake_case, kebab-case).
/** Exported for highlighting (src/text/highlight.ts), which must split words exactly as the index does. */
export const TOKEN_RE = /[\p{L}\p{N}]+(?:(?:[._\-]|::)[\p{L}\p{N}]+)*/gu;
const PART_SPLIT_RE = /[._\-]|::/;
const CAMEL_RE = /[\p{Lu}]?[\p{Ll}\p{N}]+|[\p{Lu}]+(?![\p{Ll}])|[\p{N}]+/gu;
const CAPITAL_WORD_RE = /^[A-Z][A-Z0-9_]+$/;
/** Tokens that are one part for sure (ASCII word, Capitalised word, all caps, digits): nothing to split. */
const ONE_PART_RE = /^(?:[A-Z]?[a-z0-9]+|[A-Z]+)$/;

/** Whether text[from, to) is one or more spaces, tabs or line breaks (what may separate a phrase's words). */
function spaceOnly(text: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 10) return false;
  }
  return true;
}

export const isStopword = (term: string): boolean => STOPWORDS.has(term);
/** Phrase terms (pairs of words) hold a space; word terms never do. */
export const isPhrase = (term: string): boolean => term.includes(' ');

/**
 * Every term of a text, in order, stop words included (see the module comment): what the index stores.
 * `phrases: 'capitals'` (default) pairs adjacent capitalised words; `'all'` pairs every two adjacent words
 * (the query side: a phrase typed in lower case still finds the capitalised phrase in the index).
 */
export function analyze(text: string, phrases: 'capitals' | 'all' | 'none' = 'capitals'): string[] {
  const out: string[] = [];
  let prevRaw: string | undefined;
  let prevEnd = -1;
  for (const m of text.matchAll(TOKEN_RE)) {
    const raw = m[0];
    const whole = raw.toLowerCase();
    if (phrases !== 'none' && prevRaw !== undefined) {
      // cheapest test first: most words are not capitalised, and the gap is only read for a possible pair
      if ((phrases === 'all' || (CAPITAL_WORD_RE.test(prevRaw) && CAPITAL_WORD_RE.test(raw))) && spaceOnly(text, prevEnd, m.index)) {
        const pair = `${prevRaw.toLowerCase()} ${whole}`;
        if (pair.length <= MAX_TOKEN_LENGTH) out.push(pair);
      }
    }
    prevRaw = raw;
    prevEnd = m.index + raw.length;
    if (whole.length <= MAX_TOKEN_LENGTH) out.push(whole);
    if (ONE_PART_RE.test(raw)) continue; // a plain word: no parts to add
    const parts = raw.split(PART_SPLIT_RE);
    if (parts.length === 1) {
      const camel = raw.match(CAMEL_RE);
      if (camel && camel.length > 1) for (const c of camel) out.push(c.toLowerCase());
      continue;
    }
    for (const part of parts) {
      if (!part) continue;
      const camel = part.match(CAMEL_RE);
      if (camel && camel.length > 1) for (const c of camel) out.push(c.toLowerCase());
      else if (part.length <= MAX_TOKEN_LENGTH) out.push(part.toLowerCase());
    }
  }
  return out;
}

export interface TokenizeOptions {
  /** Drop stop words (default true). */
  stopwords?: boolean;
}

/** The word terms of a text (no phrase terms), stop words dropped unless `stopwords: false`. */
export function tokenize(text: string, opts: TokenizeOptions = {}): string[] {
  const all = analyze(text, 'none');
  return opts.stopwords === false ? all : all.filter((t) => !STOPWORDS.has(t));
}

/**
 * The terms a query searches for, each once: its words without stop words, plus every pair of adjacent
 * words as a phrase term (only pairs the index holds can match). A query made only of stop words keeps
 * them, so it still finds something.
 */
export function queryTerms(query: string): string[] {
  const all = [...new Set(analyze(query, 'all'))];
  const words = all.filter((t) => !isPhrase(t));
  const content = words.filter((t) => !STOPWORDS.has(t));
  const phrases = all.filter(isPhrase);
  return content.length > 0 ? [...content, ...phrases] : [...words, ...phrases];
}
