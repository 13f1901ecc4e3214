/**
 * The site map as HTML: sites, a collapsible tree per site, and pages rendered from Markdown. Page text
 * is untrusted: Markdown is rendered with marked and then sanitised (no scripts, event handlers,
 * javascript: URLs, styles or embeds); every title, URL and tag printed here is escaped.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { marked } from 'marked';
import sanitizeHtml from 'sanitize-html';
import { NotFoundError, listSites, pageView, siteLinkTargets, siteTree, type DoctorContext, type TreeNode } from '../service/index.js';
import type { PageRecord, PageSummary } from '../store/pages.js';

export function escapeHtml(s: unknown): string {
  return String(s ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Only http(s) links survive into href attributes. */
function safeHref(url: string | null | undefined): string {
  return url && /^https?:\/\//i.test(url) ? escapeHtml(url) : '#';
}

export interface RenderOptions {
  /** The page's own URL: relative links and images resolve against it (to the original site). */
  baseUrl?: string;
  /** Links (href as written) that lead to crawled pages: they open in the site map instead. */
  internal?: ReadonlyMap<string, string>;
}

const ALLOWED_TAGS = [
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p', 'a', 'ul', 'ol', 'li', 'blockquote', 'code', 'pre', 'em', 'strong',
  'del', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'hr', 'br', 'img', 'span', 'input',
];

/** An absolute URL for a relative link of the page (the original site); fragments and bad URLs stay as written. */
function absolute(href: string, base: string | undefined): string {
  if (!base || href.startsWith('#')) return href;
  try {
    return new URL(href, base).href;
  } catch {
    return href;
  }
}

function sanitize(html: string, opts: RenderOptions, seen?: string[]): string {
  return sanitizeHtml(html, {
    allowedTags: ALLOWED_TAGS,
    allowedAttributes: {
      a: ['href', 'title', 'rel'],
      img: ['src', 'alt', 'title'],
      code: ['class'],
      th: ['align'],
      td: ['align'],
      input: ['type', 'checked', 'disabled'],
    },
    allowedSchemes: ['http', 'https', 'mailto'],
    allowedSchemesByTag: { img: ['data'] },
    allowedSchemesAppliedToAttributes: ['href', 'src'],
    allowProtocolRelative: false,
    // Only task-list checkboxes (GFM "- [x]") survive as inputs, and never as live controls.
    exclusiveFilter: (frame) => frame.tag === 'input' && frame.attribs.type !== 'checkbox',
    transformTags: {
      a: (tag, attribs) => {
        const href = attribs.href ?? '';
        seen?.push(href);
        const id = opts.internal?.get(href);
        const hash = id ? hashOf(href) : '';
        return {
          tagName: tag,
          attribs: {
            ...attribs,
            href: id ? `/map/page/${encodeURIComponent(id)}${hash}` : absolute(href, opts.baseUrl),
            rel: 'nofollow noopener noreferrer',
          },
        };
      },
      // Images stay on the original site: viewing a crawled page must not make the browser fetch from a third
      // party (CSP img-src 'self' data: would block it anyway). A link to the image replaces it.
      img: (_tag, attribs): sanitizeHtml.Tag => {
        const src = attribs.src ?? '';
        if (/^data:image\/(png|gif|jpe?g|webp)[;,]/i.test(src)) return { tagName: 'img', attribs: { src, alt: attribs.alt ?? '' } };
        if (/^data:/i.test(src)) return { tagName: 'span', attribs: {}, text: `[image${attribs.alt ? `: ${attribs.alt}` : ''}]` };
        return {
          tagName: 'a',
          attribs: { href: absolute(src, opts.baseUrl), rel: 'nofollow noopener noreferrer', title: attribs.title ?? '' },
          text: `[image${attribs.alt ? `: ${attribs.alt}` : ''}]`,
        };
      },
      input: (tag, attribs) => ({ tagName: tag, attribs: { ...attribs, disabled: '' } }),
    },
  });
}

function hashOf(href: string): string {
  const i = href.indexOf('#');
  return i >= 0 ? href.slice(i) : '';
}

/** Markdown to safe HTML: rendered by marked, then sanitised (page text is untrusted). */
export function renderMarkdown(markdown: string, opts: RenderOptions = {}): string {
  return sanitize(marked.parse(markdown, { async: false, gfm: true }) as string, opts);
}

/** Like renderMarkdown, and links to pages of the same site lead to their site-map pages. */
async function renderPage(ctx: DoctorContext, page: PageRecord): Promise<string> {
  const html = marked.parse(page.raw_text ?? '', { async: false, gfm: true }) as string;
  const hrefs: string[] = [];
  sanitize(html, {}, hrefs);
  const internal = await siteLinkTargets(ctx, page, hrefs.slice(0, 2000));
  return sanitize(html, { baseUrl: page.url, internal });
}

const STYLE = `body{font:15px/1.55 system-ui,sans-serif;max-width:980px;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
a{color:#0b57d0;text-decoration:none}a:hover{text-decoration:underline}nav.crumbs{font-size:.9em;color:#555;margin-bottom:1rem}
pre{background:#f5f5f7;padding:.8rem;overflow:auto;border-radius:6px}code{font-family:ui-monospace,monospace;font-size:.92em}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.3rem .6rem}.meta{color:#666;font-size:.85em}
details{margin-left:1rem}summary{cursor:pointer}ul.tree{list-style:none;padding-left:1rem}.tag{background:#eef;border-radius:4px;padding:0 .3rem;margin-right:.3rem;font-size:.85em}
.nav{display:flex;justify-content:space-between;border-top:1px solid #ddd;margin-top:2rem;padding-top:1rem}`;

/**
 * Site-map pages show crawled (untrusted) content: no scripts, no requests to other sites (images from the
 * page's own site included), and no framing by another page (clickjacking).
 */
const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** The same policy for the <meta> copy (a saved page keeps it); frame-ancestors only works as a header. */
const META_CSP = CSP.replace(/; frame-ancestors[^;]*/, '');

function layout(title: string, body: string): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${META_CSP}">
<title>${escapeHtml(title)} · Doctor</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

const pageLink = (p: Pick<PageSummary, 'id' | 'title' | 'url'>) =>
  `<a href="/map/page/${encodeURIComponent(p.id)}">${escapeHtml(p.title || p.url)}</a>`;

const tags = (list: readonly string[]) => list.map((t) => `<span class="tag">${escapeHtml(t)}</span>`).join('');

function tree(node: TreeNode): string {
  const label = `${pageLink(node.page)} <span class="meta">${escapeHtml(node.page.path ?? '')}</span>`;
  if (node.children.length === 0) return `<li>${label}</li>`;
  return `<li><details open><summary>${label} <span class="meta">(${node.children.length})</span></summary><ul class="tree">${node.children
    .map(tree)
    .join('')}</ul></details></li>`;
}

const secured = (reply: FastifyReply) =>
  reply.header('content-security-policy', CSP).header('x-frame-options', 'DENY').header('x-content-type-options', 'nosniff');

function html(reply: FastifyReply, status: number, body: string) {
  return secured(reply).code(status).header('content-type', 'text/html; charset=utf-8').send(body);
}

/** Browsers asking for a page get an HTML 404 with a way back; API clients get the JSON `{detail}` of every error. */
const wantsHtml = (req: FastifyRequest) => /\btext\/html\b/.test(String(req.headers.accept ?? ''));

export function registerSiteMap(app: FastifyInstance, ctx: DoctorContext): void {
  const notFound = (req: FastifyRequest, reply: FastifyReply, what: string) =>
    wantsHtml(req)
      ? html(reply, 404, layout('Not found', `<h1>Not found</h1><p>${escapeHtml(what)}</p><p><a href="/map">All sites</a></p>`))
      : reply.code(404).send({ detail: what });

  app.get('/map', { schema: { summary: 'Site map: every crawled site' } }, async (_req, reply) => {
    const { sites } = await listSites(ctx);
    const rows = sites
      .map((s) => `<li>${pageLink(s)} — <a href="/map/site/${encodeURIComponent(s.id)}">${s.page_count} pages</a> <span class="meta">${escapeHtml(s.domain)} · last crawl ${escapeHtml(s.last_crawl.toISOString().slice(0, 16).replace('T', ' '))}</span> ${tags(s.tags)}</li>`)
      .join('');
    return html(reply, 200, layout('Sites', `<h1>Sites</h1>${sites.length ? `<ul>${rows}</ul>` : '<p>Nothing crawled yet.</p>'}`));
  });

  app.get('/map/site/:root_page_id', { schema: { summary: "Site map: one site's page tree" } }, async (req, reply) => {
    const { root_page_id } = req.params as { root_page_id: string };
    try {
      const { root, pages } = await siteTree(ctx, root_page_id);
      const body = `<nav class="crumbs"><a href="/map">Sites</a></nav><h1>${escapeHtml(root.page.title || root.page.url)}</h1>
<p class="meta">${pages} pages · <a href="${safeHref(root.page.url)}">${escapeHtml(root.page.url)}</a></p><ul class="tree">${tree(root)}</ul>`;
      return html(reply, 200, layout(root.page.title || 'Site', body));
    } catch (e) {
      if (e instanceof NotFoundError) return notFound(req, reply, e.message);
      throw e;
    }
  });

  app.get('/map/page/:page_id', { schema: { summary: 'Site map: a page rendered, with navigation' } }, async (req, reply) => {
    const { page_id } = req.params as { page_id: string };
    try {
      const v = await pageView(ctx, page_id);
      const p = v.page;
      const crumbs = [`<a href="/map">Sites</a>`, ...(p.root_page_id ? [`<a href="/map/site/${encodeURIComponent(p.root_page_id)}">site</a>`] : []), ...v.breadcrumbs.map(pageLink)].join(' / ');
      const children = v.children.length ? `<h3>Pages under this one</h3><ul>${v.children.map((c) => `<li>${pageLink(c)}</li>`).join('')}</ul>` : '';
      const nav = `<div class="nav"><span>${v.previous ? `← ${pageLink(v.previous)}` : ''}</span><span>${v.parent ? `↑ ${pageLink(v.parent)}` : ''}</span><span>${v.next ? `${pageLink(v.next)} →` : ''}</span></div>`;
      const body = `<nav class="crumbs">${crumbs}</nav>
<p class="meta"><a href="${safeHref(p.url)}">${escapeHtml(p.url)}</a> · crawled ${escapeHtml(p.crawl_date.toISOString().slice(0, 10))} · <a href="/map/page/${encodeURIComponent(p.id)}/raw">Markdown</a> ${tags(p.tags)}</p>
<article>${await renderPage(ctx, p)}</article>${children}${nav}`;
      return html(reply, 200, layout(p.title || p.url, body));
    } catch (e) {
      if (e instanceof NotFoundError) return notFound(req, reply, e.message);
      throw e;
    }
  });

  app.get('/map/page/:page_id/raw', { schema: { summary: "Site map: a page's raw Markdown" } }, async (req, reply) => {
    const { page_id } = req.params as { page_id: string };
    const page = await ctx.store.pages.get(page_id);
    if (!page) return reply.code(404).send({ detail: `no page with id "${page_id}": list pages with list_doc_pages or browse /map` });
    return secured(reply).header('content-type', 'text/markdown; charset=utf-8').send(page.raw_text ?? '');
  });
}
