/**
 * The site map as HTML: sites, a collapsible tree per site, and pages rendered from Markdown. Page text
 * is untrusted: Markdown is rendered with marked and then sanitised (no scripts, event handlers,
 * javascript: URLs, styles or embeds); every title, URL and tag printed here is escaped, and isolated for
 * bidi (a title's unclosed U+202E reverses only itself).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError, listSites, pageView, siteTree, type DoctorContext, type TreeNode } from '../service/index.js';
import type { PageSummary } from '../store/pages.js';
import { escapeHtml, renderPage, safeHref } from './markdown.js';

const STYLE = `body{font:15px/1.55 system-ui,sans-serif;max-width:980px;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
a{color:#0b57d0;text-decoration:none}a:hover{text-decoration:underline}nav.crumbs{font-size:.9em;color:#555;margin-bottom:1rem}
pre{background:#f5f5f7;padding:.8rem;overflow:auto;border-radius:6px}code{font-family:ui-monospace,monospace;font-size:.92em}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.3rem .6rem}.meta{color:#666;font-size:.85em}
details{margin-left:1rem}summary{cursor:pointer}ul.tree{list-style:none;padding-left:1rem}.tag{background:#eef;border-radius:4px;padding:0 .3rem;margin-right:.3rem;font-size:.85em}
.nav{display:flex;justify-content:space-between;border-top:1px solid #ddd;margin-top:2rem;padding-top:1rem}
a,.meta{unicode-bidi:plaintext}article a{unicode-bidi:normal}
:is(article :is(p,li,h1,h2,h3,h4,h5,h6,blockquote,td,th,dt,dd,figcaption),body>h1){unicode-bidi:plaintext;text-align:start}`;

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
<article>${(await renderPage(ctx, p)).html}</article>${children}${nav}`;
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
