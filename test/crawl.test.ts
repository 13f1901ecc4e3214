import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OpenAIEmbedder } from '../src/embed/openai.js';
import { JobRunner } from '../src/ingest/job-runner.js';
import { fetchUrl, jobProgress, cancelJob } from '../src/service/jobs.js';
import { startDocSite, type DocSite } from './helpers/doc-site.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { tempDir } from './helpers/tmp.js';
import { SITE_FAILURES_TO_STOP, SiteFailureStreak } from '../src/ingest/site-failures.js';

const hasChromium = existsSync('/usr/bin/chromium');

describe('crawling a documentation site', () => {
  let site: DocSite;
  let ctx: TestContext;
  let jobId = '';
  const progress: number[] = [];

  before(async () => {
    site = await startDocSite({ delayMs: 30 });
    ctx = await makeContext({ config: { maxPageBytes: 100_000, crawlConcurrency: 3 } });
    const res = await fetchUrl(ctx, { url: `${site.url}/docs/index.html`, tags: ['widget'], max_pages: 40, max_depth: 3 });
    jobId = res.job_id;
    // the job row exists as soon as fetch_url returns
    assert.ok(['pending', 'running'].includes((await jobProgress(ctx, { job_id: jobId })).status));
    ctx.runner!.onProgress(jobId, (j) => progress.push(j.pages_crawled));
    await ctx.runner!.waitFor(jobId);
  });
  after(async () => {
    await ctx.close();
    await site.close();
  });

  it('completes and reports counts while running, not only at the end', async () => {
    const p = await jobProgress(ctx, { job_id: jobId });
    assert.equal(p.status, 'completed', p.error_message ?? '');
    assert.equal(p.progress_percent, 100);
    assert.ok(progress.some((n) => n > 0 && n < p.pages_crawled), `intermediate progress seen: ${progress.join(',')}`);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i]! >= progress[i - 1]!, 'progress never goes back');
  });

  it('stores pages as Markdown with their hierarchy', async () => {
    const { pages } = await ctx.store.pages.list({ limit: 1000 });
    const byPath = new Map(pages.map((p) => [new URL(p.url).pathname, p]));
    const expected = ['/docs/index.html', '/docs/guide/intro.html', '/docs/guide/config.html', '/docs/guide/deep/one.html', '/docs/guide/deep/two.html', '/docs/api/ref.html', '/docs/api/hidden.html'];
    for (const path of expected) assert.ok(byPath.has(path), `stored ${path}`);
    const root = byPath.get('/docs/index.html')!;
    const intro = (await ctx.store.pages.get(byPath.get('/docs/guide/intro.html')!.id))!;
    assert.equal(root.depth, 0);
    assert.equal(root.root_page_id, root.id);
    assert.equal(intro.parent_page_id, root.id);
    assert.equal(intro.root_page_id, root.id);
    assert.equal(intro.depth, 1);
    assert.equal(intro.path, '/docs/guide/intro.html');
    assert.deepEqual(intro.tags, ['widget']);
    assert.equal(intro.title, 'Introduction');
    assert.match(intro.raw_text!, /## Setup/);
    assert.match(intro.raw_text!, /```js\nimport \{ Widget \} from "widget";\n```/);
    assert.ok(!intro.raw_text!.includes('Site footer'), 'footer dropped');
    const two = byPath.get('/docs/guide/deep/two.html')!;
    assert.equal(two.parent_page_id, byPath.get('/docs/guide/deep/one.html')!.id);
    assert.equal(two.depth, 3);
    const config = (await ctx.store.pages.get(byPath.get('/docs/guide/config.html')!.id))!;
    assert.match(config.raw_text!, /\| Key \| Default \|/);
    assert.ok(await ctx.store.chunks.count() >= expected.length);
  });

  it('skips what it must, with reasons', async () => {
    const p = await jobProgress(ctx, { job_id: jobId });
    const reason = (suffix: string) => p.skipped.find((s) => s.url.endsWith(suffix))?.reason ?? '';
    assert.match(reason('/docs/missing.html'), /HTTP 404/);
    assert.match(reason('/docs/broken.html'), /HTTP 500/);
    assert.match(reason('/docs/manual.pdf'), /unsupported content type application\/pdf/);
    assert.match(reason('/docs/big.html'), /larger than/);
    assert.match(reason('/docs/loop-a.html'), /redirect loop/);
    assert.match(reason('/docs/old.html'), /duplicate: redirects to .*guide\/intro.html/);
    assert.match(reason('/docs/private/secret.html'), /robots\.txt/);
    const { pages } = await ctx.store.pages.list({ limit: 1000 });
    const urls = pages.map((pg) => new URL(pg.url).pathname + new URL(pg.url).search);
    assert.ok(!urls.includes('/outside.html'), 'out of scope (also when listed in the sitemap)');
    assert.ok(!urls.includes('/docs/guide/deep/three.html'), 'beyond max_depth');
    assert.ok(!urls.includes('/docs/private/secret.html'));
    assert.equal(new Set(pages.map((pg) => pg.url)).size, pages.length, 'no duplicate pages');
    const calendar = urls.filter((u) => u.startsWith('/docs/cal/'));
    assert.ok(calendar.length <= 10, `link trap bounded (${calendar.length} calendar pages)`);
    // once by its own link (the #setup link is the same page), once more through old.html's redirect
    assert.ok(site.hits.get('/docs/guide/intro.html')! <= 2, 'fragment links do not refetch a page');
    // the finished job keeps its counts and reasons in its row; its frontier (a row per URL found) is not kept for good
    assert.ok(p.pages_discovered > pages.length && p.pages_skipped >= 7, `counts kept: ${p.pages_discovered} found, ${p.pages_skipped} skipped`);
    const [frontier] = await ctx.store.db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM crawl_frontier WHERE job_id = ?', [jobId]);
    assert.equal(frontier!.n, 0);
  });

  it('renders a JavaScript-only page with Chromium', { skip: hasChromium ? false : 'Debian chromium not installed (/usr/bin/chromium): .ci/run installs it' }, async () => {
    const spa = await ctx.store.pages.getByUrl(`${site.url}/docs/spa.html`);
    assert.ok(spa, 'the SPA page is stored');
    assert.match(spa!.raw_text!, /This text exists only after JavaScript runs/);
  });

  it('re-crawling updates pages in place: no duplicates, no orphan chunks, unchanged pages not re-embedded', async () => {
    const before = { pages: await ctx.store.pages.count(), chunks: await ctx.store.chunks.count() };
    const ids = new Map((await ctx.store.pages.list({ limit: 1000 })).pages.map((p) => [p.url, p.id]));
    let embedCalls = 0;
    const original = ctx.embedder.embed.bind(ctx.embedder);
    ctx.embedder.embed = async (texts) => {
      embedCalls++;
      return original(texts);
    };
    const again = await fetchUrl(ctx, { url: `${site.url}/docs/index.html`, tags: ['widget'], max_pages: 40, max_depth: 3 });
    const done = await ctx.runner!.waitFor(again.job_id);
    ctx.embedder.embed = original;
    assert.equal(done.status, 'completed');
    assert.equal(await ctx.store.pages.count(), before.pages);
    assert.equal(await ctx.store.chunks.count(), before.chunks);
    for (const p of (await ctx.store.pages.list({ limit: 1000 })).pages) assert.equal(p.id, ids.get(p.url), 'same page id');
    assert.equal(embedCalls, 0, 'unchanged content is not embedded again');
    const [orphans] = await ctx.store.db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM document_embeddings e ANTI JOIN pages p ON p.id = e.page_id');
    assert.equal(orphans!.n, 0);
  });

  it('a page stored with a title the extractor now reads differently gets the new title in its search results on re-crawl', async () => {
    // as a Doctor whose title rule was wrong stored it (the site's name for every page of a Django-themed site)
    const url = `${site.url}/docs/index.html`;
    await ctx.store.db.run("UPDATE pages SET title = 'Widget Docs site' WHERE url = ?", [url]);
    await ctx.store.db.run("UPDATE document_embeddings SET title = 'Widget Docs site' WHERE url = ?", [url]);
    const stored = (await ctx.store.pages.getByUrl(url))!;
    const job = await fetchUrl(ctx, { url, tags: ['widget'], max_pages: 1, max_depth: 0 });
    assert.equal((await ctx.runner!.waitFor(job.job_id)).status, 'completed');
    const page = (await ctx.store.pages.getByUrl(url))!;
    assert.notEqual(page.title, 'Widget Docs site');
    assert.equal(page.id, stored.id, "the same page, updated in place");
    const titles = await ctx.store.db.all<{ title: string }>('SELECT DISTINCT title FROM document_embeddings WHERE page_id = ?', [page.id]);
    assert.deepEqual(titles.map((t) => t.title), [page.title]);
  });

  it('a crawl that stores nothing fails with the reason', async () => {
    const res = await fetchUrl(ctx, { url: `${site.url}/nothing/missing.html`, max_pages: 5 });
    const job = await ctx.runner!.waitFor(res.job_id);
    assert.equal(job.status, 'failed');
    assert.match(job.error_message!, /no page was stored.*missing.html: HTTP 404/);
  });
});

describe('cancel and resume', () => {
  it('cancel stops a running crawl and keeps what it stored', async () => {
    const site = await startDocSite({ delayMs: 150 });
    const ctx = await makeContext({ config: { crawlConcurrency: 1 } });
    try {
      const { job_id } = await fetchUrl(ctx, { url: `${site.url}/docs/cal/?month=1`, max_pages: 100, max_depth: 20 });
      while ((await jobProgress(ctx, { job_id })).pages_crawled < 2) await new Promise((r) => setTimeout(r, 50));
      const p = await cancelJob(ctx, { job_id });
      assert.equal(p.status, 'cancelled');
      const stored = await ctx.store.pages.count();
      assert.ok(stored >= 2 && stored < 20);
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(await ctx.store.pages.count(), stored, 'nothing more after cancel');
    } finally {
      await ctx.close();
      await site.close();
    }
  });

  it('after a restart, an interrupted job resumes and skips pages already stored', async () => {
    const site = await startDocSite({ delayMs: 120 });
    const dbPath = join(tempDir(), 'resume.duckdb');
    const first = await makeContext({ dbPath, config: { crawlConcurrency: 1, render: 'never' } });
    const { job_id } = await fetchUrl(first, { url: `${site.url}/docs/index.html`, max_pages: 40, max_depth: 3 });
    while ((await jobProgress(first, { job_id })).pages_crawled < 3) await new Promise((r) => setTimeout(r, 30));
    await first.close(); // the process stops: the job stays "running"
    const hitsBefore = new Map(site.hits);
    const second = await makeContext({ dbPath, config: { crawlConcurrency: 2, render: 'never' }, runner: false });
    try {
      assert.equal((await second.store.jobs.get(job_id))!.status, 'running');
      second.runner = new JobRunner(second);
      second.jobs = second.runner;
      await second.runner.start();
      const job = await second.runner.waitFor(job_id);
      assert.equal(job.status, 'completed');
      const { pages } = await second.store.pages.list({ limit: 1000 });
      assert.equal(new Set(pages.map((p) => p.url)).size, pages.length, 'no duplicates');
      assert.ok(pages.some((p) => p.url.endsWith('/docs/guide/deep/two.html')), 'the crawl went on to the end');
      assert.equal(site.hits.get('/docs/index.html'), hitsBefore.get('/docs/index.html'), 'the start page was not fetched again');
    } finally {
      await second.close();
      await site.close();
    }
  });
});

describe('embeddings server trouble during a crawl', () => {
  let server: Server;
  let base = '';
  let calls = 0;
  before(async () => {
    server = createServer(async (req, res) => {
      let body = '';
      for await (const c of req) body += c;
      calls++;
      if (req.headers.authorization !== 'Bearer good') {
        res.writeHead(401, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: { message: 'Incorrect API key' } }));
      }
      if (calls === 1) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
        return res.end(JSON.stringify({ error: { message: 'slow down' } }));
      }
      const { input } = JSON.parse(body) as { input: string[] };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: input.map((t, index) => ({ index, embedding: Array.from({ length: 16 }, (_, j) => ((t.length + j) % 7) + 1) })) }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`;
  });
  after(() => server.close());

  it('a 429 is retried and the crawl completes', async () => {
    const site = await startDocSite();
    const ctx = await makeContext({ embedder: new OpenAIEmbedder({ apiKey: 'good', baseUrl: base, model: 'test-embed', dimension: 16 }), config: { render: 'never' } });
    try {
      const { job_id } = await fetchUrl(ctx, { url: `${site.url}/docs/guide/intro.html`, max_pages: 3, max_depth: 1 });
      const job = await ctx.runner!.waitFor(job_id);
      assert.equal(job.status, 'completed', job.error_message ?? '');
      assert.ok(job.pages_crawled >= 1);
    } finally {
      await ctx.close();
      await site.close();
    }
  });

  it('a bad key fails the job at once with a message saying what to do', async () => {
    const site = await startDocSite();
    const ctx = await makeContext({ embedder: new OpenAIEmbedder({ apiKey: 'bad', baseUrl: base, model: 'test-embed', dimension: 16 }), config: { render: 'never' } });
    try {
      const { job_id } = await fetchUrl(ctx, { url: `${site.url}/docs/index.html`, max_pages: 20 });
      const job = await ctx.runner!.waitFor(job_id);
      assert.equal(job.status, 'failed');
      assert.match(job.error_message!, /rejected the key.*OPENAI_API_KEY/);
      assert.equal(await ctx.store.pages.count(), 0);
    } finally {
      await ctx.close();
      await site.close();
    }
  });
});

describe('politeness', () => {
  it('honours robots.txt Crawl-delay between requests to the site', async () => {
    const times: number[] = [];
    const server = createServer((req, res) => {
      if (req.url === '/robots.txt') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end('User-agent: *\nCrawl-delay: 0.4\n');
      }
      const n = Number(/\/d\/(\d+)\.html/.exec(req.url ?? '')?.[1] ?? -1);
      if (n < 0) return void res.writeHead(404).end();
      times.push(Date.now());
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<html><body><main><h1>Delay ${n}</h1><p>Polite page ${n}.</p>${n < 3 ? `<a href="/d/${n + 1}.html">next</a>` : ''}</main></body></html>`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const ctx = await makeContext({ config: { render: 'never', crawlConcurrency: 4 } });
    try {
      const { job_id } = await fetchUrl(ctx, { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/d/0.html`, max_pages: 4 });
      assert.equal((await ctx.runner!.waitFor(job_id)).status, 'completed');
      assert.equal(times.length, 4);
      // 400 ms apart when sent; the arrivals are stamped by this process's event loop, which the crawl shares and
      // which a loaded machine delays by tens of ms (a late stamp shortens the next gap): 300 ms is still far above
      // the 50 ms of DOCTOR_PER_HOST_DELAY_MS that applies without Crawl-delay
      for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 300, `gap ${times[i]! - times[i - 1]!} ms`);
    } finally {
      await ctx.close();
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('a site that goes down or keeps rate limiting mid-crawl', () => {
  it('stops after SITE_FAILURES_TO_STOP pages in a row answered 503 / 429, saying why; the pages stored are kept', async () => {
    let pageHits = 0;
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/docs/') {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(`<html><body><main><h1>Index</h1><p>The index page.</p>${Array.from({ length: 300 }, (_, i) => `<a href="/docs/p${i}">page ${i}</a>`).join(' ')}</main></body></html>`);
      }
      const n = /^\/docs\/p(\d+)$/.exec(path)?.[1];
      if (n === undefined) return res.writeHead(404).end();
      pageHits++;
      if (Number(n) < 3) {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(`<html><body><main><h1>Page ${n}</h1><p>Text of page number ${n}.</p></main></body></html>`);
      }
      // down from here on: overloaded, then rate limiting
      res.writeHead(Number(n) % 2 ? 503 : 429, { 'retry-after': '0' }).end('busy');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const site = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const ctx = await makeContext({ config: { render: 'never', crawlConcurrency: 2 } });
    try {
      const { job_id } = await fetchUrl(ctx, { url: `${site}/docs/`, max_pages: 300, max_depth: 1 });
      const job = await ctx.runner!.waitFor(job_id);
      assert.equal(job.status, 'failed');
      assert.match(job.error_message!, /^the crawl stopped: 10 pages in a row could not be fetched, the site refusing or not answering \(last: .*\/docs\/p\d+: HTTP (503|429)\)\. Crawl the site again later: the pages stored so far are kept\.$/);
      assert.equal(await ctx.store.pages.count(), 4, 'the index and the 3 pages fetched before the site went down');
      // 3 pages + 4 attempts each of the failing ones, up to the 10th failure and those in flight then
      assert.ok(pageHits < 3 + 4 * 15, `${pageHits} page requests to a site that was down (before: all 297, 4 times each)`);
    } finally {
      await ctx.close();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('pages of other hosts that do not answer (a domain scope\'s dead subdomain)', () => {
  it('are skipped one by one and do not stop the crawl of the site; the start URL\'s host failing does', () => {
    const streak = new SiteFailureStreak('https://docs.example.com/start/');
    for (let i = 0; i < 3 * SITE_FAILURES_TO_STOP; i++) {
      assert.equal(streak.failed(`https://legacy.example.com/p${i}`, 'connection refused'), undefined);
    }
    for (let i = 0; i < SITE_FAILURES_TO_STOP - 1; i++) assert.equal(streak.failed(`https://docs.example.com/p${i}`, 'HTTP 503'), undefined);
    streak.answered('https://docs.example.com/ok'); // the site answered: the row starts again
    for (let i = 0; i < SITE_FAILURES_TO_STOP - 1; i++) assert.equal(streak.failed(`https://docs.example.com/q${i}`, 'HTTP 503'), undefined);
    streak.answered('https://other.example.com/ok'); // another host answering does not break the site's row
    assert.match(String(streak.failed('https://docs.example.com/last', 'HTTP 503')), /10 pages in a row could not be fetched/);
  });
});

describe('a busy site at the start of a crawl', () => {
  it('sitemap.xml and llms.txt answered 503 are asked once each: the first page is fetched at once, not after their retries', async () => {
    const hits = new Map<string, number>();
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      hits.set(path, (hits.get(path) ?? 0) + 1);
      if (path === '/docs/') {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end('<html><body><main><h1>Docs</h1><p>The start page of a busy site.</p></main></body></html>');
      }
      if (path === '/robots.txt') return res.writeHead(404).end();
      res.writeHead(503, { 'retry-after': '3' }).end('busy');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const site = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const ctx = await makeContext({ config: { render: 'never' } });
    try {
      const t0 = Date.now();
      const job = await ctx.runner!.waitFor((await fetchUrl(ctx, { url: `${site}/docs/`, max_pages: 5 })).job_id);
      assert.equal(job.status, 'completed', job.error_message ?? '');
      assert.equal(job.pages_crawled, 1);
      assert.ok(Date.now() - t0 < 2500, `took ${Date.now() - t0} ms (before: 3 files x 3 retries x Retry-After: 3 s)`);
      assert.deepEqual(Object.fromEntries(['/sitemap.xml', '/llms.txt', '/docs/llms.txt'].map((p) => [p, hits.get(p)])), { '/sitemap.xml': 1, '/llms.txt': 1, '/docs/llms.txt': 1 });
    } finally {
      await ctx.close();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('pages that moved with <meta http-equiv="refresh">', () => {
  it('the crawl follows the refresh target (a root sending to /docs/stable/); a refresh to itself or in a loop ends', async () => {
    const page = (head: string, body: string) => `<html><head>${head}</head><body>${body}</body></html>`;
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (!path.startsWith('/docs/')) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/html' });
      switch (path) {
        case '/docs/': return res.end(page(`<meta http-equiv="Refresh" content="0; URL='stable/'">`, ''));
        case '/docs/stable/': return res.end(page('<title>Stable</title>', '<main><h1>Stable</h1><p>The current release of the docs.</p><a href="loop-a">a</a></main>'));
        case '/docs/stable/loop-a': return res.end(page('<meta http-equiv="refresh" content="1;url=loop-b">', '<p>Loop A text.</p>'));
        case '/docs/stable/loop-b': return res.end(page('<meta http-equiv="refresh" content="1;url=loop-a">', '<p>Loop B text.</p>'));
        default: return res.end(page('<meta http-equiv="refresh" content="0">', '<p>Reloads itself.</p>'));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const site = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const ctx = await makeContext({ config: { render: 'never' } });
    try {
      const { job_id } = await fetchUrl(ctx, { url: `${site}/docs/`, max_pages: 20, max_depth: 5 });
      const job = await ctx.runner!.waitFor(job_id);
      assert.equal(job.status, 'completed', job.error_message ?? '');
      const urls = (await ctx.store.db.all<{ url: string }>('SELECT url FROM pages ORDER BY url')).map((r) => r.url.slice(site.length));
      assert.deepEqual(urls, ['/docs/stable/', '/docs/stable/loop-a', '/docs/stable/loop-b']);
      const self = await ctx.runner!.waitFor((await fetchUrl(ctx, { url: `${site}/docs/self/`, max_pages: 20 })).job_id);
      assert.equal(self.status, 'completed', self.error_message ?? '');
      assert.equal(self.pages_crawled, 1);
    } finally {
      await ctx.close();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('pages served without a Content-Type, or as application/octet-stream', () => {
  it('are indexed when they begin like HTML (a bucket of files uploaded without types); a binary file stays skipped', async () => {
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const html = (n: string, links = '') => `\n<!DOCTYPE html>\n<html><head><meta charset="windows-1252"><title>Untyped ${n}</title></head><body><main><h1>Untyped ${n}</h1><p>Caf\xe9 page ${n} of the bucket.</p>${links}</main></body></html>`;
      switch (path) {
        case '/b/': res.writeHead(200); return res.end(Buffer.from(html('index', '<a href="/b/one.html">one</a> <a href="/b/two.html">two</a> <a href="/b/file.zip">zip</a>'), 'latin1'));
        case '/b/one.html': res.writeHead(200, { 'content-type': 'binary/octet-stream' }); return res.end(Buffer.from(html('one'), 'latin1'));
        case '/b/two.html': res.writeHead(200, { 'content-type': 'application/octet-stream' }); return res.end(Buffer.from('Untyped two: words, not HTML.'));
        case '/b/file.zip': res.writeHead(200, { 'content-type': 'application/octet-stream' }); return res.end(Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(2000, 1)]));
        default: return res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const site = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const ctx = await makeContext({ config: { render: 'never' } });
    try {
      const job = await ctx.runner!.waitFor((await fetchUrl(ctx, { url: `${site}/b/`, max_pages: 10 })).job_id);
      assert.equal(job.status, 'completed', job.error_message ?? '');
      const pages = await ctx.store.db.all<{ url: string; title: string; markdown: string }>('SELECT url, title, raw_text AS markdown FROM pages ORDER BY url');
      assert.deepEqual(pages.map((p) => [p.url.slice(site.length), p.title]), [['/b/', 'Untyped index'], ['/b/one.html', 'Untyped one']]);
      assert.match(pages[1]!.markdown, /Café page one of the bucket/);
      const skipped = Object.fromEntries((await jobProgress(ctx, { job_id: job.job_id })).skipped.map((s: { url: string; reason: string }) => [s.url.slice(site.length), s.reason]));
      assert.deepEqual(skipped, {
        '/b/two.html': 'unsupported content type application/octet-stream',
        '/b/file.zip': 'binary content served as application/octet-stream: not a text page',
      });
    } finally {
      await ctx.close();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('<meta name="robots">', () => {
  it('noindex pages are skipped and nofollow pages lead nowhere, as robots.txt is honoured; respect_robots false stores and follows them', async () => {
    const page = (title: string, meta: string, body: string) =>
      `<!DOCTYPE html><html><head><title>${title}</title>${meta}</head><body><main><h1>${title}</h1>${body}</main></body></html>`;
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const send = (html: string) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      switch (path) {
        case '/book/':
          return send(page('Book', '', '<p>The book starts here.</p><a href="/book/ch1.html">Chapter 1</a> <a href="/book/print.html">Print</a> <a href="/book/links.html">Links</a>'));
        case '/book/ch1.html':
          return send(page('Chapter 1', '<meta name="robots" content="index, follow">', '<p>Ownership rules of the first chapter.</p>'));
        // mdBook's print.html: every chapter again, marked so that search engines leave it out
        case '/book/print.html':
          return send(page('Book', '<meta name="robots" content="noindex" />', '<p>Ownership rules of the first chapter.</p><p>The book starts here.</p>'));
        case '/book/links.html':
          return send(page('Links', '<META NAME="Robots" CONTENT="NoFollow">', '<p>Links we do not vouch for.</p><a href="/book/hidden.html">hidden</a>'));
        case '/book/hidden.html':
          return send(page('Hidden', '', '<p>Reached only through a nofollow page.</p>'));
        default:
          return res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const site = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const ctx = await makeContext({ config: { render: 'never' } });
    try {
      const urls = async () => (await ctx.store.db.all<{ url: string }>('SELECT url FROM pages ORDER BY url')).map((p) => p.url.slice(site.length));
      const job = await ctx.runner!.waitFor((await fetchUrl(ctx, { url: `${site}/book/`, max_pages: 10 })).job_id);
      assert.equal(job.status, 'completed', job.error_message ?? '');
      assert.deepEqual(await urls(), ['/book/', '/book/ch1.html', '/book/links.html']);
      const skipped = (await jobProgress(ctx, { job_id: job.job_id })).skipped.map((s: { url: string; reason: string }) => [s.url.slice(site.length), s.reason]);
      assert.deepEqual(skipped, [['/book/print.html', 'noindex: its <meta name="robots"> asks not to index it']]);

      const all = await ctx.runner!.waitFor((await fetchUrl(ctx, { url: `${site}/book/`, max_pages: 10, respect_robots: false })).job_id);
      assert.equal(all.status, 'completed', all.error_message ?? '');
      assert.deepEqual(await urls(), ['/book/', '/book/ch1.html', '/book/hidden.html', '/book/links.html', '/book/print.html']);
    } finally {
      await ctx.close();
      await new Promise((r) => server.close(r));
    }
  });
});
