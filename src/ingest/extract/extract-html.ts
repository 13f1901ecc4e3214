/**
 * HTML -> ExtractedPage: linkedom DOM, main-content selection and clean-up, turndown to Markdown.
 * Documents with too many elements for a DOM in reasonable time, and markup nested too deeply for turndown's
 * recursion, degrade to plain text (with paragraph breaks) instead of hanging or throwing.
 */
import { parseHTML } from 'linkedom';
import type { ExtractedPage } from './extracted-page.js';
import { createTurndown } from './extract-turndown.js';
import { elementsWhere, firstByTag, firstWhere, hasAncestorOrSelf, hasClassIn, simpleSelector, tagOf } from './dom-walk.js';
import { absoluteUrl, cleanInline, domText, escapeMarkupText, fastHtmlText, normaliseLinks, titleFromUrl } from './extract-text.js';

/** Above this many "<" and "&" the DOM is skipped (linkedom needs seconds per 100k nodes, and memory grows fast). */
export const MAX_DOM_TAGS = 60_000;
/**
 * Elements deeper than this are flattened to paragraphs of their text right after parsing: turndown
 * recurses once per level, and every pass that measures an element's text costs its depth.
 */
export const MAX_DEPTH = 100;

/** Never visible: always removed. */
const INVISIBLE = new Set(
  'script,style,noscript,template,iframe,object,embed,svg,canvas,link,meta,button,select,input,textarea'.toUpperCase().split(','),
);
/** Page chrome: removed unless it holds most of the content (the tags, roles, aria-hidden and classes below). */
const CHROME_TAGS = new Set(['NAV', 'ASIDE', 'FOOTER', 'FORM', 'DIALOG']);
const CHROME_ROLES = new Set(['navigation', 'banner', 'contentinfo', 'complementary', 'search']);
const CHROME_CLASSES = new Set([
  'headerlink', 'hash-link', 'anchorjs-link', 'linenos', 'linenodiv',
  'sphinxsidebar', 'related', 'sr-only', 'visually-hidden', 'screen-reader-text',
]);
/** Permalink markers inside headings, dropped from the heading's text. */
const HEADING_ANCHOR_CLASSES = new Set(['headerlink', 'hash-link', 'anchor', 'anchorjs-link']);

/** The element is page chrome by its tag, role, aria-hidden or class (what a CHROME selector list would match). */
function isChromeElement(el: Element): boolean {
  if (CHROME_TAGS.has(tagOf(el))) return true;
  const role = el.getAttribute('role');
  if (role !== null && CHROME_ROLES.has(role)) return true;
  if (el.getAttribute('aria-hidden') === 'true') return true;
  return hasClassIn(el, CHROME_CLASSES);
}
/** class/id words naming sidebars, tables of contents, breadcrumbs, skip links, menus, pagers. */
const CHROME_NAME_RE =
  /(?:^|[\s_-])(sidebars?|sidenav|side-nav|toc|tableofcontents|table-of-contents|breadcrumbs?|skip|skiplink|skipnav|navbar|navigation|nav|menu|pagination|pager|prev-next|footer|related|announcement)(?=$|[\s_-])/i;
const CONSENT_RE = /cookie|consent|gdpr/i;
/** Elements that the class/id heuristics may remove; content elements (headings, code, tables, sections) never. */
const HEURISTIC_TAGS = new Set(['DIV', 'UL', 'OL', 'A', 'SPAN', 'P', 'NAV', 'ASIDE', 'HEADER', 'FOOTER', 'FORM', 'DETAILS', 'DIALOG']);

/** Containers that usually hold the documentation text, tried (inside the root) in this order. */
const CONTAINERS = [
  'article', '#main-content', '.main-content', '#content', '.content', '.document', '.body', '.markdown-body',
  '.md-content', '.theme-doc-markdown', '.markdown', '.rst-content', '#main', '.main', '.post-content',
  '.entry-content', '.page-content', '.article-content', '.docs-content', '.doc-content', '.documentation',
].map(simpleSelector);
/** Index in CONTAINERS of each tag, id and class selector. */
const CONTAINER_BY_TAG = new Map<string, number>();
const CONTAINER_BY_ID = new Map<string, number>();
const CONTAINER_BY_CLASS = new Map<string, number>();
CONTAINERS.forEach((sel, i) => {
  if ('tag' in sel) CONTAINER_BY_TAG.set(sel.tag, i);
  else if ('id' in sel) CONTAINER_BY_ID.set(sel.id, i);
  else CONTAINER_BY_CLASS.set(sel.cls, i);
});

let service: ReturnType<typeof createTurndown> | undefined;

export function extractHtml(rawHtml: string, pageUrl: string): ExtractedPage {
  const html = /[\uE000\uE001]/.test(rawHtml) ? rawHtml.replace(/[\uE000\uE001]/g, '') : rawHtml;
  if (tagCountExceeds(html, MAX_DOM_TAGS)) return extractWithoutDom(html, pageUrl);
  try {
    return extractWithDom(html, pageUrl);
  } catch {
    // linkedom refuses some broken documents (e.g. thousands of unclosed "<div"): fall back to the text
    return extractWithoutDom(html, pageUrl);
  }
}

function extractWithDom(source: string, pageUrl: string): ExtractedPage {
  // linkedom puts the content of a fragment beside an empty <body>: give fragments a document around them
  const html = /<html[\s>]/i.test(source.slice(0, 4096)) ? source : `<!DOCTYPE html><html><head></head><body>${source}</body></html>`;
  const { document } = parseHTML(html);
  const body: Element | null = document.body ?? document.documentElement;
  if (!body) return extractWithoutDom(html, pageUrl);

  // one walk over the document for <base href>, every link (navigation included: the crawler follows them)
  // and the first <title> outside SVG
  let baseHref: string | null | undefined;
  let headTitle: Element | undefined;
  const hrefs: string[] = [];
  elementsWhere(document, (el) => {
    const tag = tagOf(el);
    if (tag === 'A' || tag === 'AREA') {
      const href = el.getAttribute('href');
      if (href !== null) hrefs.push(href);
    } else if (tag === 'BASE') {
      if (baseHref === undefined && el.hasAttribute('href')) baseHref = el.getAttribute('href');
    } else if (tag === 'TITLE' && !headTitle && !hasAncestorOrSelf(el, 'SVG')) headTitle = el;
    return false;
  });
  const base = (baseHref && absoluteUrl(baseHref, pageUrl, true)) || pageUrl;
  const links = normaliseLinks(hrefs, base);
  const textLength = visibleTextLength(body);
  const docTitle = cleanInline(headTitle?.textContent);

  const boxes = elementsWhere(body, (el) => tagOf(el) === 'INPUT' && (el.getAttribute('type') ?? '').toLowerCase() === 'checkbox' && insideLi(el, body));
  for (const box of boxes) box.replaceWith(document.createTextNode(box.hasAttribute('checked') ? '[x] ' : '[ ] '));
  for (const el of elementsWhere(body, (e) => INVISIBLE.has(tagOf(e)))) el.remove();
  flattenDeep(body, document);
  lengths = new WeakMap();
  let root = pickRoot(document, body);
  removeChrome(root);
  lengths = new WeakMap();
  root = narrow(root);
  lengths = new WeakMap();

  const h1 = headingText(firstByTag(root, 'H1') ?? firstByTag(body, 'H1'));
  const title = chooseTitle(docTitle, h1) || titleFromUrl(pageUrl);

  prepare(root, document, base);
  let markdown: string;
  try {
    service ??= createTurndown();
    markdown = turndownInPlace(service, root);
  } catch {
    // pathological markup turndown cannot handle (e.g. a stack overflow): keep the text
    markdown = escapeMarkupText(domText(root));
  }
  markdown = tidyMarkdown(markdown.replace(/[\uE000\uE001]/g, ' '));
  return { title, markdown, links, textLength };
}

function extractWithoutDom(html: string, pageUrl: string): ExtractedPage {
  const fast = fastHtmlText(html);
  const base = (fast.baseHref && absoluteUrl(fast.baseHref, pageUrl, true)) || pageUrl;
  const text = fast.text;
  const h1 = /^# (.+)$/m.exec(text)?.[1]?.trim() ?? '';
  return {
    title: chooseTitle(fast.title, h1) || titleFromUrl(pageUrl),
    markdown: escapeMarkupText(text),
    links: normaliseLinks(fast.hrefs, base),
    textLength: text.replace(/\s+/g, ' ').length,
  };
}

/**
 * Whether the document would make more DOM nodes than `limit` allows: counts "<" (tags, and the text nodes
 * a stray "<" splits off) and "&" (the parser splits text at entities). Linear, no allocation.
 */
function tagCountExceeds(html: string, limit: number): boolean {
  let count = 0;
  for (let i = 0; i < html.length; i++) {
    const c = html.charCodeAt(i);
    if ((c === 60 || c === 38) && ++count > limit) return true;
  }
  return false;
}

let lengths = new WeakMap<Element, number>();

/** Non-whitespace characters of an element's text (cached until the tree changes: see `lengths` resets). */
function textLen(el: Element): number {
  let n = lengths.get(el);
  if (n === undefined) {
    const t = el.textContent ?? '';
    n = 0;
    for (let i = 0; i < t.length; i++) if (t.charCodeAt(i) > 32) n++;
    lengths.set(el, n);
  }
  return n;
}

/** `<main>` or `[role=main]` with the most text, else the body. */
function pickRoot(document: Document, body: Element): Element {
  const isMain = (el: Element) => tagOf(el) === 'MAIN';
  const hasMainRole = (el: Element) => el.getAttribute('role') === 'main';
  for (const test of [isMain, hasMainRole]) {
    let best: Element | null = null;
    let bestLen = 0;
    for (const c of elementsWhere(document, test)) {
      const len = textLen(c);
      if (len > bestLen) [best, bestLen] = [c, len];
    }
    if (best && bestLen >= 40) return best;
  }
  return body;
}

/** Removes navigation, sidebars, banners... inside `root`, never anything holding most of its text. */
function removeChrome(root: Element): void {
  const total = Math.max(1, textLen(root));
  const dominant = (el: Element) => textLen(el) > total * 0.5;
  const candidates = elementsWhere(
    root,
    (el) => el.hasAttribute('class') || el.hasAttribute('id') || el.hasAttribute('hidden') || tagOf(el) === 'HEADER' || isChromeElement(el),
  );
  for (const el of candidates) {
    if (el === root || !root.contains(el)) continue; // already gone with an ancestor
    if (isChrome(el) && !dominant(el)) el.remove();
  }
}

function isChrome(el: Element): boolean {
  const tag = tagOf(el);
  if (tag === 'HEADER') return !firstWhere(el, (e) => tagOf(e) === 'H1' || tagOf(e) === 'H2');
  if (isChromeElement(el)) return true;
  if (el.hasAttribute('hidden')) {
    const tabbed = el.getAttribute('role') === 'tabpanel' || /tab/i.test(el.getAttribute('class') ?? '');
    if (!tabbed) return true;
  }
  if (!HEURISTIC_TAGS.has(tag)) return false;
  const cls = el.getAttribute('class') ?? '';
  if (/(?:^|\s)section(?:\s|$)/.test(cls)) return false; // docutils sections carry ids made from headings
  const id = tag === 'DIV' || tag === 'NAV' || tag === 'ASIDE' || tag === 'UL' ? el.getAttribute('id') ?? '' : '';
  const names = `${cls} ${id}`;
  if (CHROME_NAME_RE.test(names)) return true;
  return CONSENT_RE.test(names) && textLen(el) < 5000;
}

/** Narrows the root to a documentation container holding nearly all of its text. */
function narrow(root: Element): Element {
  // one walk: the elements matching each container selector, in document order
  const matches: Element[][] = CONTAINERS.map(() => []);
  elementsWhere(root, (el) => {
    const tag = CONTAINER_BY_TAG.get(tagOf(el));
    if (tag !== undefined) matches[tag]!.push(el);
    const id = el.getAttribute('id');
    const byId = id ? CONTAINER_BY_ID.get(id) : undefined;
    if (byId !== undefined) matches[byId]!.push(el);
    const cls = el.getAttribute('class');
    if (cls) {
      const seen = new Set<number>();
      for (const token of cls.split(/[ \t\n\f\r]+/)) {
        const i = CONTAINER_BY_CLASS.get(token);
        if (i !== undefined && !seen.has(i)) {
          seen.add(i);
          matches[i]!.push(el);
        }
      }
    }
    return false;
  });
  let cur = root;
  for (let i = 0; i < CONTAINERS.length; i++) {
    const total = textLen(cur);
    let best: Element | null = null;
    let bestLen = 0;
    for (const c of matches[i]!) {
      if (c === cur || (cur !== root && !cur.contains(c))) continue; // only descendants of the current root
      const len = textLen(c);
      if (len > bestLen) [best, bestLen] = [c, len];
    }
    if (best && bestLen >= 40 && bestLen >= total * 0.75) cur = best;
  }
  return cur;
}

function headingText(h: Element | null): string {
  if (!h) return '';
  const clone = h.cloneNode(true) as Element;
  for (const a of elementsWhere(clone, (el) => hasClassIn(el, HEADING_ANCHOR_CLASSES))) a.remove();
  return cleanInline(clone.textContent).replace(/\s*[¶§]$/, '');
}

/** `<title>`, or the `<h1>` when the title is that heading plus a site name ("Install — Acme Docs"). */
function chooseTitle(docTitle: string, h1: string): string {
  if (docTitle && h1 && docTitle !== h1) {
    const sep = /^\s*[-–—|:·•»]\s*\S/;
    if (docTitle.startsWith(h1) && sep.test(docTitle.slice(h1.length))) return h1;
    if (docTitle.endsWith(h1) && /\S\s*[-–—|:·•«]\s*$/.test(docTitle.slice(0, -h1.length))) return h1;
  }
  return docTitle || h1;
}

/** Absolute links and images, line breaks inside <pre>, text nodes merged. */
function prepare(root: Element, document: Document, base: string): void {
  const anchors: Element[] = [];
  const images: Element[] = [];
  const breaks: Element[] = [];
  elementsWhere(root, (el) => {
    const tag = tagOf(el);
    if (tag === 'A' && el.hasAttribute('href')) anchors.push(el);
    else if (tag === 'IMG') images.push(el);
    else if (tag === 'BR' && hasAncestorOrSelf(el, 'PRE')) breaks.push(el);
    return false;
  });
  for (const a of anchors) {
    const abs = absoluteUrl(a.getAttribute('href') ?? '', base, true);
    if (abs) a.setAttribute('href', abs);
    else a.removeAttribute('href');
  }
  for (const img of images) {
    const src = [img.getAttribute('src'), img.getAttribute('data-src')].find((s) => s && !s.startsWith('data:'));
    const abs = src ? absoluteUrl(src, base, true) : null;
    if (abs) img.setAttribute('src', abs);
    else img.remove();
  }
  for (const br of breaks) br.replaceWith(document.createTextNode('\n'));
  root.normalize(); // one text node per run of text (the parser splits text at entities)
}

/** Whether `el` has an <li> ancestor (up to and including `root`). */
function insideLi(el: Element, root: Element): boolean {
  for (let cur = el.parentNode; cur; cur = cur === root ? null : cur.parentNode) {
    if (cur.nodeType === 1 && tagOf(cur as Element) === 'LI') return true;
  }
  return false;
}

/** Replaces the content of elements at MAX_DEPTH with paragraphs of its text. */
function flattenDeep(root: Element, document: Document): void {
  const deep: Element[] = [];
  let depth = 0;
  let node: Node | null = root.firstChild;
  while (node) {
    if (node.nodeType === 1 && depth + 1 >= MAX_DEPTH && node.firstChild) deep.push(node as Element);
    else if (node.nodeType === 1 && node.firstChild) {
      node = node.firstChild;
      depth++;
      continue;
    }
    let cur: Node | null = node;
    node = null;
    while (cur && cur !== root) {
      if (cur.nextSibling) {
        node = cur.nextSibling;
        break;
      }
      cur = cur.parentNode;
      depth--;
    }
  }
  for (const el of deep) {
    const text = domText(el);
    while (el.firstChild) el.firstChild.remove();
    for (const para of text.split(/\n{2,}/)) {
      const p = document.createElement('p');
      p.textContent = para;
      el.appendChild(p);
    }
  }
}

/** Runs turndown on our own throw-away DOM without the full copy turndown makes of element input. */
function turndownInPlace(td: ReturnType<typeof createTurndown>, root: Element): string {
  Object.defineProperty(root, 'cloneNode', { value: () => root, configurable: true, writable: true });
  try {
    return td.turndown(root as unknown as HTMLElement);
  } finally {
    delete (root as unknown as { cloneNode?: unknown }).cloneNode;
  }
}

/** Visible text length of the element (scripts, styles and templates excluded); iterative. */
function visibleTextLength(root: Element): number {
  let n = 0;
  let node: Node | null = root.firstChild;
  const skip = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE']);
  while (node) {
    if (node.nodeType === 3) n += (node.nodeValue ?? '').replace(/\s+/g, ' ').trim().length;
    else if (node.nodeType === 1 && node.firstChild && !skip.has(node.nodeName.toUpperCase())) {
      node = node.firstChild;
      continue;
    }
    let cur: Node | null = node;
    node = null;
    while (cur && cur !== root) {
      if (cur.nextSibling) {
        node = cur.nextSibling;
        break;
      }
      cur = cur.parentNode;
    }
  }
  return n;
}

/** Collapses runs of blank lines outside fenced code; code is left as it is. */
export function tidyMarkdown(md: string): string {
  const out: string[] = [];
  let fence: string | null = null;
  let blank = 0;
  for (const line of md.split('\n')) {
    if (fence) {
      out.push(line);
      if (line.trim().startsWith(fence) && /^[`~]+$/.test(line.trim())) fence = null;
      continue;
    }
    const open = /^\s*(`{3,}|~{3,})/.exec(line);
    if (open) {
      fence = open[1]!;
      blank = 0;
      out.push(line);
      continue;
    }
    if (line.trim() === '') {
      if (++blank === 1) out.push('');
      continue;
    }
    blank = 0;
    out.push(line);
  }
  return out.join('\n').trim();
}
