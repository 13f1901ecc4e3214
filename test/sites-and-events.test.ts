/**
 * The service operations behind the web interface, and their REST routes: everything indexed by site and
 * tag, deleting and re-crawling a site, live job events (and their Server-Sent Events stream), the index
 * status; the highlighting and Markdown rendering the screens use.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { removeServerInfo, writeServerInfo } from '../src/app/server-info.js';
import { buildHttpApp } from '../src/http/app.js';
import { renderMarkdown } from '../src/http/markdown.js';
import { deleteDocs, fetchUrl, indexStatus, recrawlSite, siteOverview, watchJobs, type JobEvent } from '../src/service/index.js';
import { markTerms, queryTerms, snippet } from '../src/text/highlight.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { startDocSite, type DocSite } from './helpers/doc-site.js';
import { addPages } from './helpers/pages.js';

describe('sites, re-crawls and live job events', () => {
  let ctx: TestContext;
  let site: DocSite;
  let app: FastifyInstance;
  let base = '';
  let firstJob = '';
  const events: JobEvent[] = [];

  before(async () => {
    [ctx, site] = await Promise.all([makeContext({ config: { render: 'never' } }), startDocSite({ delayMs: 40 })]);
    app = await buildHttpApp(ctx, { instanceId: 'sites-test-instance' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const job = await fetchUrl(ctx, { url: `${site.url}/docs/`, tags: ['widget'], max_pages: 20, scope: 'prefix' });
    firstJob = job.job_id;
    // As GET /job_events does: what arrives before the initial state is sent goes after it.
    let started = false;
    const pending: JobEvent[] = [];
    const watch = await watchJobs(ctx, { job_id: job.job_id }, (e) => (started ? events : pending).push(e));
    events.push(...watch.initial, ...pending);
    started = true;
    await ctx.runner!.waitFor(job.job_id);
    watch.close();
  });
  after(async () => {
    await app.close();
    await ctx.close();
    await site.close();
  });

  it('pushes progress with a rate and a time left, ending with the finished job', () => {
    const stored = events.map((e) => e.pages_crawled);
    for (let i = 1; i < stored.length; i++) assert.ok(stored[i]! >= stored[i - 1]!, 'never goes back');
    assert.ok(new Set(stored).size >= 3, `several steps: ${stored}`);
    assert.ok(events.some((e) => e.pages_per_second !== null && e.pages_per_second > 0), 'a rate once pages arrive');
    assert.ok(events.some((e) => e.status === 'running' && e.eta_seconds !== null && e.eta_seconds > 0), 'a time left while running');
    const last = events.at(-1)!;
    assert.equal(last.status, 'completed');
    assert.equal(last.eta_seconds, null);
    assert.ok(last.skipped.some((s) => s.url.endsWith('/docs/missing.html') && /404/.test(s.reason)));
  });

  it('lists the crawl as one site with its pages, chunks and tags', async () => {
    const o = await siteOverview(ctx);
    assert.equal(o.sites.length, 1, JSON.stringify(o.sites.map((s) => s.url)));
    const s = o.sites[0]!;
    const pages = await ctx.store.pages.count();
    assert.equal(s.pages, pages);
    assert.equal(s.chunks, await ctx.store.chunks.count());
    assert.equal(s.title, 'Widget Docs');
    assert.deepEqual(s.tags, ['widget']);
    assert.equal(s.job_id, firstJob);
    assert.deepEqual(o.tags, [{ tag: 'widget', sites: 1, pages, chunks: s.chunks }]);
    assert.deepEqual(o.totals, { sites: 1, pages, chunks: s.chunks });
    const rest = (await (await fetch(`${base}/sites`)).json()) as typeof o;
    assert.equal(rest.sites[0]!.root_page_id, s.root_page_id);
  });

  it('re-crawls a site with the settings of its crawl, keeping one copy of each page', async () => {
    const before = await siteOverview(ctx);
    const root = before.sites[0]!.root_page_id;
    const r = await recrawlSite(ctx, { root_page_id: root });
    const job = await ctx.runner!.waitFor(r.job_id);
    assert.equal(job.status, 'completed');
    assert.equal(job.start_url, `${site.url}/docs/`);
    assert.deepEqual(job.tags, ['widget']);
    assert.equal(job.max_pages, 20);
    assert.equal(job.options.scope, 'prefix');
    const after = await siteOverview(ctx);
    assert.equal(after.sites.length, 1);
    assert.equal(after.sites[0]!.root_page_id, root);
    assert.equal(after.sites[0]!.pages, before.sites[0]!.pages);
    assert.equal(after.sites[0]!.chunks, before.sites[0]!.chunks);
    await assert.rejects(recrawlSite(ctx, { root_page_id: 'nope' }), /no site with root page "nope"/);
  });

  it('the job screen of a finished crawl that skipped nothing says "None.", not "None so far."', async () => {
    const job = await ctx.store.jobs.create({ job_id: '00000000-0000-4000-8000-00000000f00d', start_url: `${site.url}/docs/none.html`, max_pages: 5, max_depth: 1, tags: [], options: {} });
    await ctx.store.jobs.update(job.job_id, { status: 'completed', pages_crawled: 1 });
    const page = await (await fetch(`${base}/ui/jobs/${job.job_id}`)).text();
    assert.match(page, /data-when-empty="skipped">None\.<\/p>/);
    assert.doesNotMatch(page, /None so far/);
  });

  it('says how to crawl a site again when the settings of its crawl are refused now', async () => {
    const root = (await siteOverview(ctx)).sites[0]!.root_page_id;
    const jobId = (await ctx.store.pages.get(root))!.job_id!;
    // an include pattern that earlier versions stored (it matched nothing) and submission now refuses
    const setInclude = (options: object) =>
      ctx.store.db.transaction((tx) => tx.run('UPDATE jobs SET options = ? WHERE job_id = ?', [JSON.stringify(options), jobId]));
    await setInclude({ scope: 'prefix', include: ['/docs/*'] });
    try {
      const jobsBefore = await ctx.store.jobs.list({ limit: 1000 });
      const res = await fetch(`${base}/recrawl_site`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ root_page_id: root }) });
      assert.equal(res.status, 422);
      const { detail } = (await res.json()) as { detail: string };
      assert.match(detail, new RegExp(`the crawl that stored this site \\(job ${jobId}\\) used settings that are refused now: .*/docs/\\*`));
      assert.match(detail, new RegExp(`Crawl ${site.url}/docs/ again with fetch_url`));
      assert.equal((await ctx.store.jobs.list({ limit: 1000 })).length, jobsBefore.length, 'no job started');
    } finally {
      await setInclude({ scope: 'prefix' });
    }
  });

  it('tags stored before tags were bounded (or imported) can still be searched, listed and deleted by, and a re-crawl keeps them', async () => {
    const legacy = ['widget', 'two\nlines', 'x'.repeat(300)];
    const o = await siteOverview(ctx);
    const root = o.sites[0]!.root_page_id;
    const job = o.sites[0]!.job_id!;
    const setTags = (table: string, tags: string[], where = '', params: string[] = []) =>
      ctx.store.db.run(`UPDATE ${table} SET tags = [${tags.map(() => '?').join(', ')}]::VARCHAR[] ${where}`, [...tags, ...params]);
    await setTags('jobs', legacy, 'WHERE job_id = ?', [job]);
    for (const table of ['pages', 'document_embeddings']) await setTags(table, legacy);
    const post = (path: string, body: object) =>
      fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    try {
      // the tag list_tags shows selects its pages (it was refused: "tags must not hold control characters ...")
      for (const tag of legacy.slice(1)) {
        const found = await post('/search_docs', { query: 'widget', tags: [tag] });
        assert.equal(found.status, 200, await found.clone().text());
        assert.ok(((await found.json()) as { results: unknown[] }).results.length > 0, 'its pages are found');
        const listed = await fetch(`${base}/list_doc_pages?tags=${encodeURIComponent(tag)}`);
        assert.equal(listed.status, 200);
        assert.ok(((await listed.json()) as { total_docs: number }).total_docs > 0);
      }
      // the re-crawl repeats the crawl's tags as stored (it was refused over tags the user never gave)
      const again = await post('/recrawl_site', { root_page_id: root });
      assert.equal(again.status, 200, await again.clone().text());
      const done = await ctx.runner!.waitFor(((await again.json()) as { job_id: string }).job_id);
      assert.equal(done.status, 'completed');
      assert.deepEqual(done.tags, legacy);
      // new tags are still bounded
      const refused = await post('/fetch_url', { url: `${site.url}/docs/`, tags: ['two\nlines'] });
      assert.equal(refused.status, 422);
      assert.match(((await refused.json()) as { detail: string }).detail, /control characters/);
      const dryDelete = await post('/delete_docs', { tags: ['x'.repeat(300)], domain: 'no-such-domain.test' });
      assert.equal(dryDelete.status, 200, 'delete_docs takes the stored tag (no page also matches the domain)');
      assert.equal(((await dryDelete.json()) as { deleted_pages: number }).deleted_pages, 0);
    } finally {
      for (const table of ['jobs', 'pages', 'document_embeddings']) await setTags(table, ['widget']);
    }
  });

  it('streams job events over HTTP as Server-Sent Events, ending with the job', async () => {
    const res = await fetch(`${base}/job_events?job_id=${firstJob.slice(0, 8)}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const text = await res.text(); // the stream ends after the finished job's event
    const blocks = text.trim().split('\n\n');
    assert.match(blocks[0]!, /^event: progress\ndata: \{/);
    const progress = JSON.parse(blocks[0]!.split('\n')[1]!.slice(6)) as JobEvent;
    assert.equal(progress.job_id, firstJob);
    assert.equal(progress.status, 'completed');
    assert.equal(blocks.at(-1), 'event: end\ndata: {}');
    const missing = await fetch(`${base}/job_events?job_id=00000000-0000-0000-0000-000000000000`);
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { detail: string }).detail, /no job with id/);
  });

  it('streams every job, starting with the unfinished ones, and stops when the client goes away', async () => {
    const slow = await fetchUrl(ctx, { url: `${site.url}/docs/guide/intro.html`, tags: ['slow'], max_pages: 3 });
    const abort = new AbortController();
    const res = await fetch(`${base}/job_events`, { signal: abort.signal });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const finished = new RegExp(`"job_id":"${slow.job_id}","status":"completed"`);
    while (!finished.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    assert.match(text, new RegExp(`"job_id":"${slow.job_id}","status":"(pending|running)"`), 'it was streamed while unfinished');
    assert.match(text, finished);
    abort.abort();
    await ctx.runner!.waitFor(slow.job_id);
  });

  it('deletes one site by its root page, and nothing else', async () => {
    await deleteDocs(ctx, { tags: ['slow'] }); // the crawl started at intro.html made that page a site of its own
    await addPages(ctx, [
      { id: 'other-root', title: 'Other', markdown: '# Other\n\nKeep me.', tags: ['other'] },
      { id: 'other-child', title: 'Other child', markdown: '# Child\n\nKeep me too.', root: 'other-root', parent: 'other-root', depth: 1 },
    ]);
    const widget = (await siteOverview(ctx)).sites.find((s) => s.title === 'Widget Docs')!;
    const res = await fetch(`${base}/delete_docs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ root_page_id: widget.root_page_id }) });
    const r = (await res.json()) as { deleted_pages: number; deleted_chunks: number };
    assert.equal(r.deleted_pages, widget.pages);
    assert.equal(r.deleted_chunks, widget.chunks);
    const left = await siteOverview(ctx);
    assert.deepEqual(left.sites.map((s) => [s.root_page_id, s.pages]), [['other-root', 2]]);
    // A site whose root page is gone is still listed (named after its shallowest page) and can be deleted.
    await deleteDocs(ctx, { page_ids: ['other-root'] });
    const orphan = (await siteOverview(ctx)).sites[0]!;
    assert.deepEqual([orphan.root_page_id, orphan.root_present, orphan.pages, orphan.url], ['other-root', false, 1, 'https://docs.test/other-child.html']);
    assert.equal((await deleteDocs(ctx, { root_page_id: 'other-root' })).deleted_pages, 1);
    assert.deepEqual((await siteOverview(ctx)).sites, []);
  });

  it('reports the live index like `doctor index status`, also over REST', async () => {
    const st = await indexStatus(ctx);
    assert.equal(st.engine, 'exact');
    assert.equal(st.freshness, 'current');
    assert.equal(st.rows, await ctx.store.chunks.count());
    assert.deepEqual(await (await fetch(`${base}/index_status`)).json(), JSON.parse(JSON.stringify(st)));
    // `doctor index status` asks the running server (announced in the data directory) for the same.
    writeServerInfo(ctx.config, base, 'sites-test-instance');
    try {
      const { Command } = await import('commander');
      const { addGlobalOptions } = await import('../src/cli/global.js');
      const { registerIndex } = await import('../src/cli/index-cmd.js');
      const program = addGlobalOptions(new Command('doctor')).exitOverride();
      registerIndex(program);
      let out = '';
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = ((chunk: string | Uint8Array) => ((out += String(chunk)), true)) as typeof process.stdout.write;
      try {
        await program.parseAsync(['node', 'doctor', '--db-path', ctx.config.dbPath, 'index', 'status', '--json']);
      } finally {
        process.stdout.write = write;
      }
      assert.deepEqual(JSON.parse(out), JSON.parse(JSON.stringify(st)));
    } finally {
      removeServerInfo(ctx.config);
    }
  });

  it('refuses re-crawls on a read-only server', async () => {
    const ro = await buildHttpApp(ctx, { readOnly: true });
    const res = await ro.inject({ method: 'POST', url: '/recrawl_site', payload: { root_page_id: 'x' } });
    assert.equal(res.statusCode, 403);
    await ro.close();
  });
});

describe('highlighting and page rendering for the web interface', () => {
  it('marks words whose tokens match the query, code identifiers included', () => {
    const terms = queryTerms('dashboard refresh');
    const hits = markTerms('Call renderDashboard() to refresh the dashboard.', terms).filter((s) => s.hit).map((s) => s.text);
    assert.deepEqual(hits, ['renderDashboard', 'refresh', 'dashboard']);
    assert.deepEqual(markTerms('no match here', terms), [{ text: 'no match here', hit: false }]);
  });

  it('marks the same words in long texts: ASCII and not, repeated words, more distinct words than it remembers', () => {
    const terms = queryTerms('function');
    const words = Array.from({ length: 120_000 }, (_, i) => `w${i}`);
    words.splice(60_000, 0, 'myFunction');
    words.push('FUNCTION', 'function_name');
    const marked = (text: string) => markTerms(text, terms).filter((s) => s.hit).map((s) => s.text);
    assert.deepEqual(marked(words.join(' ')), ['myFunction', 'FUNCTION', 'function_name']);
    assert.deepEqual(marked('a function, another function; functional is not one'), ['function', 'function']);
    assert.deepEqual(marked('naïve function — 😀function😀 Function'), ['function', 'function', 'Function']);
    assert.deepEqual(markTerms('nothing here at all', terms), [{ text: 'nothing here at all', hit: false }]);
    assert.deepEqual(markTerms('naïve café', queryTerms('café')).filter((s) => s.hit).map((s) => s.text), ['café']);
  });

  it('cuts a snippet around the place with the most query terms, as plain text', () => {
    const text = `${'Filler words about nothing. '.repeat(30)}Set [the retry](https://x.test/r) \`backoff\` here. ${'More filler text. '.repeat(30)}`;
    const s = snippet(text, queryTerms('retry backoff'), 120);
    const joined = s.segments.map((g) => g.text).join('');
    assert.ok(s.before && s.after);
    assert.match(joined, /Set the retry backoff here\./);
    assert.deepEqual(s.segments.filter((g) => g.hit).map((g) => g.text), ['retry', 'backoff']);
    assert.ok(joined.length <= 120);
  });

  it('gives headings ids, points in-page links at them and marks terms without breaking entities', () => {
    const html = renderMarkdown('# Set up `npm`\n\n[jump](#Set-up) AT&T amp <b>x</b>\n\n<h2 id="evil" onclick="x()">Raw</h2>', {
      headingIds: true,
      highlight: queryTerms('amp npm'),
    });
    assert.match(html, /<h1 id="h-set-up-npm">Set up <code><mark>npm<\/mark><\/code><\/h1>/);
    assert.match(html, /<a href="#h-set-up" rel="nofollow noopener noreferrer">jump<\/a>/);
    assert.match(html, /AT&amp;T <mark>amp<\/mark>/);
    assert.match(html, /<h2>Raw<\/h2>/, 'ids a page wrote itself are dropped');
  });
});
