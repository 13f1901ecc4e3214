/**
 * Which words of a text match a query, as the keyword index sees them: a word (or code identifier) is a
 * hit when one of its tokens is a query token (`renderDashboard` matches "dashboard"). In Chinese,
 * Japanese and Korean text, indexed as character bigrams, the hit is the characters of the matching
 * bigrams (`日本語` in `日本語のテキスト`), not the whole run; in Thai, Lao, Khmer and Burmese, the matching words of a run.
 * For highlighting search results and pages;
 * also picks the snippet of a result that holds the most query terms.
 */
import { linksToText } from './markdown-links.js';
import { TokenScanner } from './token-scan.js';
import { TOKEN_RE, WORD_CHAR, cjkPieces, hasCjk, isSpaceless, spacelessWords, tokenize } from './tokenize.js';

export interface Segment {
  text: string;
  hit: boolean;
}

/** The query's tokens (stopwords dropped), as searched: composed (NFC), as tokenize.ts's queryTerms reads it. */
export function queryTerms(query: string): Set<string> {
  return new Set(tokenize(query.normalize('NFC')));
}

interface Hit {
  start: number;
  end: number;
  tokens: string[];
}

/** Finds TOKEN_RE's matches without a match array per word (see TokenScanner). */
const SCANNER = new TokenScanner(WORD_CHAR);

/**
 * The hits inside each word (offsets within the word), per query (its terms' Set): a page repeats its words, and
 * tokenizing every one of a 20 MB page's ~3 million words took seconds of its view. Bounded: a text of endless
 * distinct words starts the cache over.
 */
const wordHits = new WeakMap<ReadonlySet<string>, Map<string, readonly Hit[] | null>>();
const WORD_CACHE_MAX = 100_000;

/** Whether a string holds anything outside ASCII. */
const NON_ASCII_RE = /[^\x00-\x7f]/;

/**
 * Whether `text` cannot hold a hit, known cheaply: with ASCII text and terms, every term a word yields is a piece
 * of it in lower case, so a hit needs a term somewhere in the text in lower case. (Most paragraphs of a long page
 * hold none of the query's words.) False when unsure.
 */
function surelyNoHit(text: string, terms: ReadonlySet<string>): boolean {
  if (NON_ASCII_RE.test(text)) return false;
  const lower = text.toLowerCase();
  for (const t of terms) if (NON_ASCII_RE.test(t) || lower.includes(t)) return false;
  return true;
}

function hitsIn(text: string, terms: ReadonlySet<string>): Hit[] {
  const hits: Hit[] = [];
  if (terms.size === 0 || surelyNoHit(text, terms)) return hits;
  let cache = wordHits.get(terms);
  if (!cache) wordHits.set(terms, (cache = new Map()));
  const word = (start: number, end: number) => {
    const w = text.slice(start, end);
    let found = cache.get(w);
    if (found === undefined) {
      found = hitsInWord(w, terms);
      if (cache.size >= WORD_CACHE_MAX) cache.clear();
      cache.set(w, found);
    }
    if (found) for (const h of found) hits.push({ start: start + h.start, end: start + h.end, tokens: [...h.tokens] });
  };
  const count = SCANNER.scan(text);
  if (count < 0) {
    // characters outside the BMP: the regex, which reads code points
    for (const m of text.matchAll(TOKEN_RE)) word(m.index, m.index + m[0].length);
  } else {
    // read in place: nothing in the loop scans with this scanner (tokenize has its own)
    const { starts, ends } = SCANNER;
    for (let t = 0; t < count; t++) word(starts[t]!, ends[t]!);
  }
  return hits;
}

/** The hits inside one token (a TOKEN_RE match), offsets within it; null when none. */
function hitsInWord(token: string, terms: ReadonlySet<string>): Hit[] | null {
  const hits: Hit[] = [];
  if (hasCjk(token)) {
    for (const piece of cjkPieces(token)) {
      if (piece.cjk) cjkHits(token, piece.start, piece.end, terms, hits);
      else wordHit(token, piece.start, piece.end, terms, hits);
    }
  } else if (isSpaceless(token)) {
    for (const w of spacelessWords(token)) wordHit(token, w.start, w.end, terms, hits);
  } else wordHit(token, 0, token.length, terms, hits);
  return hits.length ? hits : null;
}

/** text[start, end) as one hit when one of its tokens is a query term. */
function wordHit(text: string, start: number, end: number, terms: ReadonlySet<string>, hits: Hit[]): void {
  const tokens = tokenize(text.slice(start, end)).filter((t) => terms.has(t));
  if (tokens.length) hits.push({ start, end, tokens });
}

/** The characters of a CJK run's matching bigrams (or of the lone character), overlapping ones joined. */
function cjkHits(text: string, start: number, end: number, terms: ReadonlySet<string>, hits: Hit[]): void {
  const chars = Array.from(text.slice(start, end));
  const add = (from: number, to: number, token: string) => {
    const last = hits[hits.length - 1];
    if (last && last.end >= from && last.start >= start) {
      last.end = to;
      if (!last.tokens.includes(token)) last.tokens.push(token);
    } else hits.push({ start: from, end: to, tokens: [token] });
  };
  if (chars.length === 1) {
    if (terms.has(chars[0]!)) add(start, end, chars[0]!);
    return;
  }
  let at = start;
  for (let i = 0; i + 1 < chars.length; i++) {
    const next = at + chars[i]!.length;
    const bigram = chars[i]! + chars[i + 1]!;
    if (terms.has(bigram)) add(at, next + chars[i + 1]!.length, bigram);
    at = next;
  }
}

function segmentsOf(text: string, hits: readonly Hit[], from = 0, to = text.length): Segment[] {
  const out: Segment[] = [];
  let at = from;
  for (const h of hits) {
    if (h.end <= from || h.start >= to) continue;
    if (h.start > at) out.push({ text: text.slice(at, h.start), hit: false });
    out.push({ text: text.slice(Math.max(h.start, from), Math.min(h.end, to)), hit: true });
    at = Math.min(h.end, to);
  }
  if (at < to) out.push({ text: text.slice(at, to), hit: false });
  return out;
}

/** The text cut into plain and matching pieces. */
export function markTerms(text: string, terms: ReadonlySet<string>): Segment[] {
  return segmentsOf(text, hitsIn(text, terms));
}

/** Markdown as plain running text: no fences, heading marks, emphasis, link targets or table pipes. */
export function plainText(markdown: string): string {
  return withoutTableRules(linksToText(markdown
    .replace(/^[ \t]*(```|~~~).*$/gm, ' ')
    .replace(/^\s{0,3}#{1,6}\s+/gm, '')))
    .replace(/\*\*(\S(?:[^*]*\S)?)\*\*/g, '$1')
    .replace(/`/g, '')
    .replace(/\s\|\s/g, ' ')
    .replace(/\\([\\`*_[\]#<>])/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Each table delimiter row (`|---|:--:|`: only pipes, dashes, colons and spaces, a pipe after its first character)
 * as a space. Line by line: one regular expression (/^\s*\|?[\s:|-]+\|[\s:|-]*$/gm) took time cubic in a run of
 * blank lines, ~2.7 s for 2,000, on the server's thread for each search result holding them.
 */
function withoutTableRules(text: string): string {
  if (!text.includes('|')) return text;
  return text
    .split('\n')
    .map((line) => (line.indexOf('|', 1) > 0 && /^[\s:|-]*$/.test(line) ? ' ' : line))
    .join('\n');
}

export interface Snippet {
  segments: Segment[];
  /** Text was cut before / after the snippet. */
  before: boolean;
  after: boolean;
}

/**
 * About `maxChars` of a chunk's text around the place holding the most distinct query terms (the start
 * when none match), cut at word boundaries.
 */
export function snippet(markdown: string, terms: ReadonlySet<string>, maxChars = 280): Snippet {
  const text = plainText(markdown);
  const hits = hitsIn(text, terms);
  if (text.length <= maxChars) return { segments: segmentsOf(text, hits), before: false, after: false };
  let best = 0;
  let bestScore = -1;
  for (let i = 0; i < hits.length; i++) {
    const seen = new Set<string>();
    for (let j = i; j < hits.length && hits[j]!.end - hits[i]!.start <= maxChars; j++) hits[j]!.tokens.forEach((t) => seen.add(t));
    if (seen.size > bestScore) {
      bestScore = seen.size;
      best = hits[i]!.start;
    }
  }
  // Some words of context before the first hit.
  let from = Math.max(0, best - Math.floor(maxChars / 5));
  if (from > 0) {
    const space = text.indexOf(' ', from);
    from = space >= 0 && space < best ? space + 1 : best;
  }
  let to = Math.min(text.length, from + maxChars);
  if (to < text.length) {
    const space = text.lastIndexOf(' ', to);
    if (space > from) to = space;
  }
  return { segments: segmentsOf(text, hits, from, to), before: from > 0, after: to < text.length };
}
