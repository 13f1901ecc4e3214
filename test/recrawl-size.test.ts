/**
 * A site re-crawled unchanged (a daily re-crawl, recrawl_site) must not grow the database file: its pages keep
 * their rows (crawl date and job updated in place) instead of being deleted and written again, whose space
 * DuckDB does not reuse while other rows share the row group.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fetchUrl } from '../src/service/jobs.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { tempDir } from './helpers/tmp.js';

const PAGES = 60;

/** A page of ~30 KB of text that differs from page to page. */
function pageHtml(i: number): string {
  const paragraphs = Array.from({ length: 60 }, (_, k) => `<p>Section ${k} of page ${i}: the widget ${i * 100 + k} reads its configuration file, checks option ${k % 7} and writes a report of ${k + i} lines.</p>`);
  return `<!doctype html><html><head><title>Page ${i}</title></head><body><main><h1>Page ${i}</h1>${paragraphs.join('\n').repeat(3)}</main></body></html>`;
}

describe('re-crawling an unchanged site', () => {
  let server: Server;
  let base = '';
  let ctx: TestContext;
  let dbPath = '';

  before(async () => {
    server = createServer((req, res) => {
      const m = /^\/docs\/p(\d+)\.html$/.exec(req.url ?? '');
      if (req.url === '/docs/index.html') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(`<!doctype html><html><head><title>Docs</title></head><body><main><h1>Docs</h1>${Array.from({ length: PAGES }, (_, i) => `<a href="p${i}.html">Page ${i}</a>`).join(' ')}</main></body></html>`);
      } else if (m && Number(m[1]) < PAGES) {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(pageHtml(Number(m[1])));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    dbPath = join(tempDir(), 'doctor.duckdb');
    ctx = await makeContext({ dbPath });
  });
  after(async () => {
    await ctx.close();
    await new Promise((ok) => server.close(ok));
  });

  const crawl = async () => {
    const { job_id } = await fetchUrl(ctx, { url: `${base}/docs/index.html`, max_pages: PAGES + 1, max_depth: 1 });
    const job = await ctx.runner!.waitFor(job_id);
    assert.equal(job.status, 'completed', job.error_message ?? '');
    await ctx.store.db.run('CHECKPOINT');
    return { job_id, bytes: statSync(dbPath).size };
  };

  it('keeps the file size, and each page shows the latest crawl', async () => {
    const first = await crawl();
    const pages = await ctx.store.pages.count();
    assert.equal(pages, PAGES + 1);
    const text = (await ctx.store.pages.list({ limit: 1000 })).pages.find((p) => p.title === 'Page 7')!;
    const before = (await ctx.store.pages.get(text.id))!;
    let last = first;
    for (let round = 0; round < 6; round++) last = await crawl();
    const grown = last.bytes - first.bytes;
    // Each round rewrote ~2 MB of page text before: the file grew ~3 MB a round (17 MB over 6). Now only dates
    // and job ids change, and the file stays within ~2 MB of its first size (14 rounds: 10.5 to 12.1 MB).
    assert.ok(grown < 3.5e6, `the file grew by ${(grown / 1e6).toFixed(1)} MB over 6 re-crawls of an unchanged site (${(first.bytes / 1e6).toFixed(1)} MB after the first)`);
    assert.equal(await ctx.store.pages.count(), pages);
    const after = (await ctx.store.pages.get(text.id))!;
    assert.equal(after.job_id, last.job_id, 'the page names the latest crawl');
    assert.ok(after.crawl_date > before.crawl_date, 'and its date');
    assert.equal(after.raw_text, before.raw_text);
    assert.equal(after.title, 'Page 7');
  });
});
