/**
 * HTML -> ExtractedPage: linkedom DOM, main-content selection and clean-up, turndown to Markdown.
 * Documents with too many elements for a DOM in reasonable time, and markup nested too deeply for turndown's
 * recursion, degrade to plain text (with paragraph breaks) instead of hanging or throwing.
 */
import { parseHTML } from 'linkedom';
import type { ExtractedPage } from './extracted-page.js';
import { createTurndown } from './extract-turndown.js';
import { absoluteUrl, cleanInline, domText, escapeMarkupText, fastHtmlText, normaliseLinks, titleFromUrl } from './extract-text.js';

/** Above this many "<" and "&" the DOM is skipped (linkedom needs seconds per 100k nodes, and memory grows fast). */
export const MAX_DOM_TAGS = 60_000;
/**
 * Elements deeper than this are flattened to paragraphs of their text right after parsing: turndown
 * recurses once per level, and every pass that measures an element's text costs its depth.
 */
export const MAX_DEPTH = 100;

/** Never visible: always removed. */
const INVISIBLE = 'script,style,noscript,template,iframe,object,embed,svg,canvas,link,meta,button,select,input,textarea';
/** Page chrome: removed unless it holds most of the content. */
const CHROME = [
  'nav', 'aside', 'footer', 'form', 'dialog',
  '[role=navigation]', '[role=banner]', '[role=contentinfo]', '[role=complementary]', '[role=search]',
  '[aria-hidden="true"]', '.headerlink', '.hash-link', '.anchorjs-link', '.linenos', '.linenodiv',
  '.sphinxsidebar', '.related', '.sr-only', '.visually-hidden', '.screen-reader-text',
].join(',');
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
];

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

  const baseHref = document.querySelector('base[href]')?.getAttribute('href');
  const base = (baseHref && absoluteUrl(baseHref, pageUrl, true)) || pageUrl;
  // every link of the document, navigation included: the crawler follows them
  const links = normaliseLinks(
    [...document.querySelectorAll('a[href],area[href]')].map((a) => a.getAttribute('href') ?? ''),
    base,
  );
  const textLength = visibleTextLength(body);
  const headTitle = [...document.querySelectorAll('title')].find((t) => !t.closest('svg'));
  const docTitle = cleanInline(headTitle?.textContent);

  for (const box of [...body.querySelectorAll('li input[type=checkbox]')]) {
    box.replaceWith(document.createTextNode(box.hasAttribute('checked') ? '[x] ' : '[ ] '));
  }
  for (const el of [...body.querySelectorAll(INVISIBLE)]) el.remove();
  flattenDeep(body, document);
  lengths = new WeakMap();
  let root = pickRoot(document, body);
  removeChrome(root);
  lengths = new WeakMap();
  root = narrow(root);
  lengths = new WeakMap();

  const h1 = headingText(root.querySelector('h1') ?? body.querySelector('h1'));
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
  for (const sel of ['main', '[role=main]']) {
    let best: Element | null = null;
    let bestLen = 0;
    for (const c of document.querySelectorAll(sel)) {
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
  const candidates: Element[] = [...root.querySelectorAll(`${CHROME},header,[hidden],[class],[id]`)];
  for (const el of candidates) {
    if (el === root || !root.contains(el)) continue; // already gone with an ancestor
    if (isChrome(el) && !dominant(el)) el.remove();
  }
}

function isChrome(el: Element): boolean {
  const tag = el.nodeName.toUpperCase();
  if (tag === 'HEADER') return !el.querySelector('h1,h2');
  if (el.matches(CHROME)) return true;
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
  let cur = root;
  for (const sel of CONTAINERS) {
    const total = textLen(cur);
    let best: Element | null = null;
    let bestLen = 0;
    for (const c of cur.querySelectorAll(sel)) {
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
  for (const a of clone.querySelectorAll('.headerlink,.hash-link,.anchor,.anchorjs-link')) a.remove();
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
  for (const a of root.querySelectorAll('a[href]')) {
    const abs = absoluteUrl(a.getAttribute('href') ?? '', base, true);
    if (abs) a.setAttribute('href', abs);
    else a.removeAttribute('href');
  }
  for (const img of [...root.querySelectorAll('img')]) {
    const src = [img.getAttribute('src'), img.getAttribute('data-src')].find((s) => s && !s.startsWith('data:'));
    const abs = src ? absoluteUrl(src, base, true) : null;
    if (abs) img.setAttribute('src', abs);
    else img.remove();
  }
  for (const br of [...root.querySelectorAll('pre br')]) br.replaceWith(document.createTextNode('\n'));
  root.normalize(); // one text node per run of text (the parser splits text at entities)
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
