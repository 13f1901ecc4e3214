/**
 * The page viewer: a stored page's Markdown rendered and sanitised by the site map's renderer, with a
 * table of contents, the query's words marked, and "copy as Markdown".
 */
import { NotFoundError, pageView, type DoctorContext } from '../../service/index.js';
import { queryTerms } from '../../text/highlight.js';
import { renderPage } from '../markdown.js';
import { dateTime, PAGE_PATH, pageHref, tagList } from './format.js';
import { externalHref, html, trusted } from './html.js';
import type { Screen } from './layout.js';

export async function pageScreen(ctx: DoctorContext, pageId: string, query: string): Promise<Screen> {
  let v;
  try {
    v = await pageView(ctx, pageId);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
    return { nav: 'page', title: 'No such page', status: 404, body: html`<h1>No such page</h1><p class="error">${e.message}</p><p><a href="/ui/sites">All sites</a></p>` };
  }
  const p = v.page;
  const terms = query ? queryTerms(query) : undefined;
  const { html: article, toc } = await renderPage(ctx, p, { pagePath: PAGE_PATH, headingIds: true, highlight: terms });
  const crumbs = [
    html`<a href="/ui/sites">Sites</a>`,
    ...v.breadcrumbs.map((b) => html`<a href="${pageHref(b.id)}">${b.title || b.url}</a>`),
  ];
  const entries = toc.filter((t) => t.level <= 4);
  const nav = (label: string, target: typeof v.previous) =>
    target ? html`<a href="${pageHref(target.id)}" rel="${label}">${target.title || target.url}</a>` : html`<span></span>`;
  const body = html`<nav class="crumbs" aria-label="Breadcrumbs">${crumbs.map((c, i) => (i ? html` / ${c}` : c))}</nav>
<header class="page-head"><h1>${p.title || p.url}</h1>
<p class="meta"><a class="url" href="${externalHref(p.url)}" rel="noopener noreferrer nofollow">${p.url}</a> · crawled ${dateTime(p.crawl_date.toISOString())} ${tagList(p.tags)}</p>
<p class="tools"><button type="button" data-action="copy-markdown" data-page="${p.id}">Copy as Markdown</button>${query ? html` <span class="meta">Marked: “${query}” · <a href="${pageHref(p.id)}">clear</a></span>` : ''}</p></header>
<div class="viewer${entries.length ? '' : ' no-toc'}">
${entries.length ? html`<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol>${entries.map((t) => html`<li class="l${t.level}"><a href="#${t.id}">${t.text}</a></li>`)}</ol></nav>` : ''}
<article class="doc">${trusted(article)}</article></div>
${v.children.length ? html`<section class="children"><h2>Pages under this one</h2><ul>${v.children.map((c) => html`<li><a href="${pageHref(c.id)}">${c.title || c.url}</a></li>`)}</ul></section>` : ''}
<nav class="pager" aria-label="Neighbours">${nav('prev', v.previous)}${nav('up', v.parent)}${nav('next', v.next)}</nav>`;
  return { nav: 'page', title: p.title || p.url, body };
}
