/**
 * URLs written by an earlier Doctor in a form its crawler no longer writes (percent-escapes, since 2026-12-04),
 * seen from what a user does next, re-crawling the site: from a database upgraded in place, and from an export.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { exportIndex, fetchUrl, importIndex } from '../src/service/index.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { addPages } from './helpers/pages.js';
import { tempDir } from './helpers/tmp.js';

describe('URLs stored in an earlier form', () => {
  it('stored URLs with percent-escapes in the old form are rewritten, so a re-crawl replaces those pages instead of storing them twice', async () => {
    const { site, base } = await guideSite();
    const dbPath = join(tempDir(), 'doctor.duckdb');
    try {
      // What the Doctor before 2026-12-04 stored (its files have no url_forms in meta): the link's escape as the page's URL (lower-case hex of "~"), and
      // both forms of one page when links mixed them.
      const old = await makeContext({ dbPath, runner: false });
      await addPages(old, [
        { id: 'old-guide', title: 'Guide', markdown: '# Guide\n\nThe guide, as first crawled.', url: `${base}/%7euser/guide.html` },
        { id: 'both-escaped', title: 'Both', markdown: '# Both\n\nEscaped form.', url: `${base}/%7euser/both.html`, crawlDate: new Date('2026-01-01') },
        { id: 'both-plain', title: 'Both', markdown: '# Both\n\nPlain form.', url: `${base}/~user/both.html`, crawlDate: new Date('2026-01-02') },
      ]);
      await old.store.db.run("DELETE FROM meta WHERE key = 'url_forms'");
      await old.close();

      const ctx = await makeContext({ dbPath, config: { render: 'never' } });
      try {
        const urls = async (id: string) => ({
          page: (await ctx.store.pages.get(id))?.url,
          chunks: (await ctx.store.db.all<{ url: string }>('SELECT DISTINCT url FROM document_embeddings WHERE page_id = ?', [id])).map((r) => r.url),
        });
        assert.deepEqual(await urls('old-guide'), { page: `${base}/~user/guide.html`, chunks: [`${base}/~user/guide.html`] });
        // a URL keeps one page: the page whose new URL another already holds keeps its own
        assert.deepEqual(await urls('both-escaped'), { page: `${base}/%7euser/both.html`, chunks: [`${base}/%7euser/both.html`] });
        assert.deepEqual(await urls('both-plain'), { page: `${base}/~user/both.html`, chunks: [`${base}/~user/both.html`] });

        await crawlFindsOneGuide(ctx, base);
      } finally {
        await ctx.close();
      }
    } finally {
      site.close();
    }
  });

  it('an export holding URLs in the old form is imported in the new one, so a crawl after the import replaces those pages', async () => {
    const { site, base } = await guideSite();
    const archive = join(tempDir(), 'old.tar.gz');
    try {
      const old = await makeContext({ runner: false });
      await addPages(old, [{ id: 'old-guide', title: 'Guide', markdown: '# Guide\n\nThe guide, as first crawled.', url: `${base}/%7euser/guide.html` }]);
      await exportIndex(old, { path: archive });
      await old.close();

      const ctx = await makeContext({ config: { render: 'never' } });
      try {
        await importIndex(ctx, { path: archive });
        assert.equal((await ctx.store.pages.get('old-guide'))?.url, `${base}/~user/guide.html`);
        const chunkUrls = await ctx.store.db.all<{ url: string }>('SELECT DISTINCT url FROM document_embeddings');
        assert.deepEqual(chunkUrls.map((r) => r.url), [`${base}/~user/guide.html`]);
        await crawlFindsOneGuide(ctx, base);
      } finally {
        await ctx.close();
      }
    } finally {
      site.close();
    }
  });
});

/** A site whose start page links its guide as `%7euser/guide.html` (the lower-case escape of `~user`). */
async function guideSite(): Promise<{ site: Server; base: string }> {
  const site = createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><head><title>Home</title></head><body><main><h1>Home</h1><p>Start here.</p><a href="%7euser/guide.html">guide</a></main></body></html>');
    } else if (req.url === '/~user/guide.html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><head><title>Guide</title></head><body><main><h1>Guide</h1><p>The guide, crawled again.</p></main></body></html>');
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  return { site, base: `http://127.0.0.1:${(site.address() as AddressInfo).port}` };
}

/** Crawls the site: its guide must then be one page, the one just crawled, not one per URL form. */
async function crawlFindsOneGuide(ctx: TestContext, base: string): Promise<void> {
  const job = await fetchUrl(ctx, { url: `${base}/`, max_pages: 5 });
  const done = await ctx.runner!.waitFor(job.job_id);
  assert.equal(done.status, 'completed');
  const guides = await ctx.store.db.all<{ url: string; raw_text: string }>("SELECT url, raw_text FROM pages WHERE url LIKE '%guide.html'");
  assert.equal(guides.length, 1, `one page for the guide, not one per URL form: ${JSON.stringify(guides.map((g) => g.url))}`);
  assert.match(guides[0]!.raw_text, /crawled again/);
}
