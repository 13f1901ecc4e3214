/**
 * Tokenisation for documentation text, shared by indexing and querying. Pure functions of their input (no
 * state, no I/O), so they can run in a worker thread.
 *
 * - Words are case-folded runs of letters, digits and combining marks (any script), read composed (NFC): the
 *   vowel signs of Devanagari and the harakat of Arabic stay inside their word, and a word written decomposed
 *   (`cafe` + U+0301, as macOS writes it; Korean as Jamo) is the same term as the word written composed.
 * - Code identifiers are kept whole and also split into their parts: `readFileSync` -> readfilesync, read,
 *   file, sync; `read_file_sync` -> read_file_sync, read, file, sync; `os.path.join` -> os.path.join, os,
 *   path, join; `array_agg` -> array_agg, array, agg.
 * - Keyword phrases written in capitals, as SQL is (`ON CONFLICT`, `GROUP BY`, `IS DISTINCT FROM`), also
 *   give one term per pair of adjacent words, joined by a space ("on conflict", "conflict do"): a query
 *   naming the phrase (in any case) matches it as a whole, not only word by word.
 * - Text in Chinese, Japanese and Korean (Han, Hiragana, Katakana, Hangul) gives overlapping character
 *   bigrams, as Lucene's CJK analyzer does: `日本語のテキスト` -> 日本, 本語, 語の, のテ, テキ, キス, スト (a lone
 *   character gives itself). Chinese and Japanese are written without spaces, so a run of them is no word;
 *   Korean separates words by spaces but attaches particles to them (`데이터베이스를`), so a word alone would
 *   not match its bare form either. A query goes through the same analysis, so `日本語` matches through its
 *   bigrams 日本 and 本語, and a text holding the whole word scores on both. In a mixed token (`Python3の使い方`,
 *   `APIキー`) the other letters stay an ordinary word with its identifier parts. CJK text makes no phrase
 *   pairs (its bigrams already hold the order). Text without CJK letters is analysed exactly as before.
 * - Stop words ("the", "of", "on", ...) are terms like any other in `analyze`, so they are indexed; a query
 *   uses them only when it has nothing else (`queryTerms`), and they never count towards a text's length.
 */

import { IdentifierParts, TokenScanner, asciiWord } from './token-scan.js';

export const STOPWORDS: ReadonlySet<string> = new Set(
  'a an and are as at be but by for from has have how i if in into is it its of on or that the their then there these this to was were what when where which who why will with you your do does can'.split(
    ' ',
  ),
);

/** Tokens longer than this are dropped (hashes, base64 runs). */
export const MAX_TOKEN_LENGTH = 64;

// An identifier-ish run: letters/digits joined by _ . - :: (dotted paths, snake_case, kebab-case).
/** Exported for highlighting (src/text/highlight.ts), which must split words exactly as the index does. */
export const TOKEN_RE = /[\p{L}\p{N}\p{M}]+(?:(?:[._\-]|::)[\p{L}\p{N}\p{M}]+)*/gu;
const PART_SPLIT_RE = /[._\-]|::/;
const CAMEL_RE = /[\p{Lu}]?[\p{Ll}\p{N}][\p{Ll}\p{N}\p{M}]*|[\p{Lu}]+(?![\p{Ll}])|[\p{N}]+/gu;
/** Tokens that are one part for sure (ASCII word, Capitalised word, all caps, digits): nothing to split. */
const ONE_PART_RE = /^(?:[A-Z]?[a-z0-9]+|[A-Z]+)$/;
/**
 * Letters of the scripts that get bigrams (Script_Extensions, so the kana prolonged sound mark ー and the
 * iteration marks count too). Inside a token (letters, digits, marks, separators) only letters and digits
 * match: combining marks are left out, as some (U+0323, the dot below) list Katakana among their scripts.
 */
const CJK_RE = /(?!\p{M})[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Hangul}]/u;
/** Below this code unit no letter or digit is CJK (Hangul Jamo start here): a cheap test before CJK_RE. */
const FIRST_CJK = 0x1100;
/** A run of CJK letters, with the marks that follow them (a kana mark NFC has no composed form for: か゚). */
const CJK_RUN_RE = /(?!\p{M})[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Hangul}](?:(?!\p{M})[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Hangul}]|\p{M})*/gu;
/** A separator left at either end of a token's non-CJK piece (`foo.` of `foo.日本`). */
const EDGE_SEPARATOR_RE = /^(?:[._\-]|::)|(?:[._\-]|::)$/g;

/** Whether a token holds CJK letters. ONE_PART_RE first: an ASCII word never does, and costs no more. */
function cjkToken(token: string, onePart: boolean): boolean {
  if (onePart) return false;
  let i = 0;
  while (i < token.length && token.charCodeAt(i) < FIRST_CJK) i++;
  return i < token.length && CJK_RE.test(token);
}

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
 * Where `analyzeInto` puts the terms of a text, in order: `term` a term as a string, `span` the lower case of
 * text[start, end), which is ASCII (words and identifier parts, the commonest terms, which a sink may read
 * without a string).
 */
export interface TermSink {
  term(term: string): void;
  span(text: string, start: number, end: number): void;
}

/** TOKEN_RE's character class, for the scanner that finds its matches without the regex. */
export const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;
const SCANNER = new TokenScanner(WORD_CHAR);

/**
 * Characters whose text NFC may rewrite: combining marks, Hangul Jamo, CJK compatibility ideographs. A token
 * holding none is composed as it is (the common case, tested before paying for normalize).
 */
export const MAY_DECOMPOSE_RE = /[\p{M}\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff\uf900-\ufaff\u{2f800}-\u{2fa1f}]/u;
const LEADING_MARKS_RE = /^\p{M}+/u;

/** A token (not ASCII) as a term reads it: composed (NFC), without marks that belong to nothing before them. */
export function composedToken(token: string): string {
  return MAY_DECOMPOSE_RE.test(token) ? token.normalize('NFC').replace(LEADING_MARKS_RE, '') : token;
}

/**
 * Every term of a text, in order, stop words included (see the module comment): what the index stores.
 * `phrases: 'capitals'` (default) pairs adjacent capitalised words; `'all'` pairs every two adjacent words
 * (the query side: a phrase typed in lower case still finds the capitalised phrase in the index).
 */
export function analyze(text: string, phrases: 'capitals' | 'all' | 'none' = 'capitals'): string[] {
  const out: string[] = [];
  analyzeInto(text, phrases, {
    term: (t) => out.push(t),
    span: (s, start, end) => out.push(s.slice(start, end).toLowerCase()),
  });
  return out;
}

/** `analyze`, with the terms handed to a sink. */
export function analyzeInto(text: string, phrases: 'capitals' | 'all' | 'none', sink: TermSink): void {
  let prevStart = -1;
  let prevEnd = -1;
  const token = (start: number, end: number) => {
    const plain = asciiWord(text, start, end) !== 0;
    // an ASCII identifier (`os.path.join`, `readFileSync`): its parts as offsets, no strings
    const pieces = plain ? 0 : PARTS.split(text, start, end);
    let raw: string | undefined;
    let onePart = plain;
    if (!plain && pieces < 0) {
      raw = composedToken(text.slice(start, end));
      if (!raw) return; // marks alone
      onePart = ONE_PART_RE.test(raw);
      if (cjkToken(raw, onePart)) {
        for (const piece of cjkPieces(raw)) {
          if (piece.cjk) addBigrams(raw.slice(piece.start, piece.end), sink);
          else addWord(raw.slice(piece.start, piece.end), sink);
        }
        prevStart = -1; // no phrase pair with CJK text on either side
        return;
      }
      if (SPACELESS_RE.test(raw)) {
        addWord(raw, sink);
        prevStart = -1; // no phrase pair with such text on either side
        return;
      }
    }
    if (phrases !== 'none' && prevStart >= 0) {
      // cheapest test first: most words are not capitalised, and the gap is only read for a possible pair
      if ((phrases === 'all' || (capitalWord(text, prevStart, prevEnd) && capitalWord(text, start, end))) && spaceOnly(text, prevEnd, start)) {
        const pair = `${text.slice(prevStart, prevEnd).toLowerCase()} ${(raw ?? text.slice(start, end)).toLowerCase()}`;
        if (pair.length <= MAX_TOKEN_LENGTH) sink.term(pair);
      }
    }
    prevStart = start;
    prevEnd = end;
    if (raw === undefined) {
      if (end - start <= MAX_TOKEN_LENGTH) sink.span(text, start, end);
      if (!plain) addAsciiParts(pieces, sink, text); // a plain word has no parts to add
      return;
    }
    const whole = raw.toLowerCase();
    if (whole.length <= MAX_TOKEN_LENGTH) sink.term(whole);
    if (!onePart) addParts(raw, sink); // a plain word has no parts to add
  };
  const count = SCANNER.scan(text);
  if (count < 0) {
    // characters outside the BMP: the regex, which reads code points
    for (const m of text.matchAll(TOKEN_RE)) token(m.index, m.index + m[0].length);
    return;
  }
  for (let t = 0; t < count; t++) token(SCANNER.starts[t]!, SCANNER.ends[t]!);
}

/** Whether text[start, end) is a capitalised word (`^[A-Z][A-Z0-9_]+$`: ON, CONFLICT, NOT_NULL). */
function capitalWord(text: string, start: number, end: number): boolean {
  if (end - start < 2) return false;
  const first = text.charCodeAt(start);
  if (first < 65 || first > 90) return false;
  for (let i = start + 1; i < end; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95)) return false;
  }
  return true;
}

/** A word (or identifier) as a term, with its parts when it has several; Thai, Lao, Khmer or Burmese text as its words. */
function addWord(raw: string, sink: TermSink): void {
  if (SPACELESS_RE.test(raw)) {
    for (const w of spacelessWords(raw)) addOneWord(raw.slice(w.start, w.end), sink);
  } else addOneWord(raw, sink);
}

function addOneWord(raw: string, sink: TermSink): void {
  const whole = raw.toLowerCase();
  if (whole.length <= MAX_TOKEN_LENGTH) sink.term(whole);
  if (!ONE_PART_RE.test(raw)) addParts(raw, sink);
}

const PARTS = new IdentifierParts();

/** `addParts` for an ASCII identifier, from the `count` pieces PARTS.split found in `text`. */
function addAsciiParts(count: number, sink: TermSink, text: string): void {
  const { starts, ends, groups } = PARTS;
  for (let k = 0; k < count; ) {
    // the pieces of one separator-delimited part: [k, next)
    let next = k + 1;
    while (next < count && groups[next] === groups[k]) next++;
    if (next - k > 1) {
      for (let j = k; j < next; j++) sink.span(text, starts[j]!, ends[j]!); // camelCase pieces
    } else if (PARTS.groupCount > 1 && ends[k]! - starts[k]! <= MAX_TOKEN_LENGTH) {
      sink.span(text, starts[k]!, ends[k]!);
    }
    k = next;
  }
}

/** The parts of an identifier (`os.path.join`, `readFileSync`), none for a word of one part. */
function addParts(raw: string, sink: TermSink): void {
  const parts = raw.split(PART_SPLIT_RE);
  if (parts.length === 1) {
    const camel = raw.match(CAMEL_RE);
    if (camel && camel.length > 1) for (const c of camel) sink.term(c.toLowerCase());
    return;
  }
  for (const part of parts) {
    if (!part) continue;
    const camel = part.match(CAMEL_RE);
    if (camel && camel.length > 1) for (const c of camel) sink.term(c.toLowerCase());
    else if (part.length <= MAX_TOKEN_LENGTH) sink.term(part.toLowerCase());
  }
}

/** The overlapping character bigrams of a CJK run (by code point); a lone character is its own term. */
function addBigrams(run: string, sink: TermSink): void {
  const chars = Array.from(run);
  if (chars.length === 1) sink.term(chars[0]!);
  for (let i = 0; i + 1 < chars.length; i++) sink.term(chars[i]! + chars[i + 1]!);
}

/**
 * Thai, Lao, Khmer and Burmese are written without spaces between words, and no character pairs stand for
 * their words as CJK bigrams do: a token holding their letters is cut into words by ICU's dictionaries
 * (Intl.Segmenter), so `ฐานข้อมูล` (database) is found inside `การติดตั้งฐานข้อมูล`.
 */
export const SPACELESS_RE = /[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u19e0-\u19ff\ua9e0-\ua9ff\uaa60-\uaa7f]/;
const SEGMENTER = new Intl.Segmenter('th', { granularity: 'word' });

/** The words of a token in Thai, Lao, Khmer or Burmese (offsets into it): ICU's word-like segments. */
export function spacelessWords(token: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const s of SEGMENTER.segment(token)) if (s.isWordLike) out.push({ start: s.index, end: s.index + s.segment.length });
  return out;
}

/** Whether a token (a TOKEN_RE match) holds Thai, Lao, Khmer or Burmese letters, which `spacelessWords` cuts into words. */
export const isSpaceless = (token: string): boolean => SPACELESS_RE.test(token);

/** A piece of a token: a CJK run, or the text between runs (separators at its ends left out). */
export interface TokenPiece {
  start: number;
  end: number;
  cjk: boolean;
}

/** Whether a token (a TOKEN_RE match) holds CJK letters, which `cjkPieces` then splits out. */
export const hasCjk = (token: string): boolean => cjkToken(token, ONE_PART_RE.test(token));

/**
 * A token cut into its CJK runs and the other pieces, with offsets into the token; pieces left empty
 * by removing separators are dropped. Exported for highlighting, which must cut as the index does.
 */
export function cjkPieces(token: string): TokenPiece[] {
  const out: TokenPiece[] = [];
  const other = (start: number, end: number) => {
    const piece = token.slice(start, end);
    const trimmed = piece.replace(EDGE_SEPARATOR_RE, '');
    if (!trimmed) return;
    const at = start + piece.indexOf(trimmed);
    out.push({ start: at, end: at + trimmed.length, cjk: false });
  };
  let at = 0;
  for (const m of token.matchAll(CJK_RUN_RE)) {
    if (m.index > at) other(at, m.index);
    out.push({ start: m.index, end: m.index + m[0].length, cjk: true });
    at = m.index + m[0].length;
  }
  if (at < token.length) other(at, token.length);
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
 * them, so it still finds something. The query is read composed (NFC), the form pages are written in.
 */
export function queryTerms(query: string): string[] {
  // composed (NFC), as pages are written: "cafe" + a combining accent (macOS input) would otherwise search for "cafe"
  const all = [...new Set(analyze(query.normalize('NFC'), 'all'))];
  const words = all.filter((t) => !isPhrase(t));
  const content = words.filter((t) => !STOPWORDS.has(t));
  const phrases = all.filter(isPhrase);
  return content.length > 0 ? [...content, ...phrases] : [...words, ...phrases];
}
