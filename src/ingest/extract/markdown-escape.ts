/** Escaping of page text put into Markdown. */
import { escapeMarkupText } from './extract-text.js';

/** Text that needs no escaping at all (the common case: checked once instead of running every rule). */
const NEEDS_ESCAPE = /[\\`*_\]<&]|^\s*(?:[-+#>=~]|\d+[.)])/;
/** The same for text in the middle of a line (after a link or other inline element): no line-start rules. */
const NEEDS_ESCAPE_INLINE = /[\\`*_\]<&]/;

/**
 * Escapes only what would change the Markdown's structure; leaves `_` inside words and brackets alone, so
 * identifiers such as `snake_case` and `a[0]` stay readable and searchable. `<` and entity-like `&` are
 * escaped too, so text showing markup never becomes live HTML (code is not escaped: it is kept as it is).
 * The line-start rules apply at the start of a text node that may start a line (`lineStart`, default true): not
 * after a link or other inline element on the same line, where `RFC 7159. Such` is no list item and `7159\.`
 * would only put a stray backslash in the page text an agent reads.
 */
export function escapeText(s: string, lineStart = true): string {
  if (!(lineStart ? NEEDS_ESCAPE : NEEDS_ESCAPE_INLINE).test(s)) return s;
  if (!lineStart) return escapeMarkupText(inlineRules(s));
  const md = inlineRules(s)
    .replace(/^(\s*)([-+])(?=\s)/, '$1\\$2')
    .replace(/^(\s*)(#{1,6})(?=\s|$)/, '$1\\$2')
    .replace(/^(\s*)>/, '$1\\>')
    .replace(/^(\s*)(=+|~~~)/, '$1\\$2')
    .replace(/^(\s*\d+)([.)])(?=\s)/, '$1\\$2');
  return escapeMarkupText(md);
}

function inlineRules(s: string): string {
  return s
    .replace(/\\(?=[\\`*_[\]#>~|-])/g, '\\\\')
    .replace(/`/g, '\\`')
    .replace(/\*/g, '\\*')
    .replace(/(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu, '\\_')
    .replace(/\]\(/g, '\\](');
}

/**
 * Text whose start is escaped as if it began a line, put where it is inline (a heading's text, a link's text, a
 * table cell), without the escape of an ordered-list marker: `3\. Syntax` there is just `3. Syntax`.
 */
export const inlineStart = (md: string): string => md.replace(/^(\s*\d+)\\([.)])(?=\s|$)/, '$1$2');

/**
 * A link's text with its brackets escaped when they do not pair up: rustdoc links the brackets of an array type
 * apart (`<a>[</a>T<a>; N]</a>`), and `[[](…)T[; N]](…)` is no longer two links. Paired brackets (`a[0]`) and
 * those in code spans stay as they are. Linear in the text's length, however its backticks fall.
 */
export function linkText(md: string): string {
  if (!md.includes('[') && !md.includes(']')) return md;
  const spans = codeSpans(md);
  let depth = 0;
  let balanced = true;
  forEachOutside(md, spans, (from, to) => {
    for (let i = from; i < to && balanced; i++) {
      const c = md.charCodeAt(i);
      if (c === BACKSLASH) i++;
      else if (c === OPEN) depth++;
      else if (c === CLOSE && --depth < 0) balanced = false;
    }
  });
  if (balanced && depth === 0) return md;
  let out = '';
  forEachOutside(md, spans, (from, to, span) => {
    out += md.slice(from, to).replace(/(\\[\s\S])|([[\]])/g, (m, escaped: string | undefined) => escaped ?? `\\${m}`);
    if (span) out += md.slice(span[0], span[1]);
  });
  return out;
}

const BACKSLASH = 0x5c;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const BACKTICK = 0x60;

/**
 * The code spans of `md` as [start, end) pairs: a backtick run opens one, and the next run of the same length
 * closes it (CommonMark); a run that nothing closes is text. One pass over the runs, each length's runs
 * visited once.
 */
function codeSpans(md: string): [number, number][] {
  const runs: { start: number; len: number }[] = [];
  for (let i = 0; i < md.length; i++) {
    if (md.charCodeAt(i) !== BACKTICK) continue;
    const start = i;
    while (i + 1 < md.length && md.charCodeAt(i + 1) === BACKTICK) i++;
    runs.push({ start, len: i - start + 1 });
  }
  if (runs.length < 2) return [];
  const byLen = new Map<number, number[]>();
  runs.forEach((r, k) => {
    const list = byLen.get(r.len);
    if (list) list.push(k);
    else byLen.set(r.len, [k]);
  });
  const next = new Map<number, number>(); // per length: index in byLen's list of the first run not yet passed
  const spans: [number, number][] = [];
  for (let k = 0; k < runs.length; ) {
    const { start, len } = runs[k]!;
    const list = byLen.get(len)!;
    let p = next.get(len) ?? 0;
    while (p < list.length && list[p]! <= k) p++;
    next.set(len, p);
    if (p === list.length) {
      k++;
      continue;
    }
    const close = list[p]!;
    spans.push([start, runs[close]!.start + len]);
    k = close + 1;
  }
  return spans;
}

/** Calls `f` for each stretch of `md` outside `spans`, with the span that follows it (none after the last). */
function forEachOutside(md: string, spans: readonly [number, number][], f: (from: number, to: number, span?: [number, number]) => void): void {
  let last = 0;
  for (const span of spans) {
    f(last, span[0], span);
    last = span[1];
  }
  f(last, md.length);
}
