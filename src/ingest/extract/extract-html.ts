/**
 * HTML -> ExtractedPage: htmlparser2 parses the page into a domhandler tree (./dom-walk.ts), the main content
 * is picked and cleaned, and ./markdown-writer.ts converts it to Markdown. Documents with too many elements for
 * a DOM in reasonable time degrade to plain text (with paragraph breaks), and markup nested deeper than
 * MAX_DEPTH is flattened to paragraphs of its text, instead of hanging or throwing.
 */
import { robotsDirectives, type ExtractedPage, type PageRobots } from './extracted-page.js';
import {
  Element, Text, attr, elementsWhere, firstByTag, firstWhere, hasAncestorOrSelf, hasChildren, hasClassIn, isOneClass, isTag, isText, isWithin,
  nextInTree, parseHtml, removeNode, replaceNode, setChildren, simpleSelector, walkTree, type AnyNode, type ChildNode, type Document,
  type ParentNode,
} from './dom-walk.js';
import { toMarkdown } from './markdown-writer.js';
import { CELL, ROW } from './markdown-table.js';
import { absoluteUrl, cleanInline, domText, escapeMarkupText, fastHtmlText, isJsSpace, linkResolver, normaliseLinks, titleFromUrl } from './extract-text.js';

/** Above this many "<" and "&" the DOM is skipped (bounds the tree's memory; the text path is linear). */
export const MAX_DOM_TAGS = 60_000;
/**
 * Elements deeper than this are flattened to paragraphs of their text right after parsing: the Markdown
 * writer recurses once per level, and every pass that measures an element's text costs its depth.
 */
export const MAX_DEPTH = 100;

/** Never visible: always removed. */
const INVISIBLE = new Set(
  'script,style,noscript,template,iframe,object,embed,svg,canvas,link,meta,button,select,input,textarea'.split(','),
);
/** Page chrome: removed unless it holds most of the content (the tags, roles, aria-hidden and classes below). */
const CHROME_TAGS = new Set(['nav', 'aside', 'footer', 'form', 'dialog']);
const CHROME_ROLES = new Set(['navigation', 'banner', 'contentinfo', 'complementary', 'search']);
const CHROME_CLASSES = new Set([
  'headerlink', 'hash-link', 'anchorjs-link', 'linenos', 'linenodiv',
  'sphinxsidebar', 'related', 'sr-only', 'visually-hidden', 'screen-reader-text',
  // rustdoc (docs.rs, the Rust standard library): the hover box of a signature's "notable traits", the
  // playground link of each example (its URL holds the example's code again), the "since" version and source
  // link beside each item and the page title, and the summary of a collapsed description
  'notable-traits', 'test-arrow', 'rightside', 'srclink', 'out-of-band', 'hideme',
]);
/** Permalink markers inside headings, dropped from the heading's text. */
const HEADING_ANCHOR_CLASSES = new Set(['headerlink', 'hash-link', 'anchor', 'anchorjs-link']);

/** The element is page chrome by its tag, role, aria-hidden or class (what a CHROME selector list would match). */
function isChromeElement(el: Element): boolean {
  if (CHROME_TAGS.has(el.name)) return true;
  const role = attr(el, 'role');
  if (role !== null && CHROME_ROLES.has(role)) return true;
  if (attr(el, 'aria-hidden') === 'true') return true;
  return hasClassIn(el, CHROME_CLASSES);
}
/** class/id words naming sidebars, tables of contents, breadcrumbs, skip links, menus, pagers. */
const CHROME_NAME_RE =
  /(?:^|[\s_-])(sidebars?|sidenav|side-nav|toc|tableofcontents|table-of-contents|breadcrumbs?|skip|skiplink|skipnav|navbar|navigation|nav|menu|pagination|pager|prev-next|footer|related|announcement)(?=$|[\s_-])/i;
const CONSENT_RE = /cookie|consent|gdpr/i;
/** Elements that the class/id heuristics may remove; content elements (headings, code, tables, sections) never. */
const HEURISTIC_TAGS = new Set(['div', 'ul', 'ol', 'a', 'span', 'p', 'nav', 'aside', 'header', 'footer', 'form', 'details', 'dialog']);

/** Containers that usually hold the documentation text, tried (inside the root) in this order. */
const CONTAINERS = [
  'article', '#main-content', '.main-content', '#content', '.content', '.document', '.body', '.markdown-body',
  '.md-content', '.theme-doc-markdown', '.markdown', '.rst-content', '#main', '.main', '.post-content',
  '.entry-content', '.page-content', '.article-content', '.docs-content', '.doc-content', '.documentation',
].map(simpleSelector);
if (CONTAINERS.length > 31) throw new Error('chromeAndContainers keeps a 31-bit mask of container indexes'); // a check for whoever edits the list
/** Index in CONTAINERS of each tag, id and class selector. */
const CONTAINER_BY_TAG = new Map<string, number>();
const CONTAINER_BY_ID = new Map<string, number>();
const CONTAINER_BY_CLASS = new Map<string, number>();
CONTAINERS.forEach((sel, i) => {
  if ('tag' in sel) CONTAINER_BY_TAG.set(sel.tag, i);
  else if ('id' in sel) CONTAINER_BY_ID.set(sel.id, i);
  else CONTAINER_BY_CLASS.set(sel.cls, i);
});

export function extractHtml(rawHtml: string, pageUrl: string): ExtractedPage {
  const html = hasTableMarker(rawHtml) ? rawHtml.replace(TABLE_MARKERS, '') : rawHtml;
  if (tagCountExceeds(html, MAX_DOM_TAGS)) return extractWithoutDom(html, pageUrl);
  try {
    return extractWithDom(html, pageUrl);
  } catch {
    // never expected (the parser accepts any input and every walk is bounded): keep the text
    return extractWithoutDom(html, pageUrl);
  }
}

function extractWithDom(html: string, pageUrl: string): ExtractedPage {
  const document = parseHtml(html);
  // fragments have no <body>: the document is the body
  const body: ParentNode = firstByTag(document, 'body') ?? firstByTag(document, 'html') ?? document;

  const found = survey(document, body);
  const base = (found.baseHref && absoluteUrl(found.baseHref, pageUrl, true)) || pageUrl;
  const resolve = linkResolver(base);
  const links = normaliseLinks(found.hrefs, base, resolve);
  const docTitle = cleanInline(found.title ? textOfElement(found.title) : '');

  for (const box of found.boxes) replaceNode(box, new Text(attr(box, 'checked') !== null ? '[x] ' : '[ ] '));
  for (const el of found.invisible) if (el.parent) removeNode(el);
  for (const el of found.deep) flatten(el);
  const lengths = textLengths(body);
  let root = pickRoot(found, body, lengths);
  const { chrome, containers } = chromeAndContainers(root);
  removeChrome(root, chrome, lengths); // keeps `lengths` true for what stays
  root = narrow(root, containers, lengths);

  const contentH1 = firstByTag(root, 'h1');
  const h1 = headingText(contentH1 ?? firstByTag(body, 'h1'));
  const headings = () => elementsWhere(root, (el) => el.name === 'h1' || el.name === 'h2' || el.name === 'h3').map(headingText);
  const title = chooseTitle(docTitle, h1, !contentH1, headings) || titleFromUrl(pageUrl);

  prepare(root, resolve);
  let markdown: string;
  try {
    markdown = toMarkdown(root);
  } catch {
    // pathological markup the writer cannot handle: keep the text
    markdown = escapeMarkupText(domText(root));
  }
  markdown = tidyMarkdown(hasTableMarker(markdown) ? markdown.replace(TABLE_MARKERS, ' ') : markdown);
  return { title, markdown, links, textLength: found.textLength, ...(found.robots ? { robots: found.robots } : {}) };
}

function textOfElement(el: Element): string {
  let s = '';
  for (let node: ChildNode | null = el.children[0] ?? null; node; node = nextInTree(node, el)) if (isText(node)) s += node.data;
  return s;
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
 * a stray "<" splits off) and "&" (the parser splits text at entities). Linear, no allocation; indexOf finds
 * the next one faster than a loop over every character (~3x on large pages), and a text of at most `limit`
 * characters cannot hold more.
 */
function tagCountExceeds(html: string, limit: number): boolean {
  if (html.length <= limit) return false;
  let count = 0;
  for (let i = html.indexOf('<'); i >= 0; i = html.indexOf('<', i + 1)) if (++count > limit) return true;
  for (let i = html.indexOf('&'); i >= 0; i = html.indexOf('&', i + 1)) if (++count > limit) return true;
  return false;
}

/** The table cell and row markers (markdown-table.ts), to take out of text where they have no meaning. */
const TABLE_MARKERS = new RegExp(`[${CELL}${ROW}]`, 'g');

/** Whether `s` holds a table cell or row marker (markdown-table.ts; indexOf: ~5x faster than a regex test). */
function hasTableMarker(s: string): boolean {
  return s.indexOf(CELL) >= 0 || s.indexOf(ROW) >= 0;
}

/** Non-whitespace characters of the text of every element below `root` (and of `root`), in one pass. */
type Lengths = Map<AnyNode, number>;

function textLengths(root: ParentNode): Lengths {
  const lengths: Lengths = new Map();
  // iterative post-order with a stack of running counts: an element's count is final when its subtree is done
  const counts: number[] = [0];
  walkTree(
    root,
    (node) => {
      if (isText(node)) {
        const t = node.data;
        let n = 0;
        for (let i = 0; i < t.length; i++) if (t.charCodeAt(i) > 32) n++;
        counts[counts.length - 1]! += n;
        return false;
      }
      if (!isTag(node) || node.children.length === 0) return false;
      counts.push(0);
      return true;
    },
    (el) => {
      const n = counts.pop()!;
      if (n > 0) lengths.set(el, n);
      counts[counts.length - 1]! += n;
    },
  );
  lengths.set(root, counts[0]!);
  return lengths;
}

/**
 * `<main>` or `[role=main]` with the most text, else the body. (Candidates removed since the survey have no
 * length: they are never picked.)
 */
function pickRoot(found: Survey, body: ParentNode, lengths: Lengths): ParentNode {
  for (const candidates of [found.mains, found.roleMains]) {
    let best: Element | null = null;
    let bestLen = 0;
    for (const c of candidates) {
      const len = lengths.get(c) ?? 0;
      if (len > bestLen) [best, bestLen] = [c, len];
    }
    if (best && bestLen >= 40) return best;
  }
  return body;
}

/**
 * One walk over the root for the chrome candidates (removeChrome) and the elements matching each container
 * selector (narrow), both in document order.
 */
function chromeAndContainers(root: ParentNode): { chrome: Element[]; containers: Element[][] } {
  const chrome: Element[] = [];
  const containers: Element[][] = CONTAINERS.map(() => []);
  elementsWhere(root, (el) => {
    const attribs = el.attribs;
    if (attribs.class !== undefined || attribs.id !== undefined || attribs.hidden !== undefined || el.name === 'header' || isChromeElement(el)) chrome.push(el);
    const tag = CONTAINER_BY_TAG.get(el.name);
    if (tag !== undefined) containers[tag]!.push(el);
    const id = attr(el, 'id');
    const byId = id ? CONTAINER_BY_ID.get(id) : undefined;
    if (byId !== undefined) containers[byId]!.push(el);
    const cls = attr(el, 'class');
    if (cls && isOneClass(cls)) {
      const i = CONTAINER_BY_CLASS.get(cls);
      if (i !== undefined) containers[i]!.push(el);
    } else if (cls) {
      let seen = 0; // container indexes already matched by this element (CONTAINERS has fewer than 32)
      for (const token of cls.split(/[ \t\n\f\r]+/)) {
        const i = CONTAINER_BY_CLASS.get(token);
        if (i !== undefined && !(seen & (1 << i))) {
          seen |= 1 << i;
          containers[i]!.push(el);
        }
      }
    }
    return false;
  });
  return { chrome, containers };
}

/**
 * Removes navigation, sidebars, banners... (the `candidates` inside `root`), never anything holding most of
 * its text. The text lengths of the removed elements' ancestors (up to `root`) are lowered by theirs, so
 * `lengths` stays what textLengths(root) would count now. (Candidates come in document order, so an element
 * is judged before anything inside it is removed: every length read here is the one counted before the
 * removals.)
 */
function removeChrome(root: ParentNode, candidates: Element[], lengths: Lengths): void {
  const total = Math.max(1, lengths.get(root) ?? 0);
  const len = (el: Element) => lengths.get(el) ?? 0;
  // The candidates are in document order, so those inside a removed element come right after it: only
  // they need the walk up to tell (every candidate was inside the root when found).
  let removedLast: Element | null = null;
  for (const el of candidates) {
    if (removedLast) {
      if (isWithin(el, removedLast)) continue; // already gone with an ancestor
      removedLast = null;
    }
    if (isChrome(el, len) && !(len(el) > total * 0.5)) {
      const removed = len(el);
      for (let up = el.parent; up && removed > 0; up = up === root ? null : up.parent) lengths.set(up, (lengths.get(up) ?? 0) - removed);
      removeNode(el);
      removedLast = el;
    }
  }
}

function isChrome(el: Element, len: (el: Element) => number): boolean {
  const tag = el.name;
  if (tag === 'header') return !firstWhere(el, (e) => e.name === 'h1' || e.name === 'h2');
  if (isChromeElement(el)) return true;
  if (el.attribs.hidden !== undefined) {
    const tabbed = attr(el, 'role') === 'tabpanel' || /tab/i.test(attr(el, 'class') ?? '');
    if (!tabbed) return true;
  }
  if (!HEURISTIC_TAGS.has(tag)) return false;
  const cls = attr(el, 'class') ?? '';
  const id = tag === 'div' || tag === 'nav' || tag === 'aside' || tag === 'ul' ? attr(el, 'id') ?? '' : '';
  const verdict = namesVerdict(cls, id);
  return verdict === BY_NAME || (verdict === CONSENT && len(el) < 5000);
}

const BY_NAME = 1;
const CONSENT = 2;
/** namesVerdict by class and id (most elements repeat a few class names: highlighted code's spans). */
const verdicts = new Map<string, number>();

/** What the class and id say: BY_NAME (chrome), CONSENT (a cookie banner, when small) or 0. */
function namesVerdict(cls: string, id: string): number {
  const key = id ? `${cls}\u0000${id}` : cls;
  let v = verdicts.get(key);
  if (v === undefined) {
    const names = `${cls} ${id}`;
    // docutils sections carry ids made from headings
    v = /(?:^|\s)section(?:\s|$)/.test(cls) ? 0 : CHROME_NAME_RE.test(names) ? BY_NAME : CONSENT_RE.test(names) ? CONSENT : 0;
    if (verdicts.size >= 4096) verdicts.clear(); // bounded: ids are often unique
    verdicts.set(key, v);
  }
  return v;
}

/**
 * Narrows the root to a documentation container holding nearly all of its text. `matches`: the elements
 * matching each of CONTAINERS, in document order, found before removeChrome (the removed ones are skipped).
 */
function narrow(root: ParentNode, matches: Element[][], lengths: Lengths): ParentNode {
  let cur: ParentNode = root;
  for (let i = 0; i < CONTAINERS.length; i++) {
    const total = lengths.get(cur) ?? 0;
    let best: Element | null = null;
    let bestLen = 0;
    for (const c of matches[i]!) {
      if (c === cur || !isWithin(c, cur)) continue; // only descendants of the current root still in the tree
      const len = lengths.get(c) ?? 0;
      if (len > bestLen) [best, bestLen] = [c, len];
    }
    if (best && bestLen >= 40 && bestLen >= total * 0.75) cur = best;
  }
  return cur;
}

/** The heading's text without its permalink markers. */
function headingText(h: Element | null): string {
  if (!h) return '';
  let s = '';
  for (let node: ChildNode | null = h.children[0] ?? null; node; ) {
    const skip = isTag(node) && hasClassIn(node, HEADING_ANCHOR_CLASSES);
    if (!skip && isText(node)) s += node.data;
    node = nextInTree(node, h, skip);
  }
  return cleanInline(s).replace(/\s*[¶§]$/, '');
}

/** `<title>`, or the `<h1>` when the title is that heading plus a site name ("Install — Acme Docs"). */
function chooseTitle(docTitle: string, h1: string, h1OutsideContent = false, headings: () => string[] = () => []): string {
  if (docTitle && h1 && docTitle !== h1) {
    const sep = /^\s*[-–—|:·•»]\s*\S/;
    if (docTitle.startsWith(h1) && sep.test(docTitle.slice(h1.length))) return h1;
    const before = docTitle.slice(0, -h1.length);
    if (docTitle.endsWith(h1) && /\S\s*[-–—|:·•«]\s*$/.test(before)) {
      // The <h1> that ends the <title> may be the site's name in the page's header rather than the page's
      // heading: when it is outside the content (mdBook's menu bar: "What is Ownership? - The Rust Programming
      // Language"), or when a heading of the page holds what comes before it (Django's theme: "Validators — Django
      // 3.2.25 documentation", with the site's <h1> first). The page's title is then what comes before it.
      const page = before.replace(/\s*[-–—|:·•«]\s*$/, '');
      if (h1OutsideContent) return page;
      const lower = page.toLowerCase();
      return lower.length >= 3 && headings().some((h) => h.toLowerCase().includes(lower)) ? page : h1;
    }
  }
  return docTitle || h1;
}

/** Absolute links and images (`resolve`: absoluteUrl against the page base, fragments kept), line breaks inside <pre>, adjacent text nodes merged. */
function prepare(root: ParentNode, resolve: (href: string) => string | null): void {
  const anchors: Element[] = [];
  const images: Element[] = [];
  const breaks: Element[] = [];
  elementsWhere(root, (el) => {
    const tag = el.name;
    if (tag === 'a' && el.attribs.href !== undefined) anchors.push(el);
    else if (tag === 'img') images.push(el);
    else if (tag === 'br' && hasAncestorOrSelf(el, 'pre')) breaks.push(el);
    return false;
  });
  for (const a of anchors) {
    const abs = resolve(a.attribs.href ?? '');
    if (abs) a.attribs.href = abs;
    else delete a.attribs.href;
  }
  for (const img of images) {
    const src = [attr(img, 'src'), attr(img, 'data-src')].find((s) => s && !s.startsWith('data:'));
    const abs = src ? resolve(src) : null;
    if (abs) img.attribs.src = abs;
    else removeNode(img);
  }
  for (const br of breaks) replaceNode(br, new Text('\n'));
  mergeTexts(root);
}

/** One text node per run of text (removals leave text nodes side by side); empty text nodes dropped. */
function mergeTexts(root: ParentNode): void {
  for (let node: ChildNode | null = root.children[0] ?? null; node; node = nextInTree(node, root)) {
    if (!hasChildren(node)) continue;
    const cs = node.children;
    let merged = false;
    for (let i = 0; i < cs.length && !merged; i++) {
      const c = cs[i]!;
      if (isText(c) && (c.data === '' || (i > 0 && isText(cs[i - 1]!)))) merged = true;
    }
    if (merged) mergeChildTexts(node);
  }
  mergeChildTexts(root);
}

function mergeChildTexts(parent: ParentNode): void {
  const out: ChildNode[] = [];
  for (const c of parent.children) {
    const last = out[out.length - 1];
    if (isText(c) && last && isText(last)) last.data += c.data;
    else if (!(isText(c) && c.data === '')) out.push(c);
  }
  if (out.length !== parent.children.length) setChildren(parent, out);
}

/** What extractWithDom needs from the whole document before it changes the tree (see survey). */
interface Survey {
  /** Every link's href (a, area, a `<meta http-equiv=refresh>` target), navigation included: the crawler follows them. */
  hrefs: string[];
  /** The first <base href>. */
  baseHref: string | null;
  /** The first <title> outside SVG. */
  title: Element | null;
  /** What `<meta name="robots">` tags ask (all of them together), when they ask anything. */
  robots?: PageRobots;
  /** Visible text length of the body: scripts, styles and templates excluded, whitespace runs count one. */
  textLength: number;
  /** Checkboxes inside list items, in the body (task lists: replaced by [x] / [ ]). */
  boxes: Element[];
  /** Elements never visible (INVISIBLE), in the body: removed. */
  invisible: Element[];
  /** Elements of the body at MAX_DEPTH with children (none inside another): flattened to paragraphs. */
  deep: Element[];
  /** `<main>` and `[role=main]` elements, in document order (root candidates). */
  mains: Element[];
  roleMains: Element[];
}

const NOT_VISIBLE = new Set(['script', 'style', 'noscript', 'template']);

/**
 * One walk over the whole document for everything read before the tree changes (a walk per question cost
 * ~7 passes over every node). "In the body" means strictly below `body` (the whole document when it is one).
 */
function survey(document: Document, body: ParentNode): Survey {
  const out: Survey = { hrefs: [], baseHref: null, title: null, textLength: 0, boxes: [], invisible: [], deep: [], mains: [], roleMains: [] };
  let baseSeen = false;
  let inBody = body === document;
  let svg = 0; // open <svg> elements
  let hidden = 0; // open NOT_VISIBLE elements in the body
  let li = 0; // open <li> elements in the body
  let depth = 0; // open elements in the body
  let deepRoot: Element | null = null; // the deep element being walked (nothing inside it is collected)
  walkTree(
    document,
    (node) => {
      if (isText(node)) {
        if (inBody && hidden === 0) out.textLength += collapsedLength(node.data);
        return false;
      }
      if (!isTag(node)) return true; // CDATA holds text; comments and directives have no children
      const tag = node.name;
      if (tag === 'a' || tag === 'area') {
        const href = attr(node, 'href');
        if (href !== null) out.hrefs.push(href);
      } else if (tag === 'meta') {
        // a page that moved says so this way too (a site's root sending to /stable/, a renamed page)
        if ((attr(node, 'http-equiv') ?? '').trim().toLowerCase() === 'refresh') {
          const target = refreshTarget(attr(node, 'content') ?? '');
          if (target !== null) out.hrefs.push(target);
        } else if ((attr(node, 'name') ?? '').trim().toLowerCase() === 'robots') {
          const asked = robotsDirectives(attr(node, 'content') ?? '');
          if (asked) out.robots = { noindex: asked.noindex || !!out.robots?.noindex, nofollow: asked.nofollow || !!out.robots?.nofollow };
        }
      } else if (tag === 'base') {
        if (!baseSeen && attr(node, 'href') !== null) {
          baseSeen = true;
          out.baseHref = attr(node, 'href');
        }
      } else if (tag === 'title' && !out.title && svg === 0) out.title = node;
      else if (tag === 'main') out.mains.push(node);
      if (attr(node, 'role') === 'main') out.roleMains.push(node);
      const open = node.children.length > 0;
      if (inBody) {
        if (tag === 'input' && li > 0 && (attr(node, 'type') ?? '').toLowerCase() === 'checkbox') out.boxes.push(node);
        else if (INVISIBLE.has(tag)) out.invisible.push(node);
        if (open && !deepRoot && depth + 1 >= MAX_DEPTH) {
          out.deep.push(node);
          deepRoot = node;
        }
        if (open) {
          depth++;
          if (tag === 'li') li++;
          if (NOT_VISIBLE.has(tag)) hidden++;
        }
      }
      if (open && tag === 'svg') svg++;
      if (node === body && open) inBody = true;
      return true;
    },
    (node) => {
      if (!isTag(node)) return;
      const tag = node.name;
      if (tag === 'svg') svg--;
      if (node === body) inBody = false;
      else if (inBody) {
        depth--;
        if (tag === 'li') li--;
        if (NOT_VISIBLE.has(tag)) hidden--;
      }
      if (node === deepRoot) deepRoot = null;
    },
  );
  return out;
}

/**
 * The URL of a `<meta http-equiv="refresh">` content (`0; url=/new/`, `5;URL='x'`, `0, /new/`), as browsers
 * read it; null when it only reloads the page.
 */
export function refreshTarget(content: string): string | null {
  const m = /^\s*[\d.]*\s*[;,]?\s*(?:url\s*=\s*)?([\s\S]*)$/i.exec(content.slice(0, 4096));
  let url = m?.[1] ?? '';
  const quote = url[0];
  if (quote === '"' || quote === "'") {
    const end = url.indexOf(quote, 1);
    url = url.slice(1, end === -1 ? undefined : end);
  }
  url = url.trim();
  return url === '' ? null : url;
}

/** Replaces the content of an element with paragraphs of its text (for elements at MAX_DEPTH). */
function flatten(el: Element): void {
  const paras = domText(el)
    .split(/\n{2,}/)
    .map((para) => new Element('p', {}, [new Text(para)]));
  setChildren(el, paras);
  for (const p of paras) p.children[0]!.parent = p;
}

/** `s.replace(/\s+/g, ' ').trim().length`, without building the string. */
function collapsedLength(s: string): number {
  let n = 0;
  let gap = false;
  for (let i = 0; i < s.length; i++) {
    if (isJsSpace(s.charCodeAt(i))) gap = n > 0;
    else {
      n += gap ? 2 : 1;
      gap = false;
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
