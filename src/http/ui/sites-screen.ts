/** Sites: everything indexed, by site (root page) and by tag, with re-crawl and delete. */
import { siteOverview, type DoctorContext, type SiteEntry } from '../../service/index.js';
import { pageHref, plural, tagList, time } from './format.js';
import { externalHref, html, type Html } from './html.js';
import type { Screen } from './layout.js';

const siteName = (s: SiteEntry) => s.title || s.url;

function siteActions(s: SiteEntry, readOnly: boolean): Html {
  if (readOnly) return html``;
  const what = `${plural(s.pages, 'page')} and ${plural(s.chunks, 'chunk')}`;
  return html`<button type="button" data-action="recrawl" data-body="${JSON.stringify({ root_page_id: s.root_page_id })}"${s.root_present ? '' : html` disabled title="The root page was deleted: add the site again instead"`}>Re-crawl</button>
<button type="button" class="danger" data-action="delete" data-body="${JSON.stringify({ root_page_id: s.root_page_id })}"
 data-confirm="${`Delete the site “${siteName(s)}” (${s.url})?\n\nThis deletes its ${what} from the index. Pages of other sites are kept.`}">Delete</button>`;
}

export async function sitesScreen(ctx: DoctorContext, opts: { readOnly: boolean; tag?: string }): Promise<Screen> {
  const o = await siteOverview(ctx);
  const sites = opts.tag ? o.sites.filter((s) => s.tags.includes(opts.tag!)) : o.sites;
  const rows = sites.map(
    (s) => html`<tr data-site="${s.root_page_id}">
<td class="site"><a href="${pageHref(s.root_page_id)}">${siteName(s)}</a>${s.root_present ? '' : html` <span class="meta">(root page deleted)</span>`}
<a class="url" href="${externalHref(s.url)}" rel="noopener noreferrer nofollow">${s.url}</a></td>
<td>${tagList(s.tags)}</td><td class="num" data-label="Pages">${s.pages.toLocaleString('en')}</td><td class="num" data-label="Chunks">${s.chunks.toLocaleString('en')}</td>
<td data-label="Last crawl">${time(s.last_crawl)}</td><td class="actions">${siteActions(s, opts.readOnly)}</td></tr>`,
  );
  const tagRows = o.tags.map(
    (t) => html`<tr><td><a href="/ui/sites?tag=${encodeURIComponent(t.tag)}" class="tag">${t.tag}</a></td><td class="num" data-label="Sites">${t.sites}</td>
<td class="num" data-label="Pages">${t.pages.toLocaleString('en')}</td><td class="num" data-label="Chunks">${t.chunks.toLocaleString('en')}</td>
<td class="actions"><a href="/?tags=${encodeURIComponent(t.tag)}">Search</a>${opts.readOnly ? '' : html` <button type="button" class="danger" data-action="delete" data-body="${JSON.stringify({ tags: [t.tag] })}"
 data-confirm="${`Delete every page tagged “${t.tag}”?\n\nThis deletes ${plural(t.pages, 'page')} and ${plural(t.chunks, 'chunk')} in ${plural(t.sites, 'site')}, including pages that also carry other tags.`}">Delete tag</button>`}</td></tr>`,
  );
  const body = html`<h1>Sites</h1>
<p class="meta">${plural(o.totals.sites, 'site')} · ${plural(o.totals.pages, 'page')} · ${plural(o.totals.chunks, 'chunk')}${opts.readOnly ? '' : html` · <a href="/ui/add">Add documentation</a>`}</p>
${opts.tag ? html`<p class="filter">Sites tagged <span class="tag">${opts.tag}</span> · <a href="/ui/sites">all sites</a></p>` : ''}
${sites.length
    ? html`<div class="table-wrap"><table class="sites stack"><thead><tr><th>Site</th><th>Tags</th><th class="num">Pages</th><th class="num">Chunks</th><th>Last crawl</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${rows}</tbody></table></div>`
    : html`<p class="empty">${opts.tag ? 'No site carries this tag.' : 'Nothing is indexed yet.'}</p>`}
${o.tags.length ? html`<h2>By tag</h2><div class="table-wrap"><table class="tags stack"><thead><tr><th>Tag</th><th class="num">Sites</th><th class="num">Pages</th><th class="num">Chunks</th><th><span class="visually-hidden">Actions</span></th></tr></thead><tbody>${tagRows}</tbody></table></div>` : ''}
${o.unattached.length
    ? html`<h2>Chunks without a stored page</h2><p class="meta">Migrated from Qdrant: searchable, but their pages were never crawled here.</p>
<ul>${o.unattached.map((u) => html`<li>${u.domain ?? '(no domain)'}: ${plural(u.chunks, 'chunk')}</li>`)}</ul>`
    : ''}`;
  return { nav: 'sites', title: 'Sites', body };
}
