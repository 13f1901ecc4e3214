/**
 * Markdown to HTML with marked, not yet sanitised: the part of rendering a stored page that can take long on
 * a hostile page (marked reads some inputs in time that grows with the square of their size), so the web
 * interface and the site map run it in a worker thread with a deadline (markdown-renderer.ts).
 */
import { Marked, type Tokens } from 'marked';

export interface TocEntry {
  level: number;
  text: string;
  id: string;
}

/** A heading's anchor: `h-` and its words, lower case, joined by hyphens ("Set up `npm`" -> "h-set-up-npm"). */
export function headingAnchor(text: string): string {
  const slug = text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
  return `h-${slug || 'section'}`;
}

/** Renders Markdown; with `toc`, headings get ids and are listed in `toc` in document order. */
export function toHtml(markdown: string, toc?: TocEntry[]): string {
  if (!toc) return marked.parse(markdown, { async: false }) as string;
  const used = new Map<string, number>();
  const tokens = marked.lexer(markdown);
  marked.walkTokens(tokens, (t) => {
    if (t.type !== 'heading') return;
    const h = t as Tokens.Heading & { anchor?: string };
    const text = plainHeading(h);
    let id = headingAnchor(text);
    const n = used.get(id) ?? 0;
    used.set(id, n + 1);
    if (n > 0) id = `${id}-${n + 1}`;
    h.anchor = id;
    toc.push({ level: h.depth, text, id });
  });
  return marked.parser(tokens);
}

/** A heading's text without Markdown: what a reader sees. */
function plainHeading(h: Tokens.Heading): string {
  const walk = (tokens: Tokens.Generic[] | undefined): string =>
    (tokens ?? []).map((t) => (t.tokens ? walk(t.tokens) : t.type === 'image' ? (t as Tokens.Image).text : 'text' in t ? String(t.text) : '')).join('');
  return walk(h.tokens as Tokens.Generic[]).replace(/\s+/g, ' ').trim();
}

const marked = new Marked({
  gfm: true,
  renderer: {
    heading(token) {
      const id = (token as Tokens.Heading & { anchor?: string }).anchor;
      if (!id) return false;
      return `<h${token.depth} id="${id}">${this.parser.parseInline(token.tokens)}</h${token.depth}>\n`;
    },
  },
});
