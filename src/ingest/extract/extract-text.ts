/**
 * Text fallbacks and URL helpers for extraction. `domText` turns a DOM subtree into plain text with paragraph
 * breaks without recursion (for markup nested too deeply to convert); `fastHtmlText` does the same straight
 * from the HTML source in one linear scan, for documents too large to build a DOM for.
 */

import { MAX_HREFS_SCANNED, MAX_LINKS } from './bounds.js';
import { hasChildren, isTag, isText, walkTree, type AnyNode, type Element } from './dom-walk.js';

const SKIP_TAGS = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'SVG', 'IFRAME', 'OBJECT', 'CANVAS', 'HEAD', 'TITLE']);
const BLOCK_TAGS = new Set([
  'ADDRESS', 'ARTICLE', 'ASIDE', 'BLOCKQUOTE', 'BODY', 'DD', 'DETAILS', 'DIV', 'DL', 'DT', 'FIELDSET', 'FIGCAPTION',
  'FIGURE', 'FOOTER', 'FORM', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'HEADER', 'HR', 'HTML', 'LI', 'MAIN', 'NAV', 'OL',
  'P', 'PRE', 'SECTION', 'SUMMARY', 'TABLE', 'TR', 'UL',
]);

/** Plain text of a DOM subtree with blank lines between blocks and `#` before headings; iterative. */
export function domText(root: AnyNode): string {
  const out: string[] = [];
  let pre = 0;
  const enter = (el: Element): boolean => {
    const tag = el.name.toUpperCase();
    if (SKIP_TAGS.has(tag)) return false;
    if (tag === 'BR') out.push('\n');
    else if (BLOCK_TAGS.has(tag)) out.push('\n\n');
    if (/^H[1-6]$/.test(tag)) out.push(`${'#'.repeat(Number(tag[1]))} `);
    if (tag === 'PRE') pre++;
    return true;
  };
  const leave = (el: Element) => {
    const tag = el.name.toUpperCase();
    if (SKIP_TAGS.has(tag)) return;
    if (BLOCK_TAGS.has(tag)) out.push('\n\n');
    if (tag === 'PRE') pre--;
  };
  if (!hasChildren(root)) return '';
  walkTree(
    root,
    (node) => {
      if (isText(node)) {
        const t = node.data;
        out.push(pre > 0 ? t : t.replace(/\s+/g, ' '));
        return false;
      }
      if (!isTag(node)) return false;
      const descend = enter(node) && node.children.length > 0;
      if (!descend) leave(node);
      return descend;
    },
    (parent) => {
      if (isTag(parent)) leave(parent);
    },
  );
  return tidyText(out.join(''));
}

/** Trims line ends and collapses runs of blank lines. */
export function tidyText(s: string): string {
  return withoutSpacesBeforeBreaks(s)
    .replace(/\n (?! )/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Spaces and tabs at the end of each line removed (/[ \t]+\n/g took time quadratic in a long run of spaces). */
function withoutSpacesBeforeBreaks(s: string): string {
  if (!s.includes(' \n') && !s.includes('\t\n')) return s;
  const lines = s.split('\n');
  for (let i = 0; i < lines.length - 1; i++) lines[i] = trimEndWhile(lines[i]!, (c) => c === 32 || c === 9);
  return lines.join('\n');
}

/**
 * `s` without the characters at its end that pass `test` (a loop: a regex such as /\n+$/ tries every start in
 * the run, time quadratic in a long run that other text follows).
 */
export function trimEndWhile(s: string, test: (c: number) => boolean): string {
  let end = s.length;
  while (end > 0 && test(s.charCodeAt(end - 1))) end--;
  return end === s.length ? s : s.slice(0, end);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', ndash: '–', mdash: '—', hellip: '…', copy: '©' };

export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,8});/gi, (m, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

const RAW_TEXT_TAGS = new Set(['script', 'style', 'noscript', 'template', 'svg', 'iframe', 'textarea', 'title']);
const FAST_BLOCK = new Set([...BLOCK_TAGS].map((t) => t.toLowerCase()));

export interface FastHtml {
  title: string;
  text: string;
  hrefs: string[];
  baseHref: string | null;
}

/**
 * Text, title and link targets of an HTML document in a single linear pass over the source, without a DOM.
 * Used for documents too large (or too element-heavy) to parse in reasonable time. Never backtracks: every
 * search moves forward, so hostile input (unclosed tags, a 5 MB attribute) costs O(n).
 */
export function fastHtmlText(html: string): FastHtml {
  const out: string[] = [];
  const hrefs: string[] = [];
  let title = '';
  let baseHref: string | null = null;
  const n = html.length;
  let i = 0;
  while (i < n) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      out.push(html.slice(i).replaceAll(HEADING_MARK, ''));
      break;
    }
    if (lt > i) out.push(html.slice(i, lt).replaceAll(HEADING_MARK, ''));
    const next = html.charCodeAt(lt + 1);
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      i = end < 0 ? n : end + 3;
      continue;
    }
    const isLetter = (next >= 65 && next <= 90) || (next >= 97 && next <= 122);
    if (!isLetter && next !== 47 /* / */ && next !== 33 /* ! */) {
      out.push('<');
      i = lt + 1;
      continue;
    }
    const gt = html.indexOf('>', lt + 1);
    if (gt < 0) break; // an unterminated tag runs to the end: nothing visible follows
    const src = html.slice(lt + 1, gt);
    i = gt + 1;
    const m = /^(\/?)([a-zA-Z][\w:-]*)/.exec(src);
    if (!m) continue; // <!doctype>, <![CDATA[ ...
    const closing = m[1] === '/';
    const tag = m[2]!.toLowerCase();
    if (!closing && RAW_TEXT_TAGS.has(tag)) {
      const close = new RegExp(`</${tag}\\s*>`, 'gi');
      close.lastIndex = i;
      const found = close.exec(html);
      const end = found ? found.index : n;
      if (tag === 'title' && !title) title = decodeEntities(html.slice(i, end)).replace(/\s+/g, ' ').trim();
      i = found ? end + found[0].length : n;
      continue;
    }
    if (!closing && (tag === 'a' || tag === 'base')) {
      const h = /\shref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/i.exec(src);
      const value = h ? decodeEntities(h[1] ?? h[2] ?? h[3] ?? '') : null;
      if (value !== null) {
        if (tag === 'a') hrefs.push(value);
        else baseHref ??= value;
      }
    }
    if (tag === 'br') out.push('\n');
    else if (FAST_BLOCK.has(tag)) {
      out.push('\n\n');
      if (!closing && /^h[1-6]$/.test(tag)) out.push(`${HEADING_MARK.repeat(Number(tag[1]))} `);
    } else if (tag === 'td' || tag === 'th') out.push(' ');
  }
  const text = tidyText(decodeEntities(out.join('')).replace(/[^\S\n]+/g, ' '));
  return { title, text: textLinesAsMarkdown(text), hrefs, baseHref };
}

/** Stands for a `#` of a heading in the text being built (the text's own are removed first: never in HTML text). */
const HEADING_MARK = '\u0000';

/**
 * The text's lines as Markdown text: a line that begins like a Markdown block (`# `, `- `, `1. `, `> `, a
 * fence, `---`, `===`, `|`), such as a comment line of code in a `<pre>`, gets a backslash, so it is neither
 * a heading of the page's chunks nor a fence that turns the rest of the page into code; then the headings'
 * marks become `#`s.
 */
function textLinesAsMarkdown(text: string): string {
  return text
    .replace(/^(?:#{1,6}(?=[ \t]|$)|[-+*](?=[ \t]|$)|>|`{3,}|~{3,}|={2,}[ \t]*$|-{2,}[ \t]*$|[*_]{3,}[ \t]*$|\|)/gm, '\\$&')
    .replace(/^(\d{1,9})([.)])(?=[ \t]|$)/gm, '$1\\$2')
    .replace(/^\u0000+/gm, (marks) => '#'.repeat(marks.length));
}

/** An absolute http(s) URL for `href` against `base`, or null. Fragments are dropped unless `keepFragment`. */
export function absoluteUrl(href: string, base: string, keepFragment = false): string | null {
  const h = href.trim();
  if (!h || (h.startsWith('#') && !keepFragment)) return null;
  try {
    const u = new URL(h, base);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    if (!keepFragment) u.hash = '';
    return u.href;
  } catch {
    return null;
  }
}

/**
 * Absolute, fragment-free, http(s)-only, de-duplicated links in input order: at most MAX_LINKS of them,
 * found among the first MAX_HREFS_SCANNED targets. `kept`: absoluteUrl(href, base, true) of a link target,
 * when the caller keeps those (a page's links repeat their targets; see linkResolver).
 */
export function normaliseLinks(hrefs: Iterable<string>, base: string, kept?: (href: string) => string | null): string[] {
  const seen = new Set<string>();
  const links: string[] = [];
  let scanned = 0;
  for (const href of hrefs) {
    if (++scanned > MAX_HREFS_SCANNED || links.length >= MAX_LINKS) break;
    const abs = kept ? withoutFragment(href, kept) : absoluteUrl(href, base);
    if (abs && !seen.has(abs)) {
      seen.add(abs);
      links.push(abs);
    }
  }
  return links;
}

/** absoluteUrl(href, base) from absoluteUrl(href, base, true): the fragment cut off the serialised URL. */
function withoutFragment(href: string, kept: (href: string) => string | null): string | null {
  if (href.trim().startsWith('#')) return null;
  const abs = kept(href);
  const hash = abs === null ? -1 : abs.indexOf('#'); // a serialised URL's first '#' starts its fragment
  return hash < 0 ? abs : abs!.slice(0, hash);
}

/** absoluteUrl(href, base, true) remembered per href: one URL parse per distinct link target of a page. */
export function linkResolver(base: string): (href: string) => string | null {
  const known = new Map<string, string | null>();
  return (href) => {
    let abs = known.get(href);
    if (abs === undefined) {
      abs = absoluteUrl(href, base, true);
      known.set(href, abs);
    }
    return abs;
  };
}

/** A readable title from a URL: its last path segment without extension, else the host name. */
export function titleFromUrl(url: string): string {
  try {
    const u = new URL(url);
    const last = u.pathname.split('/').filter(Boolean).pop();
    if (!last) return u.hostname;
    let seg = last;
    try {
      seg = decodeURIComponent(last);
    } catch {
      // keep the raw segment
    }
    return seg.replace(/\.(html?|md|markdown|mdx|txt|rst)$/i, '') || u.hostname;
  } catch {
    return url;
  }
}

/**
 * Text made safe to put into Markdown as text: a `<` that could open an HTML tag or an autolink (before a
 * letter, `/`, `!` or `?`, or at the end of the text, where the next piece of text may go on with one) and an
 * `&` starting an entity reference are backslash-escaped, and so is a backslash before either or at the end
 * (the next piece of text would start with what it escapes: `a\` + `<img onerror>` made live HTML). So
 * `&lt;script&gt;` shown as text on a page stays the text `<script>` in any Markdown renderer and never
 * becomes live HTML, while operators (`<=`, `<@`, `<->`, `a < b`) stay as written: an agent copying
 * `box \<@ box` from a page would copy the backslash too. `>` cannot open markup and is left as it is. Linear.
 */
export function escapeMarkupText(s: string): string {
  if (!s.includes('<') && !s.includes('&') && !s.endsWith('\\')) return s;
  return s
    .replace(/\\(?=[<&]|$)/g, '\\\\')
    .replace(/<(?=[A-Za-z/!?]|$)/g, '\\<')
    .replace(/&(?=#?[A-Za-z0-9]{1,32};)/g, '\\&');
}

/** Collapses whitespace runs to single spaces and trims. */
export function cleanInline(s: string | null | undefined): string {
  return (s ?? '').replace(/\s+/g, ' ').trim();
}

/** The characters `\s` matches. */
export function isJsSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}
