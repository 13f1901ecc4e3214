/**
 * Jobs: every crawl with its status, and one crawl in detail with its skipped URLs. The numbers are
 * rendered here and then kept current by the script from GET /job_events (Server-Sent Events).
 */
import { NotFoundError, ValidationError, jobProgress, listJobs, type DoctorContext, type JobProgress } from '../../service/index.js';
import { jobHref, plural, tagList, time } from './format.js';
import { externalHref, html, type Html } from './html.js';
import type { Screen } from './layout.js';

const status = (p: JobProgress) => html`<span class="status s-${p.status}" data-field="status">${p.status}</span>`;

const bar = (p: JobProgress) =>
  html`<progress data-field="progress" max="${Math.max(1, p.pages_total)}" value="${p.completed && p.status === 'completed' ? Math.max(1, p.pages_total) : p.pages_crawled}" aria-label="Pages stored"></progress>`;

function cancel(p: JobProgress, readOnly: boolean): Html {
  if (readOnly || p.completed) return html``;
  return html`<button type="button" class="danger" data-action="cancel" data-when="running" data-body="${JSON.stringify({ job_id: p.job_id })}"
 data-confirm="${`Cancel the crawl of ${p.url}? Pages stored so far stay indexed.`}">Cancel</button>`;
}

export async function jobsScreen(ctx: DoctorContext, opts: { readOnly: boolean }): Promise<Screen> {
  const { jobs } = await listJobs(ctx, { limit: 100 });
  const rows = jobs.map(
    (p) => html`<tr data-job="${p.job_id}">
<td>${status(p)}</td><td class="site"><a href="${jobHref(p.job_id)}">${p.url}</a> ${tagList(p.tags)}</td>
<td class="num" data-label="Stored"><span data-field="pages_crawled">${p.pages_crawled}</span></td>
<td class="num" data-label="Found"><span data-field="pages_discovered">${p.pages_discovered}</span></td>
<td class="num" data-label="Skipped"><span data-field="pages_skipped">${p.pages_skipped}</span></td>
<td class="progress-cell">${bar(p)} <span data-field="rate" class="meta"></span></td>
<td data-label="Started">${time(p.created_at)}</td><td class="actions">${cancel(p, opts.readOnly)}</td></tr>`,
  );
  const body = html`<h1>Jobs</h1>
<p class="meta">Crawls, newest first. Running ones update live.${opts.readOnly ? '' : html` <a href="/ui/add">Add documentation</a>`}</p>
<div data-live-jobs>${jobs.length
    ? html`<div class="table-wrap"><table class="jobs stack"><thead><tr><th>Status</th><th>Start URL</th><th class="num">Stored</th><th class="num">Found</th><th class="num">Skipped</th><th>Progress</th><th>Started</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${rows}</tbody></table></div>`
    : html`<p class="empty">No crawls yet.</p>`}</div>`;
  return { nav: 'jobs', title: 'Jobs', body };
}

export async function jobScreen(ctx: DoctorContext, jobId: string, opts: { readOnly: boolean }): Promise<Screen> {
  let p: JobProgress;
  try {
    p = await jobProgress(ctx, { job_id: jobId });
  } catch (e) {
    if (e instanceof NotFoundError || e instanceof ValidationError) {
      return { nav: 'jobs', title: 'No such job', status: e instanceof NotFoundError ? 404 : 422, body: html`<h1>No such job</h1><p class="error">${e.message}</p><p><a href="/ui/jobs">All jobs</a></p>` };
    }
    throw e;
  }
  const stat = (field: string, label: string, value: string | number) =>
    html`<div class="stat"><dt>${label}</dt><dd data-field="${field}">${value}</dd></div>`;
  const body = html`<nav class="crumbs"><a href="/ui/jobs">Jobs</a></nav>
<section class="job" data-job="${p.job_id}" data-live-job="${p.job_id}">
<h1><a href="${externalHref(p.url)}" rel="noopener noreferrer nofollow">${p.url}</a></h1>
<p class="meta">${status(p)} · started ${time(p.created_at)} · up to ${plural(p.max_pages, 'page')} ${tagList(p.tags)} ${cancel(p, opts.readOnly)}</p>
${bar(p)}
<dl class="stats">${stat('pages_crawled', 'Pages stored', p.pages_crawled)}${stat('pages_discovered', 'Found', p.pages_discovered)}${stat('pages_skipped', 'Skipped', p.pages_skipped)}${stat('rate', 'Rate', '–')}${stat('eta', 'Time left', '–')}</dl>
<p class="error" data-field="error_message"${p.error_message ? '' : html` hidden`}>${p.error_message ?? ''}</p>
<p class="done" data-when="completed"${p.status === 'completed' ? '' : html` hidden`}>Done. <a href="/">Search</a> or see <a href="/ui/sites">all sites</a>.</p>
<h2>Skipped URLs</h2>
<div class="table-wrap"><table class="skipped"><thead><tr><th>URL</th><th>Reason</th></tr></thead>
<tbody data-skipped>${p.skipped.map((s) => html`<tr><td class="url">${s.url}</td><td>${s.reason}</td></tr>`)}</tbody></table></div>
<p class="meta" data-when-empty="skipped"${p.skipped.length ? html` hidden` : ''}>${p.completed ? 'None.' : 'None so far.'}</p>
</section>`;
  return { nav: 'jobs', title: `Crawl of ${p.url}`, body };
}
