/** Add documentation: the crawl form (fetch_url). */
import type { DoctorConfig } from '../../config/config.js';
import { html } from './html.js';
import type { Screen } from './layout.js';

export function addScreen(config: DoctorConfig, opts: { readOnly: boolean; url?: string }): Screen {
  if (opts.readOnly) {
    return { nav: 'add', title: 'Add documentation', body: html`<h1>Add documentation</h1><p class="empty">This server is read-only: it does not crawl.</p>`, status: 403 };
  }
  const option = (value: string, label: string, selected: string) => html`<option value="${value}"${value === selected ? html` selected` : ''}>${label}</option>`;
  const body = html`<section class="narrow"><h1>Add documentation</h1>
<p class="meta">Doctor crawls the site from this URL, turns every page into Markdown and indexes it. Progress shows on the next screen.</p>
<form class="crawl" data-form="crawl" novalidate>
<label>Start URL <input name="url" type="url" required placeholder="https://docs.example.com/guide/" value="${opts.url ?? ''}" autocomplete="url" maxlength="2048"></label>
<label>Tags <input name="tags" placeholder="python, stdlib" autocomplete="off"><small>Comma-separated; search can be limited to them.</small></label>
<div class="row">
<label>Max pages <input name="max_pages" type="number" min="1" max="1000" value="100" required></label>
<label>Depth <input name="max_depth" type="number" min="0" max="20" value="3" required><small>Links away from the start URL.</small></label>
</div>
<div class="row">
<label>Scope <select name="scope">${option('prefix', 'Under the start URL', 'prefix')}${option('host', 'Same host', 'prefix')}${option('domain', 'Same domain', 'prefix')}</select></label>
<label>Render JavaScript <select name="render">${option('auto', 'When a page looks empty', config.render)}${option('never', 'Never', config.render)}${option('always', 'Always', config.render)}</select></label>
</div>
<p class="error" role="alert" hidden></p>
<button type="submit">Start crawl</button>
</form></section>`;
  return { nav: 'add', title: 'Add documentation', body };
}
