/**
 * Page extraction: HTML -> clean Markdown of the main content (navigation, headers, footers, sidebars,
 * scripts and cookie banners dropped), the title, every link of the page (absolute), and the amount of
 * visible text. Markdown and plain-text pages pass through. HTML is parsed with htmlparser2 into a domhandler
 * tree and converted by our own Markdown writer (see extract-html.ts, markdown-writer.ts); hostile input
 * degrades to plain text, never throws or hangs.
 *
 * The result is bounded whatever the page (./bounds.ts): the title within MAX_TITLE_CHARS, no run of
 * non-space characters longer than MAX_WORD_CHARS, at most MAX_LINKS links.
 */
import { linksToText } from '../../text/markdown-links.js';
import { clipLongWords, clipTitle } from './bounds.js';
import { extractHtml } from './extract-html.js';
import { normaliseLinks, titleFromUrl } from './extract-text.js';
import type { ExtractedPage } from './extracted-page.js';

export type { ExtractedPage } from './extracted-page.js';

export interface ExtractInput {
  body: string;
  contentType: string;
  url: string;
}

type Kind = 'html' | 'markdown' | 'text';

function kindOf(input: ExtractInput): Kind {
  const mime = (input.contentType.split(';')[0] ?? '').trim().toLowerCase();
  let path = '';
  try {
    path = new URL(input.url).pathname;
  } catch {
    // not a URL: decide on the content type alone
  }
  const mdPath = /\.(md|markdown|mdx)$/i.test(path);
  const looksHtml = /^\s*</.test(input.body.slice(0, 1024).replace(/^\uFEFF/, ''));
  if (mime === 'text/markdown' || mime === 'text/x-markdown') return 'markdown';
  if (mime === 'text/html' || mime === 'application/xhtml+xml') return mdPath && !looksHtml ? 'markdown' : 'html';
  if (mdPath) return 'markdown';
  if (mime === 'text/plain') return 'text';
  return looksHtml ? 'html' : 'text';
}

export function extractPage(input: ExtractInput): ExtractedPage {
  const page = extractAny({ ...input, body: input.body.replace(/^\uFEFF/, '') });
  return { ...page, title: clipTitle(page.title), markdown: clipLongWords(page.markdown) };
}

function extractAny(input: ExtractInput): ExtractedPage {
  const body = input.body;
  switch (kindOf(input)) {
    case 'markdown':
      return extractMarkdown(body, input.url);
    case 'text': {
      const text = body.replace(/\r\n?/g, '\n').trim();
      return { title: titleFromUrl(input.url), markdown: text, links: [], textLength: text.length };
    }
    default:
      return extractHtml(body, input.url);
  }
}

/**
 * The value of front matter's `title:` line, without its quotes. (Not one regex: /^title:\s*["']?(.+?)["']?\s*$/m
 * took time quadratic in a run of spaces inside the value, ~0.8 s for 19,000.)
 */
function frontMatterTitle(front: string): string | undefined {
  let value = /^title:\s*(.+)$/m.exec(front)?.[1].trimEnd();
  if (!value) return undefined;
  if (value.length > 1 && (value[0] === '"' || value[0] === "'")) value = value.slice(1);
  if (value.length > 1 && (value.endsWith('"') || value.endsWith("'"))) value = value.slice(0, -1);
  return value;
}

/** Markdown passes through; the title is the front-matter title or first `# ` heading; links are collected. */
export function extractMarkdown(raw: string, url: string): ExtractedPage {
  const md = raw.replace(/\r\n?/g, '\n').trim();
  const prose = withoutFencedCode(md);
  const front = /^---\n([\s\S]*?)\n---\n/.exec(md.slice(0, 20_000))?.[1];
  const frontTitle = front ? frontMatterTitle(front) : undefined;
  const atx = /^ {0,3}# +(.*)$/m.exec(prose)?.[1];
  const setext = /^(\S[^\n]*)\n=+ *$/m.exec(prose)?.[1];
  const heading = (frontTitle ?? atx ?? setext ?? '').slice(0, 500).replace(/\s+#+\s*$/, '');
  const title = plainInline(heading) || titleFromUrl(url);
  return { title, markdown: md, links: markdownLinks(prose, url), textLength: md.length };
}

/** The Markdown with the lines of fenced code blocks blanked (links and headings in code are not real). */
function withoutFencedCode(md: string): string {
  const lines = md.split('\n');
  let fence: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (fence) {
      if (line.trim().startsWith(fence) && /^[`~]+$/.test(line.trim())) fence = null;
      lines[i] = '';
    } else {
      const m = /^\s*(`{3,}|~{3,})/.exec(line);
      if (m) {
        fence = m[1]!;
        lines[i] = '';
      }
    }
  }
  return lines.join('\n');
}

/** Inline `[text](url)` links (not images), `<https://...>` autolinks and `[ref]: url` definitions. */
function markdownLinks(md: string, url: string): string[] {
  const hrefs: { at: number; href: string }[] = [];
  for (const m of md.matchAll(/\]\(\s*<?([^\s)<>]+)>?/g)) {
    if (!isImage(md, m.index)) hrefs.push({ at: m.index, href: m[1]! });
  }
  for (const m of md.matchAll(/<(https?:\/\/[^\s<>]+)>/g)) hrefs.push({ at: m.index, href: m[1]! });
  for (const m of md.matchAll(/^ {0,3}\[[^\]\n]{1,200}\]:\s*<?(\S+?)>?(?:\s|$)/gm)) hrefs.push({ at: m.index, href: m[1]! });
  hrefs.sort((a, b) => a.at - b.at);
  return normaliseLinks(
    hrefs.map((h) => h.href),
    url,
  );
}

/** Whether the `]` at `close` ends the alt text of an image (`![alt](src)`); looks back at most 1000 chars. */
function isImage(md: string, close: number): boolean {
  let depth = 0;
  for (let i = close; i >= 0 && i > close - 1000; i--) {
    const c = md[i];
    if (c === ']') depth++;
    else if (c === '[' && --depth === 0) return md[i - 1] === '!';
  }
  return false;
}

/** Inline Markdown reduced to its text: links to their text, code ticks and emphasis markers dropped. */
function plainInline(s: string): string {
  return linksToText(s)
    .replace(/`+/g, '')
    .replace(/(\*\*|__)(.+?)\1/g, '$2')
    .replace(/\\([\\`*_[\]#])/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}

/** True when the static HTML has almost no visible text but has scripts: render it with a browser. */
export function looksLikeJsOnly(page: ExtractedPage, html: string): boolean {
  return page.textLength < 200 && /<script[\s>]/i.test(html);
}
