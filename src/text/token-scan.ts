/**
 * A hand-written scanner for the token regexes of the keyword index (./tokenize.ts) and of the lexical
 * embedder (../embed/lexical.ts): `(RUN+)|WORD+(?:(?:[._\-]|::)WORD+)*`, where WORD and RUN are character
 * classes given as regexes (RUN optional). It finds exactly the matches `text.matchAll` finds, as
 * [start, end) offsets, without the match arrays and substrings the regex iterator makes for every token
 * (the iterator was a third of the lexical embedder's time on real documentation).
 *
 * Each code unit's class is computed once, from the same regexes, and kept in a 64K table. Text holding
 * surrogate code units (characters outside the BMP) is not scanned: `scan` returns -1 and the caller uses
 * the regex, which handles code points.
 */
import { doubled } from './key-index.js';

/** Class bits of a code unit. */
const KNOWN = 1;
export const WORD = 2;
export const RUN = 4;

export class TokenScanner {
  /** Class bits per UTF-16 code unit (0 = not computed yet). */
  private readonly classes = new Uint8Array(65536);
  /**
   * Offsets of the tokens found by the last `scan`, and whether each was a RUN match (1) or a WORD one (0).
   * The next `scan` overwrites them: a caller reads them all before anything scans again with this scanner.
   */
  starts = new Int32Array(256);
  ends = new Int32Array(256);
  runs = new Uint8Array(256);

  /**
   * @param word one character of a token's words (`[\p{L}\p{N}]`), with the `u` flag
   * @param run one character of a run matched as a whole first (`[\p{Script=Han}...]`), with the `u` flag
   */
  constructor(
    private readonly word: RegExp,
    private readonly run?: RegExp,
  ) {
    for (let c = 0; c < 128; c++) this.classOf(c);
  }

  /** The class bits of a code unit (not a surrogate). */
  classOf(c: number): number {
    let k = this.classes[c]!;
    if (k === 0) {
      const ch = String.fromCharCode(c);
      k = KNOWN | (this.word.test(ch) ? WORD : 0) | (this.run?.test(ch) ? RUN : 0);
      this.classes[c] = k;
    }
    return k;
  }

  /** Finds the tokens of `text` (into starts / ends / runs) and returns how many; -1 when it holds surrogates. */
  scan(text: string): number {
    const n = text.length;
    const classes = this.classes;
    const hasRun = this.run !== undefined;
    let count = 0;
    let i = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdfff) return -1;
      let k = classes[c]!;
      if (k === 0) k = this.classOf(c);
      if (hasRun && k & RUN) {
        let j = i + 1;
        for (; j < n; j++) {
          const d = text.charCodeAt(j);
          if (d >= 0xd800 && d <= 0xdfff) return -1;
          if (!(this.kind(d) & RUN)) break;
        }
        count = this.push(count, i, j, 1);
        i = j;
        continue;
      }
      if (!(k & WORD)) {
        i++;
        continue;
      }
      let j = this.wordEnd(text, i + 1);
      if (j < 0) return -1;
      // greedy (?:(?:[._\-]|::)WORD+)*: a separator counts only when a word character follows it
      for (;;) {
        if (j >= n) break;
        const s = text.charCodeAt(j);
        const sep = s === 46 || s === 95 || s === 45 ? 1 : s === 58 && text.charCodeAt(j + 1) === 58 ? 2 : 0;
        if (sep === 0 || j + sep >= n) break;
        const d = text.charCodeAt(j + sep);
        if (d >= 0xd800 && d <= 0xdfff) return -1;
        if (!(this.kind(d) & WORD)) break;
        j = this.wordEnd(text, j + sep + 1);
        if (j < 0) return -1;
      }
      count = this.push(count, i, j, 0);
      i = j;
    }
    return count;
  }

  private kind(c: number): number {
    const k = this.classes[c]!;
    return k === 0 ? this.classOf(c) : k;
  }

  /** The end of the run of WORD characters starting at or before `from`; -1 at a surrogate. */
  private wordEnd(text: string, from: number): number {
    const n = text.length;
    const classes = this.classes;
    let j = from;
    for (; j < n; j++) {
      const d = text.charCodeAt(j);
      if (d < 128) {
        if (!(classes[d]! & WORD)) break;
        continue;
      }
      if (d >= 0xd800 && d <= 0xdfff) return -1;
      if (!(this.kind(d) & WORD)) break;
    }
    return j;
  }

  private push(count: number, start: number, end: number, run: number): number {
    if (count === this.starts.length) {
      this.starts = doubled(this.starts);
      this.ends = doubled(this.ends);
      this.runs = doubled(this.runs);
    }
    this.starts[count] = start;
    this.ends[count] = end;
    this.runs[count] = run;
    return count + 1;
  }
}

/** `asciiWord` bits: an ASCII word of one part, and one made of digits only. */
export const ONE_PART = 1;
export const DIGITS = 2;

/**
 * Whether text[start, end) is an ASCII word of one part, what `^(?:[A-Z]?[a-z0-9]+|[A-Z]+)$` matches (a word, a
 * Capitalised word, capitals, digits: nothing to split into identifier parts): ONE_PART, with DIGITS when it is
 * only digits; 0 for anything else (a separator, a case change inside, a character outside ASCII).
 */
export function asciiWord(text: string, start: number, end: number): number {
  const first = text.charCodeAt(start);
  const firstUpper = first >= 65 && first <= 90;
  let allUpper = firstUpper;
  let upperInside = false;
  let digits = true;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      digits = false;
      if (i > start) upperInside = true;
    } else if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) {
      allUpper = false;
      if (c >= 97) digits = false;
    } else return 0;
  }
  const onePart = allUpper || (!upperInside && (!firstUpper || end - start > 1));
  return onePart ? ONE_PART | (digits ? DIGITS : 0) : 0;
}

/**
 * The identifier parts of an ASCII token (letters and digits joined by `.`, `_`, `-`, `::`: what the token
 * regexes match), as splitting at the separators and then matching `[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])|[0-9]+` in
 * each part give them (`readFileSync` -> read, File, Sync; `XMLParser` -> XML, Parser; `os.path.join` -> os,
 * path, join), as offsets into the text: no split or match arrays, no substrings (those were a fifth of
 * what the extraction worker allocated on python3.11-doc).
 */
export class IdentifierParts {
  /** The pieces found by the last `split`, and the index of the separator-delimited part each is in. */
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  groups = new Int32Array(64);
  /** Separator-delimited parts found by the last `split`. */
  groupCount = 0;

  /** Splits text[start, end); returns the number of pieces, or -1 when it holds a character outside ASCII. */
  split(text: string, start: number, end: number): number {
    let count = 0;
    this.groupCount = 0;
    let i = start;
    while (i < end) {
      // one separator-delimited part: [i, partEnd)
      let partEnd = i;
      for (; partEnd < end; partEnd++) {
        const c = text.charCodeAt(partEnd);
        if (c >= 128) return -1;
        if (c === 46 || c === 95 || c === 45 || c === 58) break;
      }
      if (partEnd > i) {
        const group = this.groupCount++;
        let p = i;
        while (p < partEnd) {
          let q = p + 1;
          if (isUpper(text.charCodeAt(p))) {
            if (q < partEnd && isLowerOrDigit(text.charCodeAt(q))) {
              while (q < partEnd && isLowerOrDigit(text.charCodeAt(q))) q++; // Capitalised word
            } else {
              while (q < partEnd && isUpper(text.charCodeAt(q))) q++; // capitals, without the one a lower-case letter follows
              if (q < partEnd && isLower(text.charCodeAt(q))) q--;
            }
          } else {
            while (q < partEnd && isLowerOrDigit(text.charCodeAt(q))) q++;
          }
          count = this.push(count, p, q, group);
          p = q;
        }
      }
      i = partEnd + 1;
    }
    return count;
  }

  private push(count: number, start: number, end: number, group: number): number {
    if (count === this.starts.length) {
      this.starts = doubled(this.starts);
      this.ends = doubled(this.ends);
      this.groups = doubled(this.groups);
    }
    this.starts[count] = start;
    this.ends[count] = end;
    this.groups[count] = group;
    return count + 1;
  }
}

const isUpper = (c: number): boolean => c >= 65 && c <= 90;
const isLower = (c: number): boolean => c >= 97 && c <= 122;
const isLowerOrDigit = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
