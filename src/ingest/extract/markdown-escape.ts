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

/** A code span (a backtick run, its text and a closing run of the same length): brackets inside it are text. */
const CODE_SPAN = /(?<!`)(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g;

/**
 * A link's text with its brackets escaped when they do not pair up: rustdoc links the brackets of an array type
 * apart (`<a>[</a>T<a>; N]</a>`), and `[[](…)T[; N]](…)` is no longer two links. Paired brackets (`a[0]`) and
 * those in code spans stay as they are.
 */
export function linkText(md: string): string {
  if (!md.includes('[') && !md.includes(']')) return md;
  const outside = md.replace(CODE_SPAN, '');
  let depth = 0;
  for (let i = 0; i < outside.length && depth >= 0; i++) {
    const c = outside[i];
    if (c === '\\') i++;
    else if (c === '[') depth++;
    else if (c === ']') depth--;
  }
  if (depth === 0) return md;
  let out = '';
  let last = 0;
  for (const m of md.matchAll(CODE_SPAN)) {
    out += escapeBrackets(md.slice(last, m.index)) + m[0];
    last = m.index + m[0].length;
  }
  return out + escapeBrackets(md.slice(last));
}

const escapeBrackets = (s: string): string => s.replace(/(\\[\s\S])|([[\]])/g, (m, escaped: string | undefined) => escaped ?? `\\${m}`);
