/**
 * Stored Markdown as safe HTML, for the site map and the web interface alike. Page text is untrusted:
 * Markdown is rendered with marked and then sanitised (no scripts, event handlers, javascript: URLs,
 * styles or embeds). Optionally headings get ids (for a table of contents), links to pages of the same
 * site lead to their stored copies, and query terms are marked.
 */
import { siteLinkTargets, type DoctorContext } from '../service/index.js';
import type { PageRecord } from '../store/pages.js';
import { toHtml, type TocEntry } from './markdown-html.js';
import { escapeText, sanitize, type RenderOptions } from './markdown-sanitize.js';
import { MarkdownRenderer } from './markdown-renderer.js';

export { headingAnchor, type TocEntry } from './markdown-html.js';
export type { RenderOptions } from './markdown-sanitize.js';

export function escapeHtml(s: unknown): string {
  return String(s ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Only http(s) links survive into href attributes. */
export function safeHref(url: string | null | undefined): string {
  return url && /^https?:\/\//i.test(url) ? escapeHtml(url) : '#';
}

/** Markdown to safe HTML: rendered by marked, then sanitised (page text is untrusted). */
export function renderMarkdown(markdown: string, opts: RenderOptions = {}): string {
  return sanitize(toHtml(markdown, opts.headingIds ? [] : undefined), opts);
}

/** Renders stored pages off the main thread (see markdown-renderer.ts); started on first use. */
let pageRenderer: MarkdownRenderer | undefined;

/**
 * A stored page as safe HTML: links to pages of the same site lead to their stored copies (opts.pagePath);
 * with headingIds, the table of contents too. Rendering and sanitising both run in the worker thread (a
 * 20 MB page took the main thread 1.3 s to sanitise). A page whose Markdown cannot be rendered within the
 * deadline (or at all) is shown as plain text, with a line that says so.
 */
export async function renderPage(ctx: DoctorContext, page: PageRecord, opts: Omit<RenderOptions, 'baseUrl' | 'internal'> = {}): Promise<{ html: string; toc: TocEntry[] }> {
  const markdown = page.raw_text ?? '';
  pageRenderer ??= new MarkdownRenderer();
  const rendered = await pageRenderer.render(markdown, !!opts.headingIds);
  const internal = rendered && (await siteLinkTargets(ctx, page, rendered.hrefs.slice(0, 2000)));
  const html = rendered && (await pageRenderer.sanitize(rendered.html, { ...opts, baseUrl: page.url, internal }));
  // the text escaped, in a <pre>: safe without sanitising (which would take the main thread as long again)
  if (html === undefined) return { html: `<p><em>This page is shown as plain text: its Markdown could not be rendered in time.</em></p><pre>${escapeText(markdown)}</pre>`, toc: [] };
  return { html, toc: rendered!.toc };
}
