/** Search: the query box, tag filter, mode switch and the results with highlighted snippets. */
import { clip } from '../../ingest/extract/bounds.js';
import { ValidationError, doctorStatus, listTags, searchDocs, type DoctorContext } from '../../service/index.js';
import { queryTerms, snippet } from '../../text/highlight.js';
import { headingAnchor } from '../markdown.js';
import { pageHref, plural, tagList } from './format.js';
import { html, type Html } from './html.js';
import type { Screen } from './layout.js';

export interface SearchQuery {
  query: string;
  tag: string;
  mode: 'hybrid' | 'vector' | 'keyword';
}

const MODES = [
  { value: 'hybrid', label: 'Hybrid', title: 'Meaning and keywords, fused' },
  { value: 'vector', label: 'Meaning', title: 'Vector similarity only' },
  { value: 'keyword', label: 'Keywords', title: 'BM25 keyword match only' },
] as const;

export function searchQueryOf(q: Record<string, unknown>): SearchQuery {
  const first = (v: unknown) => String((Array.isArray(v) ? v[0] : v) ?? '');
  const mode = first(q.mode);
  return {
    // not clipped: a query over the limit is refused with its real length (Node keeps a URL within 16 KB)
    query: first(q.query),
    tag: first(q.tags).slice(0, 200),
    mode: mode === 'vector' || mode === 'keyword' ? mode : 'hybrid',
  };
}

const RESULTS = 20;

const TITLE_QUERY_CHARS = 60;

/** The tab's title: the query, cut to 60 characters (a tab shows a few dozen). */
export const searchTitle = (q: SearchQuery) => (q.query ? `“${clip(q.query, TITLE_QUERY_CHARS)}”` : 'Search');

/** The results list (what Enter replaces). */
export async function searchResults(ctx: DoctorContext, q: SearchQuery): Promise<Html> {
  if (!q.query.trim()) {
    const { pages, chunks } = await doctorStatus(ctx);
    if (pages === 0 && chunks === 0) {
      return html`<p class="empty">Nothing is indexed yet. <a href="/ui/add">Add documentation</a> to search it here.</p>`;
    }
    return html`<p class="hint">Search ${plural(pages, 'page')} (${plural(chunks, 'chunk')}). Type and press <kbd>Enter</kbd> to search; <kbd>↓</kbd> <kbd>↑</kbd> move through the results; <kbd>/</kbd> comes back to this box.</p>`;
  }
  let results;
  let note: string | undefined;
  try {
    ({ results, note } = await searchDocs(ctx, { query: q.query, tags: q.tag ? [q.tag] : undefined, mode: q.mode, max_results: RESULTS }));
  } catch (e) {
    if (e instanceof ValidationError) return html`<p class="error" role="alert">${e.message}</p>`;
    throw e;
  }
  const terms = queryTerms(q.query);
  const mode = MODES.find((m) => m.value === q.mode)!.label.toLowerCase();
  if (results.length === 0) {
    return html`<p class="empty">No results for “${q.query}”${q.tag ? html` tagged <span class="tag">${q.tag}</span>` : ''}.</p>${noteOf(note)}`;
  }
  return html`<p class="count">${plural(results.length, 'page')} for “${q.query}”${q.tag ? html` tagged <span class="tag">${q.tag}</span>` : ''} · ${mode}</p>${noteOf(note)}
<ol class="results">${results.map((r) => {
    const heading = r.heading_path?.split(' > ').pop();
    const href = `${pageHref(r.page_id)}?q=${encodeURIComponent(q.query)}${heading ? `#${headingAnchor(heading)}` : ''}`;
    const s = snippet(r.chunk_text, terms);
    return html`<li class="result"><a class="title" href="${href}">${r.title || r.url}</a>
<div class="where"><span class="url">${r.url}</span>${r.heading_path ? html` <span class="path">${r.heading_path.split(' > ').join(' › ')}</span>` : ''}</div>
<p class="snippet">${s.before ? '… ' : ''}${s.segments.map((g) => (g.hit ? html`<mark>${g.text}</mark>` : g.text))}${s.after ? ' …' : ''}</p>
<div class="meta"><span class="score" title="${scoreTitle(q.mode)}">score ${r.score.toPrecision(3)}</span> ${tagList(r.tags)}${sameText(r.same_text_urls)}</div></li>`;
  })}</ol>`;
}

/** Pages left out of the results because their passage reads the same as this one's: how many, and their URLs on hover. */
const sameText = (urls: readonly string[] | undefined) =>
  urls?.length ? html` <span class="same-text" title="${urls.join('\n')}">same text at ${plural(urls.length, 'other page')}</span>` : '';

/** The search's note (words no page holds, a query of common words only), under the count. */
const noteOf = (note: string | undefined) => (note ? html`<p class="hint search-note">${note}</p>` : '');

const scoreTitle = (mode: SearchQuery['mode']) =>
  mode === 'vector' ? '1 − cosine distance' : mode === 'keyword' ? 'BM25 (comparable within this search only)' : 'Reciprocal rank fusion of meaning and keyword ranks';

export async function searchScreen(ctx: DoctorContext, q: SearchQuery): Promise<Screen> {
  const { tags } = await listTags(ctx, {});
  const body = html`<section class="search">
<form class="searchbar" action="/" method="get" role="search" data-form="search">
<input id="q" name="query" type="search" value="${q.query}" placeholder="Search documentation" aria-label="Search documentation" aria-keyshortcuts="/" autocomplete="off" maxlength="2000"${q.query ? '' : html` autofocus`}>
<select name="tags" aria-label="Only pages tagged"><option value="">All tags</option>${tags.map((t) => html`<option value="${t}"${t === q.tag ? html` selected` : ''}>${t}</option>`)}</select>
<fieldset class="modes"><legend class="visually-hidden">Search mode</legend>${MODES.map(
    (m) => html`<label title="${m.title}"><input type="radio" name="mode" value="${m.value}"${m.value === q.mode ? html` checked` : ''}>${m.label}</label>`,
  )}</fieldset>
<button type="submit">Search</button>
</form>
<div id="results">${await searchResults(ctx, q)}</div>
</section>`;
  return { nav: 'search', title: searchTitle(q), body };
}
