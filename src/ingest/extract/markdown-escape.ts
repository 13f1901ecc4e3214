/** Escaping of page text put into Markdown. */
import { escapeMarkupText } from './extract-text.js';

/** Text that needs no escaping at all (the common case: checked once instead of running every rule). */
const NEEDS_ESCAPE = /[\\`*_\]<&]|^\s*(?:[-+#>=~]|\d+[.)])/;

/**
 * Escapes only what would change the Markdown's structure; leaves `_` inside words and brackets alone, so
 * identifiers such as `snake_case` and `a[0]` stay readable and searchable. `<` and entity-like `&` are
 * escaped too, so text showing markup never becomes live HTML (code is not escaped: it is kept as it is).
 * The line-start rules apply at the start of each text node.
 */
export function escapeText(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  const md = s
    .replace(/\\(?=[\\`*_[\]#>~|-])/g, '\\\\')
    .replace(/`/g, '\\`')
    .replace(/\*/g, '\\*')
    .replace(/(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu, '\\_')
    .replace(/\]\(/g, '\\](')
    .replace(/^(\s*)([-+])(?=\s)/, '$1\\$2')
    .replace(/^(\s*)(#{1,6})(?=\s|$)/, '$1\\$2')
    .replace(/^(\s*)>/, '$1\\>')
    .replace(/^(\s*)(=+|~~~)/, '$1\\$2')
    .replace(/^(\s*\d+)([.)])(?=\s)/, '$1\\$2');
  return escapeMarkupText(md);
}
