/**
 * Which local files Doctor reads, and how each becomes a page (title + Markdown):
 * Markdown and MDX (front-matter title), HTML (the same extraction as crawled pages), reStructuredText and
 * AsciiDoc (text with their headings), plain text, and PDF (pdf.js). Anything else is skipped with a reason.
 */
import { extname } from 'node:path/posix';
import { parse as parseYaml } from 'yaml';
import { extractPage, type ExtractedPage } from '../extract/extract.js';
import { clipLongWords, clipTitle } from '../extract/bounds.js';
import { asciidocToMarkdown, rstToMarkdown } from './markup.js';
import { readPdf } from './pdf.js';

export type LocalFormat = 'markdown' | 'mdx' | 'html' | 'rst' | 'asciidoc' | 'text' | 'pdf';

const BY_EXTENSION: Record<string, LocalFormat> = {
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.mdown': 'markdown',
  '.mkd': 'markdown',
  '.mdx': 'mdx',
  '.html': 'html',
  '.htm': 'html',
  '.xhtml': 'html',
  '.rst': 'rst',
  '.rest': 'rst',
  '.adoc': 'asciidoc',
  '.asciidoc': 'asciidoc',
  '.asc': 'asciidoc',
  '.txt': 'text',
  '.text': 'text',
  '.pdf': 'pdf',
};

/** The extensions Doctor reads (for messages and docs). */
export const SUPPORTED_EXTENSIONS = Object.keys(BY_EXTENSION);

/** The format of a file by its name, or undefined (skipped: "unsupported file type"). */
export function formatOf(path: string): LocalFormat | undefined {
  return BY_EXTENSION[extname(path).toLowerCase()];
}

/**
 * A file is binary when its first 8 KiB hold a NUL byte, or, not being UTF-8, more than 10% control
 * characters (text in a legacy 8-bit encoding has almost none).
 */
export function looksBinary(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, 8192);
  if (head.includes(0)) return true;
  if (isUtf8(head, head.length < bytes.length)) return false;
  let control = 0;
  for (const b of head) if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) control++;
  return control > head.length / 10;
}

function isUtf8(bytes: Uint8Array, cut: boolean): boolean {
  try {
    // A multi-byte character cut at the 8 KiB boundary is not an error: stream mode leaves it pending.
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: cut });
    return true;
  } catch {
    return false;
  }
}

/** UTF-8 text, or (when the bytes are not UTF-8) Windows-1252, the usual legacy encoding of docs. */
function decodeText(bytes: Uint8Array): string {
  return new TextDecoder(isUtf8(bytes, false) ? 'utf-8' : 'windows-1252').decode(bytes).replace(/^\uFEFF/, '');
}

/** Thrown for a file that is skipped for a reason the user should see (binary, unreadable PDF). */
export class UnreadableFile extends Error {}

/** The page made of one file: `url` is where it will be stored (file:// or the published site). */
export async function readDocument(format: LocalFormat, bytes: Uint8Array, url: string, fileName: string): Promise<ExtractedPage> {
  if (format === 'pdf') return pdfPage(bytes, url, fileName);
  if (looksBinary(bytes)) throw new UnreadableFile('binary content (not text)');
  const text = decodeText(bytes);
  switch (format) {
    case 'markdown':
    case 'mdx':
      return markdownPage(text, url, format === 'mdx');
    case 'html':
      return extractPage({ body: text, contentType: 'text/html', url });
    case 'rst': {
      const { markdown, title } = rstToMarkdown(text);
      return titled(extractPage({ body: markdown, contentType: 'text/markdown', url }), title);
    }
    case 'asciidoc': {
      const { markdown, title } = asciidocToMarkdown(text);
      return titled(extractPage({ body: markdown, contentType: 'text/markdown', url }), title);
    }
    case 'text':
      return titled(extractPage({ body: text, contentType: 'text/plain', url }), fileName);
  }
}

function titled(page: ExtractedPage, title: string | undefined): ExtractedPage {
  const t = title?.replace(/\s+/g, ' ').trim();
  return t ? { ...page, title: clipTitle(t) } : page;
}

/** Longest YAML front matter read for a title, in characters. */
export const MAX_FRONT_MATTER_CHARS = 32 * 1024;

/**
 * Markdown and MDX: YAML front matter is read for `title` and left out of the text; MDX's top-level
 * import/export lines (outside code fences) are dropped. The title is the front matter's, else the first
 * heading, else the file name.
 */
export function markdownPage(raw: string, url: string, mdx: boolean): ExtractedPage {
  let text = raw.replace(/\r\n?/g, '\n');
  let frontTitle: string | undefined;
  const front = /^---[ \t]*\n([\s\S]*?)\n(?:---|\.\.\.)[ \t]*(?:\n|$)/.exec(text);
  if (front) {
    text = text.slice(front[0].length);
    // Only the title is wanted, and front matter is a few lines: a longer one is not read (it is still left
    // out of the text). yaml's check for duplicate keys is quadratic in the keys of a map (50,000 keys took
    // 22 s of the server's main thread), so it is off (the last title wins).
    if (front[1]!.length <= MAX_FRONT_MATTER_CHARS) {
      try {
        const data: unknown = parseYaml(front[1]!, { maxAliasCount: 50, uniqueKeys: false });
        const t = data && typeof data === 'object' ? (data as Record<string, unknown>).title : undefined;
        if (typeof t === 'string' || typeof t === 'number') frontTitle = String(t);
      } catch {
        // front matter that is not YAML: no title from it, the text is still indexed
      }
    }
  }
  if (mdx) text = withoutMdxModuleLines(text);
  return titled(extractPage({ body: text, contentType: 'text/markdown', url }), frontTitle);
}

function withoutMdxModuleLines(md: string): string {
  let fence: string | null = null;
  const out: string[] = [];
  for (const line of md.split('\n')) {
    const f = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (f && line.trim().startsWith(fence)) fence = null;
    } else if (f) fence = f;
    else if (/^(import|export)\s/.test(line)) continue;
    out.push(line);
  }
  return out.join('\n');
}

async function pdfPage(bytes: Uint8Array, url: string, fileName: string): Promise<ExtractedPage> {
  let pdf;
  try {
    pdf = await readPdf(bytes);
  } catch (e) {
    throw new UnreadableFile(`not a readable PDF (${(e as Error).message})`);
  }
  const markdown = clipLongWords(pdf.pages.filter(Boolean).join('\n\n'));
  if (!markdown.trim()) throw new UnreadableFile('PDF without text (scanned images?)');
  return { title: clipTitle(pdf.title || fileName), markdown, links: [], textLength: markdown.length };
}
