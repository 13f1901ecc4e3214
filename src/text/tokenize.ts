/**
 * Tokenisation for documentation text: case-folded words (unicode letters and digits), with code
 * identifiers kept whole and split into parts: `readFileSync` -> readfilesync, read, file, sync;
 * `read_file_sync` -> read_file_sync, read, file, sync; `os.path.join` -> os.path.join, os, path, join.
 */

const STOPWORDS = new Set(
  'a an and are as at be but by for from has have how i if in into is it its of on or that the their then there these this to was were what when where which who why will with you your do does can'.split(
    ' ',
  ),
);

// An identifier-ish run: letters/digits joined by _ . - :: (dotted paths, snake_case, kebab-case).
const TOKEN_RE = /[\p{L}\p{N}]+(?:(?:[._\-]|::)[\p{L}\p{N}]+)*/gu;
const CAMEL_RE = /[\p{Lu}]?[\p{Ll}\p{N}]+|[\p{Lu}]+(?![\p{Ll}])|[\p{N}]+/gu;

export interface TokenizeOptions {
  /** Drop common English words (default true). */
  stopwords?: boolean;
  /** Longest token kept (default 64). */
  maxLength?: number;
}

export function tokenize(text: string, opts: TokenizeOptions = {}): string[] {
  const dropStop = opts.stopwords ?? true;
  const maxLength = opts.maxLength ?? 64;
  const out: string[] = [];
  const push = (t: string) => {
    if (t.length === 0 || t.length > maxLength) return;
    if (dropStop && STOPWORDS.has(t)) return;
    out.push(t);
  };
  for (const m of text.matchAll(TOKEN_RE)) {
    const raw = m[0];
    const whole = raw.toLowerCase();
    const parts = raw.split(/[._\-]|::/).filter(Boolean);
    const pieces: string[] = [];
    for (const part of parts) {
      const camel = part.match(CAMEL_RE);
      if (camel && camel.length > 1) pieces.push(...camel.map((c) => c.toLowerCase()));
      else pieces.push(part.toLowerCase());
    }
    if (pieces.length > 1) {
      push(whole);
      for (const p of pieces) push(p);
    } else {
      push(whole);
    }
  }
  return out;
}

/** Query-side terms (temporary: same as tokenize). */
export const queryTerms = (text: string): string[] => tokenize(text);
