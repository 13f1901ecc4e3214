/** The language of a code block, from the usual highlighter classes and data attributes, and its fence. */
import { attr, firstByTag, isTag, type Element } from './dom-walk.js';

const NO_LANGUAGE = new Set(['default', 'none', 'nohighlight', 'notranslate', 'plain', 'plaintext', 'text', 'nocode']);

/** The code language named by an element's class or data attributes ('' when none). */
export function languageOf(el: Element | null | undefined): string {
  if (!el) return '';
  const data = attr(el, 'data-lang') ?? attr(el, 'data-language');
  if (data && /^[\w+#.-]{1,40}$/.test(data)) return normaliseLanguage(data);
  const cls = el.attribs.class ?? '';
  if (!cls) return '';
  for (const token of cls.split(/\s+/)) {
    const m = /^(?:language|lang|highlight)-(?:source-|text-)?([\w+#.-]{1,40})$/i.exec(token);
    if (m) return normaliseLanguage(m[1]!);
  }
  const pandoc = /(?:^|\s)sourceCode\s+([\w+#.-]{1,40})/.exec(cls);
  if (pandoc && pandoc[1] !== 'sourceCode') return normaliseLanguage(pandoc[1]!);
  const brush = /brush:\s*([\w+#-]{1,40})/.exec(cls);
  if (brush) return normaliseLanguage(brush[1]!);
  return '';
}

function normaliseLanguage(lang: string): string {
  const l = lang.toLowerCase();
  return NO_LANGUAGE.has(l) ? '' : l;
}

/** The language of a <pre>: its <code>, itself, or (Sphinx, MkDocs wrappers) up to three ancestors. */
export function codeLanguage(pre: Element): string {
  let lang = languageOf(firstByTag(pre, 'code')) || languageOf(pre);
  // Sphinx: div.highlight-python > div.highlight > pre; MkDocs: div.language-python > pre
  let up = pre.parent;
  for (let i = 0; !lang && up && isTag(up) && i < 3; i++, up = up.parent) lang = languageOf(up);
  return lang;
}

/** A fence longer than any backtick run inside the code. */
export function fenceFor(code: string): string {
  let longest = 0;
  for (const m of code.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  return '`'.repeat(Math.max(3, longest + 1));
}
