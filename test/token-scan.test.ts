import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIGITS, ONE_PART, TokenScanner, asciiWord } from '../src/text/token-scan.js';
import { chunkTermCounts, chunkTerms, termHashWords } from '../src/text/chunk-terms.js';
import { TOKEN_RE, WORD_CHAR, analyze, isPhrase, isStopword } from '../src/text/tokenize.js';

// The scanner must find exactly what the token regexes find: the keyword index's terms and the lexical
// embedder's vectors (stored under a fixed model name) are made from its tokens.
const KEYWORD = { word: WORD_CHAR, re: TOKEN_RE };
const LEXICAL = {
  word: /[\p{L}\p{N}\p{M}]/u,
  run: /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u,
  re: /([\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]+)|[\p{L}\p{N}\p{M}]+(?:(?:[._\-]|::)[\p{L}\p{N}\p{M}]+)*/gu,
};

/** Random text from pieces that meet at every kind of boundary (separators, marks, CJK, other scripts). */
function randomText(seed: number, length: number, surrogates: boolean): string {
  const pieces = [
    'a', 'Z', '7', 'readFile', 'HTTP', '.', '_', '-', ':', '::', ' ', '\n', '(', ')', '/', 'é', 'e\u0301', '\u0301',
    'ß', 'İ', 'ǅ', 'Σ', 'ש', '日', '本語', 'の', 'カタ', 'ｶ', 'ー', '々', '〇', '⺀', '한국', '—', '’', '¶', '\u00a0', '١٢',
    ...(surrogates ? ['😀', '𝒜', '𠀋'] : []),
  ];
  let s = '';
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    s += pieces[x % pieces.length];
  }
  return s;
}

function regexTokens(text: string, re: RegExp): [number, number, number][] {
  return [...text.matchAll(re)].map((m) => [m.index, m.index + m[0].length, m[1] !== undefined ? 1 : 0]);
}

function scannedTokens(scanner: TokenScanner, text: string): [number, number, number][] | null {
  const n = scanner.scan(text);
  if (n < 0) return null;
  return Array.from({ length: n }, (_, i) => [scanner.starts[i]!, scanner.ends[i]!, scanner.runs[i]!]);
}

describe('token scanner', () => {
  it('finds exactly the matches of the keyword and lexical token regexes', () => {
    const keyword = new TokenScanner(KEYWORD.word);
    const lexical = new TokenScanner(LEXICAL.word, LEXICAL.run);
    for (let seed = 1; seed <= 3000; seed++) {
      const text = randomText(seed, 1 + (seed % 60), false);
      assert.deepEqual(scannedTokens(keyword, text), regexTokens(text, KEYWORD.re), `keyword tokens of ${JSON.stringify(text)}`);
      assert.deepEqual(scannedTokens(lexical, text), regexTokens(text, LEXICAL.re), `lexical tokens of ${JSON.stringify(text)}`);
    }
  });

  it('more tokens than its first buffers hold', () => {
    const scanner = new TokenScanner(KEYWORD.word);
    const text = Array.from({ length: 5000 }, (_, i) => `w${i}`).join(' ');
    assert.equal(scanner.scan(text), 5000);
    assert.equal(text.slice(scanner.starts[4999], scanner.ends[4999]), 'w4999');
  });

  it('leaves text with characters outside the BMP to the regex, and analyze still reads them', () => {
    const scanner = new TokenScanner(KEYWORD.word);
    assert.equal(scanner.scan('plain 𝒜lpha text'), -1);
    assert.deepEqual(analyze('𝒜lpha x😀y readFile'), ['𝒜lpha', 'x', 'y', 'readfile', 'read', 'file']);
    for (let seed = 1; seed <= 300; seed++) {
      const text = randomText(seed, 30, true);
      const tokens = scannedTokens(scanner, text);
      if (tokens) assert.deepEqual(tokens, regexTokens(text, KEYWORD.re));
    }
  });
});

describe('chunk terms', () => {
  it('hash and count exactly the terms analyze finds (title and heading weighted, stop words out of the length)', () => {
    const many = { text: Array.from({ length: 3000 }, (_, i) => `w${i} T${i % 97} the`).join(' '), title: 'Many', heading_path: null };
    for (let seed = 0; seed <= 800; seed++) {
      const c = seed === 0 ? many : {
        text: `${randomText(seed, 40, seed % 5 === 0)} SELECT x FROM t ON CONFLICT DO NOTHING the of readFileSync os.path.join`,
        title: randomText(seed + 7, 6, false),
        heading_path: seed % 3 ? `Guide > ${randomText(seed + 11, 5, false)}` : null,
      };
      const expected = chunkTermCounts(c);
      const got = chunkTerms(c);
      assert.equal(got.counts.length, expected.size, JSON.stringify(c));
      let i = 0;
      let length = 0;
      for (const [term, n] of expected) {
        assert.deepEqual([got.words[2 * i], got.words[2 * i + 1], got.counts[i]], [...termWords(term), n], `${term} in ${JSON.stringify(c)}`);
        if (!isStopword(term) && !isPhrase(term)) length += n;
        i++;
      }
      assert.equal(got.length, length);
    }
  });
});

function termWords(term: string): [number, number] {
  const w = new Int32Array(2);
  termHashWords(term, w, 0);
  return [w[0]!, w[1]!];
}

describe('asciiWord', () => {
  it('is ONE_PART exactly when the ASCII word regex matches, with DIGITS for digits only', () => {
    const chars = ['a', 'z', 'A', 'Z', '0', '9', '_', '.', 'é', 'Ä'];
    for (let seed = 1; seed <= 5000; seed++) {
      let word = '';
      let x = seed;
      for (let i = 0; i < 1 + (seed % 6); i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        word += chars[x % chars.length];
      }
      const text = `(${word})`;
      const expected = /^(?:[A-Z]?[a-z0-9]+|[A-Z]+)$/.test(word) ? ONE_PART | (/^[0-9]+$/.test(word) ? DIGITS : 0) : 0;
      assert.equal(asciiWord(text, 1, 1 + word.length), expected, word);
    }
  });
});
