/** Status: version, counts, vector engine and index freshness (as `doctor index status`), embedder, mode. */
import { fullStatus, type DoctorContext } from '../../service/index.js';
import { bytes } from './format.js';
import { html, type Html } from './html.js';
import type { Screen } from './layout.js';

/** The detail without the freshness word it may start with ("current; saved ..." -> "saved ..."). */
const detailAfter = (word: string, detail: string) => (detail.startsWith(word) ? detail.slice(word.length).replace(/^[:;,]\s*/, '') : detail);

export async function statusScreen(ctx: DoctorContext, opts: { readOnly: boolean; tokenRequired: boolean }): Promise<Screen> {
  const s = await fullStatus(ctx, { read_only: opts.readOnly });
  const i = s.index;
  const row = (label: string, value: Html | string | number, field?: string) => html`<div><dt>${label}</dt><dd${field ? html` data-status="${field}"` : ''}>${value}</dd></div>`;
  const num = (n: number | undefined) => (n === undefined ? '–' : n.toLocaleString('en'));
  const body = html`<h1>Status</h1>
<section><h2>Index</h2><dl class="facts">
${row('Pages', num(s.pages))}${row('Chunks', num(s.chunks))}
${row('Vector engine', i.engine, 'engine')}
${row('Index freshness', html`<span class="fresh f-${i.freshness}">${i.freshness}</span> <span class="meta">${detailAfter(i.freshness, i.detail)}</span>`, 'freshness')}
${row('Rows / indexed', `${num(i.rows)} / ${num(i.indexedRows)}`)}
${i.indexPath ? row('Index file', `${i.indexPath} (${bytes(i.indexBytes)})`) : ''}
${i.settings ? row('Index settings', i.settings) : ''}
</dl></section>
<section><h2>Embeddings</h2><dl class="facts">
${row('Model', `${s.embedding.provider} / ${s.embedding.model}`, 'embedding')}${row('Dimensions', s.embedding.dimension)}
</dl></section>
<section><h2>Server</h2><dl class="facts">
${row('Version', s.version)}
${row('Mode', s.read_only ? 'read-only: crawls and deletions are refused' : 'read-write', 'mode')}
${row('Token', opts.tokenRequired ? 'required (DOCTOR_API_TOKEN)' : 'not required')}
${row('Crawl jobs', s.runs_crawls ? `${s.jobs.running} running, ${s.jobs.pending} waiting` : 'this process runs no crawls')}
</dl></section>
<p class="meta">Also at <code>GET /index_status</code> and <code>GET /health</code>; <code>doctor index status</code> prints the same.</p>`;
  return { nav: 'status', title: 'Status', body };
}
