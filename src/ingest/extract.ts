/**
 * Page extraction: HTML -> clean Markdown of the main content (navigation, headers, footers, sidebars,
 * scripts and cookie banners dropped), the title, every link of the page (absolute), and the amount of
 * visible text. Markdown and plain-text pages pass through. Parsing with linkedom, conversion with
 * turndown + GFM tables.
 */
import { parseHTML } from 'linkedom';
import TurndownService from 'turndown';
import { gfm } from 'turndown-plugin-gfm';

export interface ExtractedPage {
  title: string;
  markdown: string;
  links: string[];
  textLength: number;
}

const DROP_SELECTORS = [
  'script', 'style', 'noscript', 'template', 'iframe', 'object', 'embed', 'form', 'svg', 'canvas', 'link', 'meta',
  'nav', 'header', 'footer', 'aside', 'button', 'select', 'input', 'textarea',
  '[role=navigation]', '[role=banner]', '[role=contentinfo]', '[role=complementary]', '[role=search]',
  '[aria-hidden=true]', '[hidden]',
  '.headerlink', '.skip-link', '.skip-to-content', '.breadcrumb', '.breadcrumbs', '.sphinxsidebar', '.related',
  '.sidebar', '.toc', '#toc', '.table-of-contents', '.navbar', '.nav', '.menu', '.pagination', '.edit-this-page',
  '.cookie-banner', '.cookie-consent', '#cookie-banner', '.gdpr', '.consent', '.announcement',
].join(',');

/** Containers that usually hold the documentation text, best first. */
const MAIN_SELECTORS = [
  'main', 'article', '[role=main]', '#main-content', '.main-content', '#content', '.content', '.document',
  '.body', '.markdown-body', '.rst-content', '#main', '.main',
];

const BANNER_RE = /(^|[\s_-])(cookie|consent|gdpr)([\s_-]|$)/i;

function turndown(): TurndownService {
  const td = new TurndownService({
    headingStyle: 'atx',
    codeBlockStyle: 'fenced',
    bulletListMarker: '-',
    emDelimiter: '*',
    linkStyle: 'inlined',
  });
  td.use(gfm);
  td.addRule('fencedWithLanguage', {
    filter: (node) => node.nodeName === 'PRE',
    replacement: (_content, node) => {
      const el = node as unknown as Element;
      const code = el.querySelector('code');
      const lang = languageOf(el) || (code ? languageOf(code) : '') || languageOf(el.parentElement) || languageOf(el.parentElement?.parentElement ?? null);
      const text = (code ?? el).textContent ?? '';
      const fence = text.includes('```') ? '~~~~' : '```';
      return `\n\n${fence}${lang}\n${text.replace(/\n$/, '')}\n${fence}\n\n`;
    },
  });
  return td;
}

let service: TurndownService | undefined;

function languageOf(el: Element | null): string {
  const cls = el?.getAttribute?.('class') ?? '';
  const m = /(?:^|\s)(?:language|lang|highlight|brush:?)-?([\w+#-]+)/.exec(cls) ?? /(?:^|\s)sourceCode\s+([\w+#-]+)/.exec(cls);
  if (!m) return '';
  const lang = m[1]!.toLowerCase();
  return ['default', 'none', 'text', 'plain', 'source', 'notranslate'].includes(lang) ? '' : lang;
}

export function extractPage(input: { body: string; contentType: string; url: string }): ExtractedPage {
  const type = input.contentType.toLowerCase();
  if (type === 'text/markdown' || type === 'text/x-markdown' || (!type.includes('html') && /\.(md|markdown)$/i.test(new URL(input.url).pathname))) {
    return extractMarkdown(input.body, input.url);
  }
  if (type === 'text/plain') {
    return { title: titleFromUrl(input.url), markdown: input.body.trim(), links: [], textLength: input.body.trim().length };
  }
  return extractHtml(input.body, input.url);
}

function extractMarkdown(md: string, url: string): ExtractedPage {
  const title = /^#\s+(.+)$/m.exec(md)?.[1]?.trim() ?? titleFromUrl(url);
  const links: string[] = [];
  for (const m of md.matchAll(/\[[^\]]*\]\(([^)\s]+)[^)]*\)/g)) {
    const abs = absolute(m[1]!, url);
    if (abs) links.push(abs);
  }
  return { title, markdown: md.trim(), links: [...new Set(links)], textLength: md.trim().length };
}

function extractHtml(html: string, pageUrl: string): ExtractedPage {
  const { document } = parseHTML(html);
  const baseHref = document.querySelector('base[href]')?.getAttribute('href');
  const base = (baseHref && absolute(baseHref, pageUrl)) || pageUrl;

  // Links from the whole document (navigation included: the crawler follows them).
  const links: string[] = [];
  const seen = new Set<string>();
  for (const a of document.querySelectorAll('a[href]')) {
    const abs = absolute(a.getAttribute('href') ?? '', base);
    if (abs && !seen.has(abs)) {
      seen.add(abs);
      links.push(abs);
    }
  }

  const body = document.body ?? document.documentElement;
  const textLength = visibleTextLength(body);
  // <title> often carries a site suffix ("Retries — Kettle 2.1 documentation"): prefer the <h1> it starts with.
  const docTitle = clean(document.querySelector('title')?.textContent);
  const h1 = clean(document.querySelector('h1')?.textContent);
  const title = (h1 && docTitle.startsWith(h1) ? h1 : docTitle) || h1 || titleFromUrl(pageUrl);

  const main = pickMain(document, body);
  if (!main) return { title, markdown: '', links, textLength };
  for (const el of [...main.querySelectorAll(DROP_SELECTORS)]) {
    if (el !== main && !el.contains(main)) el.remove();
  }
  for (const el of [...main.querySelectorAll('[class],[id]')]) {
    const names = `${el.getAttribute('class') ?? ''} ${el.getAttribute('id') ?? ''}`;
    if (BANNER_RE.test(names) && el !== main) el.remove();
  }
  for (const a of main.querySelectorAll('a[href]')) {
    const abs = absolute(a.getAttribute('href') ?? '', base, true);
    if (abs) a.setAttribute('href', abs);
    else a.removeAttribute('href');
  }
  for (const img of main.querySelectorAll('img[src]')) {
    const abs = absolute(img.getAttribute('src') ?? '', base, true);
    if (abs) img.setAttribute('src', abs);
    else img.remove();
  }

  // linkedom has no HTMLTableElement.rows, which the GFM table rule reads (on turndown's clone of the
  // tree, so the getter goes on the prototype).
  const table = main.querySelector('table');
  if (table && (table as HTMLTableElement).rows === undefined) {
    Object.defineProperty(Object.getPrototypeOf(table), 'rows', {
      configurable: true,
      get(this: Element) {
        return [...this.querySelectorAll('tr')].filter((tr) => tr.closest('table') === this);
      },
    });
  }

  let markdown: string;
  try {
    service ??= turndown();
    markdown = service.turndown(main as unknown as HTMLElement);
  } catch {
    // Pathological markup (e.g. thousands of nested elements overflowing the stack): keep the text.
    markdown = (main.textContent ?? '').replace(/[ \t]+/g, ' ');
  }
  markdown = markdown.replace(/\n{3,}/g, '\n\n').trim();
  return { title, markdown, links, textLength };
}

function pickMain(document: Document, body: Element | null): Element | null {
  for (const sel of MAIN_SELECTORS) {
    const candidates = [...document.querySelectorAll(sel)];
    // the candidate with the most text, if it holds a meaningful part of the page
    let best: Element | null = null;
    let bestLen = 0;
    for (const c of candidates) {
      const len = (c.textContent ?? '').trim().length;
      if (len > bestLen) {
        best = c;
        bestLen = len;
      }
    }
    if (best && bestLen >= 40) return best;
  }
  return body;
}

function visibleTextLength(el: Element | null): number {
  if (!el) return 0;
  let n = 0;
  const walk = (node: Node, depth: number) => {
    if (depth > 2000) return;
    for (const child of node.childNodes) {
      if (child.nodeType === 3) n += (child.textContent ?? '').trim().length;
      else if (child.nodeType === 1) {
        const tag = (child as Element).tagName;
        if (tag !== 'SCRIPT' && tag !== 'STYLE' && tag !== 'NOSCRIPT' && tag !== 'TEMPLATE') walk(child, depth + 1);
      }
    }
  };
  walk(el, 0);
  return n;
}

/** True when the static HTML has almost no text but has scripts: a candidate for browser rendering. */
export function looksLikeJsOnly(page: ExtractedPage, html: string): boolean {
  return page.textLength < 200 && /<script[\s>]/i.test(html);
}

function absolute(href: string, base: string, keepFragment = false): string | null {
  const h = href.trim();
  if (!h || h.startsWith('#') && !keepFragment) return null;
  try {
    const u = new URL(h, base);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    if (!keepFragment) u.hash = '';
    return u.href;
  } catch {
    return null;
  }
}

function clean(s: string | null | undefined): string {
  return (s ?? '').replace(/\s+/g, ' ').trim();
}

function titleFromUrl(url: string): string {
  try {
    const u = new URL(url);
    const last = u.pathname.split('/').filter(Boolean).pop();
    return last ? decodeURIComponent(last).replace(/\.(html?|md|txt)$/i, '') : u.hostname;
  } catch {
    return url;
  }
}
