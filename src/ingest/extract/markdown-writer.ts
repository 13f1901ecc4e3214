/**
 * HTML -> Markdown over a domhandler tree: a converter of our own that follows turndown's algorithm (the
 * same whitespace collapsing, blank-element rule, flanking whitespace of inline elements and newline joining)
 * with the rules the extraction used on top of turndown: ATX headings without permalink marks, fenced code
 * with the language of the usual highlighter classes, "- item" / "3. item" lists indented to the text, GFM
 * tables (./markdown-table.ts), strikethrough, task-list boxes (made text before), images with escaped alt
 * text, empty permalink links dropped, and the light escaping of ./markdown-escape.ts.
 *
 * Recursive over the element tree: callers flatten nesting deeper than MAX_DEPTH first (extract-html.ts).
 * Unlike turndown, it never computes a subtree's text per node (that made turndown O(nodes x depth)) nor
 * converts the content of elements whose rule ignores it (<pre>, blank elements).
 */
import { attr, hasChildren, isTag, isText, nextInTree, textOf, type AnyNode, type ChildNode, type Element, type ParentNode } from './dom-walk.js';
import { codeLanguage, fenceFor } from './code-language.js';
import { collapseWhitespace } from './collapse-whitespace.js';
import { escapeText, inlineStart, linkText } from './markdown-escape.js';
import { BLOCK_TAGS, MEANINGFUL_WHEN_BLANK, VOID_TAGS } from './markdown-tags.js';
import { CELL, ROW, tableMarkdown } from './markdown-table.js';
import { escapeMarkupText, isJsSpace, trimEndWhile } from './extract-text.js';

/** The Markdown of `root`'s content (root's own tag is not converted). Collapses `root`'s whitespace in place. */
export function toMarkdown(root: ParentNode): string {
  collapseWhitespace(root);
  const writer = new Writer();
  return writer.children(root, false).replace(/^[\t\r\n]+/, '').trimEnd();
}

/** Appends `replacement` to `out`, with at most two newlines where the two meet (turndown's join). */
function join(out: string[], replacement: string): void {
  const tail = out.pop() ?? '';
  let end = tail.length;
  while (end > 0 && tail.charCodeAt(end - 1) === 10) end--;
  let start = 0;
  while (start < replacement.length && replacement.charCodeAt(start) === 10) start++;
  const newlines = Math.max(tail.length - end, start);
  if (end > 0) out.push(end === tail.length ? tail : tail.slice(0, end));
  if (newlines > 0) out.push(newlines > 1 ? '\n\n' : '\n');
  if (start < replacement.length) out.push(start > 0 ? replacement.slice(start) : replacement);
}

const HEADING = /^h[1-6]$/;

/**
 * Whether Markdown written so far ends inside a line that holds more than spaces (what follows cannot start a
 * block); `before`: whether the parent's own Markdown starts inside such a line, when `out` holds nothing else.
 */
function midLine(out: readonly string[], before = false): boolean {
  for (let i = out.length - 1; i >= 0; i--) {
    const piece = out[i]!;
    for (let j = piece.length - 1; j >= 0; j--) {
      const c = piece.charCodeAt(j);
      if (c === 10) return false;
      if (c !== 32 && c !== 9) return true;
    }
  }
  return before;
}

/**
 * Elements whose Markdown puts a mark before their content on the same line (`*`, `**`, `[`, `~`, a heading's
 * `#`s, a table cell's `|`): their content never starts a line, so it needs no line-start escapes (Sphinx
 * writes a signature's `=` in a span of its own inside <em>: `*skipkeys\=False*` before).
 */
const MARKED_INLINE = new Set(['a', 'em', 'i', 'strong', 'b', 'del', 's', 'strike', 'code', 'th', 'td', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6']);

class Writer {
  /** Position of each <li> among the <li>s of its <ol>. */
  private readonly positions = new WeakMap<Element, number>();

  /** The Markdown of `parent`'s children; `mid`: it starts inside a line of text (see midLine). */
  children(parent: ParentNode, isCode: boolean, mid = false): string {
    if (parent.children.length === 1) {
      // one child (most inline elements: highlighted code's spans, links): its Markdown, as join would leave it
      const child = parent.children[0]!;
      const md = isText(child) ? (isCode ? child.data : escapeText(child.data, !mid)) : isTag(child) ? this.element(child, isCode, mid) : '';
      return md.startsWith('\n\n\n') ? `\n\n${md.replace(/^\n+/, '')}` : md;
    }
    const out: string[] = [];
    for (const child of parent.children) {
      // a text node after inline Markdown on the same line cannot start a block: no line-start escapes
      if (isText(child)) join(out, isCode ? child.data : escapeText(child.data, !midLine(out, mid)));
      else if (isTag(child)) join(out, this.element(child, isCode, midLine(out, mid)));
    }
    return out.join('');
  }

  private element(el: Element, parentIsCode: boolean, mid: boolean): string {
    const name = el.name;
    const block = BLOCK_TAGS.has(name);
    let leading = '';
    let trailing = '';
    if (!block) [leading, trailing] = flankingWhitespace(el);
    let md: string;
    if (isBlank(el)) md = block ? '\n\n' : '';
    else {
      const isCode = parentIsCode || name === 'code';
      md = this.rule(el, name, block, isCode, leading !== '' || trailing !== '', MARKED_INLINE.has(name) || (!block && mid));
    }
    return leading + md + trailing;
  }

  /**
   * The Markdown of a non-blank element; `trim`: its content is trimmed (it has flanking whitespace); `mid`:
   * its content starts inside a line of text.
   */
  private rule(el: Element, name: string, block: boolean, isCode: boolean, trim: boolean, mid: boolean): string {
    switch (name) {
      case 'pre':
        return fencedCode(el);
      case 'img':
        return image(el);
      case 'br':
        return '  \n';
      case 'hr':
        return '\n\n---\n\n';
      case 'a':
        if (isEmptyLink(el)) return '';
        break;
    }
    let content = this.children(el, isCode, mid);
    if (trim) content = content.trim();
    switch (name) {
      case 'table':
        return tableMarkdown(content);
      case 'caption':
        return `${content.trim()}\n\n`;
      case 'thead':
      case 'tbody':
      case 'tfoot':
        return content;
      case 'tr':
        return `${ROW}${content}`;
      case 'th':
      case 'td':
        return `${CELL}${content}`;
      case 'li':
        return this.listItem(el, content);
      case 'del':
      case 's':
      case 'strike':
        return `~${content}~`;
      case 'p':
        return `\n\n${content}\n\n`;
      case 'blockquote': {
        const body = trimEndWhile(content.replace(/^\n+/, ''), isNewline);
        // past MAX_MARKER_NESTING quotes, inner ones add no further '> ' (see there)
        return `\n\n${nestedIn(el, 'blockquote') >= MAX_MARKER_NESTING ? body : body.replace(/^/gm, '> ')}\n\n`;
      }
      case 'ul':
      case 'ol': {
        const parent = el.parent;
        if (parent && isTag(parent) && parent.name === 'li' && lastElementChild(parent) === el) return `\n${content}`;
        return `\n\n${content}\n\n`;
      }
      case 'a': {
        const href = attr(el, 'href');
        if (!href) return content;
        const title = cleanAttribute(attr(el, 'title')).replace(/"/g, '\\"');
        return `[${linkText(inlineStart(content))}](${linkDestination(href)}${title ? ` "${title}"` : ''})`;
      }
      case 'em':
      case 'i':
        return content.trim() ? `*${content}*` : '';
      case 'strong':
      case 'b':
        return content.trim() ? `**${content}**` : '';
      case 'code':
        return inlineCode(content);
    }
    if (HEADING.test(name)) {
      // A heading holds one line of inline text: "3. Syntax" there is no list item ("# 3\. Syntax" before).
      const text = inlineStart(content.replace(/\s+/g, ' ').replace(/\s*[¶§]\s*$/, '').trim());
      return text ? `\n\n${'#'.repeat(Number(name[1]))} ${text}\n\n` : '';
    }
    return block ? `\n\n${content}\n\n` : content;
  }

  /** "- item" / "3. item" with continuation lines indented to the text. */
  private listItem(li: Element, content: string): string {
    const parent = li.parent;
    let prefix = '- ';
    if (parent && isTag(parent) && parent.name === 'ol') {
      if (!this.positions.has(li)) {
        let i = 0;
        for (const c of parent.children) if (isTag(c) && c.name === 'li') this.positions.set(c, i++);
      }
      const start = Number.parseInt(attr(parent, 'start') ?? '1', 10);
      const n = (Number.isFinite(start) ? start : 1) + (this.positions.get(li) ?? 0);
      // A Markdown list number has 1 to 9 digits and no sign: "-3." or "1e+21." would be a line of text.
      prefix = `${Math.min(Math.max(n, 0), MAX_LIST_NUMBER)}. `;
    }
    const lead = content.replace(/^\n+/, '');
    const trimmed = lead.endsWith('\n') ? `${trimEndWhile(lead, isNewline)}\n` : lead;
    // past MAX_MARKER_NESTING items, inner ones indent no further (see there)
    const body = nestedIn(li, 'li') >= MAX_MARKER_NESTING ? trimmed : trimmed.replace(/\n/g, `\n${' '.repeat(prefix.length)}`);
    return prefix + body + (li.next && !body.endsWith('\n') ? '\n' : '');
  }
}

/**
 * How deep block quotes and list items nest in Markdown: each level prefixes every line inside it ('> ', or
 * the list marker's width of spaces), so 100 nested levels (the most extract-html.ts keeps) turned 130 KB of
 * hostile HTML into 4 MB of Markdown and thousands of chunks, in seconds of work. Real pages stay far below.
 */
export const MAX_MARKER_NESTING = 16;

/** How many ancestors of `el` are `name` elements. */
function nestedIn(el: Element, name: string): number {
  let n = 0;
  for (let p = el.parent; p; p = p.parent) if (isTag(p) && p.name === name) n++;
  return n;
}

function lastElementChild(parent: ParentNode): Element | null {
  for (let i = parent.children.length - 1; i >= 0; i--) {
    const c = parent.children[i]!;
    if (isTag(c)) return c;
  }
  return null;
}

/** No text but whitespace, not void or meaningful when blank, and nothing void or meaningful inside. */
function isBlank(el: Element): boolean {
  if (VOID_TAGS.has(el.name) || MEANINGFUL_WHEN_BLANK.has(el.name)) return false;
  for (let node: ChildNode | null = el.children[0] ?? null; node; node = nextInTree(node, el)) {
    if (isText(node)) {
      if (/\S/.test(node.data)) return false;
    } else if (isTag(node) && (VOID_TAGS.has(node.name) || MEANINGFUL_WHEN_BLANK.has(node.name))) return false;
  }
  return true;
}

/** ASCII whitespace, which Markdown collapses (a no-break space it keeps). */
const isAsciiSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
const isNewline = (c: number) => c === 10;

/**
 * The whitespace at the two edges of `t` (all of it leading when `t` is only whitespace): each as its ASCII
 * part on the outer side and the rest. (Scanned, not /^(([ \t\r\n]*)(\s*))(?:(?=\S)[\s\S]*\S)?((\s*?)([ \t\r\n]*))$/,
 * which took time quadratic in a long trailing run ending in a no-break space.)
 */
function edges(t: string): { leading: string; leadAscii: string; leadRest: string; trailing: string; trailRest: string; trailAscii: string } {
  let a = 0;
  while (a < t.length && isAsciiSpace(t.charCodeAt(a))) a++;
  let b = a;
  while (b < t.length && isJsSpace(t.charCodeAt(b))) b++;
  let e = t.length;
  while (e > b && isAsciiSpace(t.charCodeAt(e - 1))) e--;
  let d = e;
  while (d > b && isJsSpace(t.charCodeAt(d - 1))) d--;
  return { leading: t.slice(0, b), leadAscii: t.slice(0, a), leadRest: t.slice(a, b), trailing: t.slice(d), trailRest: t.slice(d, e), trailAscii: t.slice(e) };
}

/**
 * The whitespace at the edges of an inline element's text, kept outside its Markdown (`a<b> x </b>y` ->
 * `a **x** y`); ASCII whitespace already present on that side (in the sibling) is not repeated.
 */
function flankingWhitespace(el: Element): readonly [string, string] {
  if (!edgeSpace(el)) return NO_FLANK;
  const lead = leadingWhitespace(el);
  const trail = lead.all ? '' : trailingWhitespace(el);
  if (!lead.ws && !trail) return NO_FLANK;
  const m = edges(lead.all ? lead.ws : `${lead.ws}x${trail}`);
  let leading = m.leading;
  let trailing = m.trailing;
  if (m.leadAscii && flankedLeft(el)) leading = m.leadRest;
  if (m.trailAscii && flankedRight(el)) trailing = m.trailRest;
  return [leading, trailing];
}

const NO_FLANK = ['', ''] as const;

/**
 * Whether the element's text may have whitespace at an edge: false when its first and last characters are
 * not whitespace (most inline elements), which needs no string.
 */
function edgeSpace(el: Element): boolean {
  let first: string | null = null;
  for (let node: ChildNode | null = el.children[0] ?? null; node; node = nextInTree(node, el)) {
    if (isText(node) && node.data) {
      first = node.data;
      break;
    }
  }
  if (first === null || isJsSpace(first.charCodeAt(0))) return true;
  for (let node: AnyNode | null = lastLeaf(el); node && node !== el; node = previousInTree(node, el)) {
    if (isText(node) && node.data) return isJsSpace(node.data.charCodeAt(node.data.length - 1));
  }
  return true;
}

/** The whitespace before the first non-space character of the element's text (`all`: it has no other). */
function leadingWhitespace(el: Element): { ws: string; all: boolean } {
  let ws = '';
  for (let node: ChildNode | null = el.children[0] ?? null; node; node = nextInTree(node, el)) {
    if (!isText(node)) continue;
    const i = node.data.search(/\S/);
    if (i >= 0) return { ws: ws + node.data.slice(0, i), all: false };
    ws += node.data;
  }
  return { ws, all: true };
}

/** The whitespace after the last non-space character of the element's text (it has one). */
function trailingWhitespace(el: Element): string {
  let ws = '';
  for (let node: AnyNode | null = lastLeaf(el); node && node !== el; node = previousInTree(node, el)) {
    if (!isText(node)) continue;
    const end = node.data.trimEnd().length;
    if (end > 0) return node.data.slice(end) + ws;
    ws = node.data + ws;
  }
  return ws;
}

function lastLeaf(node: AnyNode): AnyNode {
  let cur = node;
  while (hasChildren(cur) && cur.children.length > 0) cur = cur.children[cur.children.length - 1]!;
  return cur;
}

/** The node before `node` in reverse document order (last descendants first) within `root`. */
function previousInTree(node: AnyNode, root: AnyNode): AnyNode | null {
  if (node === root) return null;
  if (node.prev) return lastLeaf(node.prev);
  return node.parent === root ? null : node.parent;
}

/** The previous sibling ends with a space (text, or an inline element whose text does). */
function flankedLeft(el: Element): boolean {
  const s = el.prev;
  if (!s) return false;
  if (isText(s)) return s.data.endsWith(' ');
  if (isTag(s) && !BLOCK_TAGS.has(s.name)) return lastTextChar(s) === ' ';
  return false;
}

/** The largest number a Markdown ordered list item can have (CommonMark: at most 9 digits). */
const MAX_LIST_NUMBER = 999_999_999;

/** The next sibling starts with a space (text, or an inline element whose text does). */
function flankedRight(el: Element): boolean {
  const s = el.next;
  if (!s) return false;
  if (isText(s)) return s.data.startsWith(' ');
  if (isTag(s) && !BLOCK_TAGS.has(s.name)) {
    for (let node: ChildNode | null = s.children[0] ?? null; node; node = nextInTree(node, s)) if (isText(node) && node.data) return node.data[0] === ' ';
  }
  return false;
}

function lastTextChar(el: Element): string {
  for (let node: AnyNode | null = lastLeaf(el); node && node !== el; node = previousInTree(node, el)) {
    if (isText(node) && node.data) return node.data[node.data.length - 1]!;
  }
  return '';
}

/** A permalink such as `<a href="#x">¶</a>`: no text but marks, no image. */
function isEmptyLink(a: Element): boolean {
  for (let node: ChildNode | null = a.children[0] ?? null; node; node = nextInTree(node, a)) {
    if (isText(node)) {
      if (!/^[\s¶#§🔗]*$/u.test(node.data)) return false;
    } else if (isTag(node) && node.name === 'img') return false;
  }
  return true;
}

function fencedCode(pre: Element): string {
  const code = textOf(pre).replace(/^\n/, '').trimEnd();
  if (!code.trim()) return '';
  const fence = fenceFor(code);
  return `\n\n${fence}${codeLanguage(pre)}\n${code}\n${fence}\n\n`;
}

/** An image; alt text and title are text (never live HTML). */
function image(img: Element): string {
  const src = attr(img, 'src') ?? '';
  if (!src) return '';
  const alt = escapeMarkupText((attr(img, 'alt') ?? '').replace(/\s+/g, ' ').trim()).replace(/[[\]]/g, '\\$&');
  const title = (attr(img, 'title') ?? '').replace(/\s+/g, ' ').trim();
  return `![${alt}](${src}${title ? ` "${escapeMarkupText(title).replace(/"/g, '\\"')}"` : ''})`;
}

function inlineCode(content: string): string {
  if (!content) return '';
  const code = content.replace(/\r?\n|\r/g, ' ');
  // CommonMark strips one space from each end of a span that starts and ends with one (and is not all spaces)
  const padded = code.startsWith(' ') && code.endsWith(' ') && /[^ ]/.test(code);
  const extraSpace = code.startsWith('`') || code.endsWith('`') || padded ? ' ' : '';
  let delimiter = '`';
  const runs: string[] = code.match(/`+/gm) ?? [];
  while (runs.includes(delimiter)) delimiter += '`';
  return delimiter + extraSpace + code + extraSpace + delimiter;
}

function cleanAttribute(value: string | null): string {
  return value ? value.replace(/(\n+\s*)+/g, '\n') : '';
}

function linkDestination(href: string): string {
  const escaped = href.replace(/([<>()])/g, '\\$1');
  return escaped.includes(' ') ? `<${escaped}>` : escaped;
}
