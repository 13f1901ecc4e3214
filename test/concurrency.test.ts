import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { buildHttpApp } from '../src/http/app.js';
import { makeContext } from './helpers/context.js';
import { addPages } from './helpers/pages.js';

/** A site that keeps the crawler busy: every page links to five more. */
function endlessSite(delayMs: number) {
  return createServer((req, res) => {
    const n = Number(/\/s\/(\d+)\.html/.exec(req.url ?? '')?.[1] ?? -1);
    if (n < 0) return void res.writeHead(404).end();
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<html><head><title>Site page ${n}</title></head><body><main><h1>Site page ${n}</h1>
        ${Array.from({ length: 8 }, (_, i) => `<h2>Part ${i}</h2><p>Crawled content ${n}.${i} about gizmos and gadgets. ${'filler words '.repeat(40)}</p>`).join('')}
        ${Array.from({ length: 5 }, (_, i) => `<a href="/s/${n * 5 + i + 1}.html">child</a>`).join('')}</main></body></html>`);
    }, delayMs);
  });
}

describe('concurrent requests while a crawl writes', () => {
  it('50 concurrent search_docs (+ list_doc_pages, job_progress) get correct answers, no errors, no lock failures', async (t) => {
    // a site that keeps the crawler writing for the whole test
    const server = endlessSite(10);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const siteUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const ctx = await makeContext({ config: { render: 'never', crawlConcurrency: 4 } });
    await addPages(ctx, [
      { id: 'anchor', title: 'Anchor page', markdown: '# Anchor\n\nThe quokkaZebra setting controls anchoring.', tags: ['fixed'] },
      ...Array.from({ length: 40 }, (_, i) => ({ id: `f${i}`, title: `Fixed ${i}`, markdown: `# Fixed ${i}\n\nStable text number ${i} about widgets.`, tags: ['fixed'] })),
    ]);
    const app = await buildHttpApp(ctx, {});
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    try {
      const start = await fetch(`${base}/fetch_url`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `${siteUrl}/s/0.html`, max_pages: 300, max_depth: 6, tags: ['crawled'] }) });
      const { job_id } = (await start.json()) as { job_id: string };
      // let the crawl get going, so the requests below overlap its writes
      const fixedPages = await ctx.store.pages.count();
      for (let i = 0; i < 300 && (await ctx.store.pages.count()) === fixedPages; i++) await new Promise((r) => setTimeout(r, 50));
      const pagesAtStart = await ctx.store.pages.count();
      assert.ok(pagesAtStart > fixedPages, 'the crawl stores pages');
      const t0 = performance.now();
      let requests = 0;
      let failures = 0;
      const crawlWasRunning: boolean[] = [];
      const worker = async (i: number) => {
        for (let round = 0; round < 6; round++) {
          const kind = (i + round) % 5;
          const url =
            kind === 3 ? `${base}/list_doc_pages?tags=fixed` : kind === 4 ? `${base}/job_progress?job_id=${job_id}` : `${base}/search_docs?query=quokkaZebra%20anchoring&tags=fixed&max_results=5`;
          const res = await fetch(url);
          requests++;
          if (res.status !== 200) {
            failures++;
            continue;
          }
          const body = (await res.json()) as Record<string, any>;
          if (kind === 3) assert.equal(body.doc_pages.length, 41);
          else if (kind === 4) crawlWasRunning.push(body.status === 'running');
          else assert.equal(body.results[0].page_id, 'anchor', 'the right answer under load');
        }
      };
      await Promise.all(Array.from({ length: 50 }, (_, i) => worker(i)));
      const seconds = (performance.now() - t0) / 1000;
      assert.equal(failures, 0);
      assert.ok(crawlWasRunning.some(Boolean), 'the crawl was writing during the requests');
      for (let i = 0; i < 200 && (await ctx.store.pages.count()) === pagesAtStart; i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok((await ctx.store.pages.count()) > pagesAtStart, 'and it kept storing pages');
      t.diagnostic(`${requests} requests from 50 concurrent clients in ${seconds.toFixed(2)} s = ${(requests / seconds).toFixed(0)} requests/s while crawling`);
      const cancelled = await fetch(`${base}/cancel_job`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job_id }) });
      await cancelled.text(); // an unread body would keep its connection (and this process) alive
    } finally {
      await app.close();
      await ctx.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('30 searchers in a loop leave the crawl a fair share (both rates reported)', async (t) => {
    const server = endlessSite(10);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const siteUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const ctx = await makeContext({ config: { render: 'never', crawlConcurrency: 4 } });
    await addPages(ctx, Array.from({ length: 100 }, (_, i) => ({
      id: `f${i}`, title: `Fixed ${i}`, markdown: `# Fixed ${i}\n\nStable text ${i} about widgets and quokkaZebra anchoring. ${'lorem ipsum dolor '.repeat(40)}`, tags: ['fixed'],
    })));
    const app = await buildHttpApp(ctx, {});
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const count = () => ctx.store.pages.count();
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    /** Pages stored per second over `ms`. */
    const crawlRate = async (ms: number) => {
      const [n0, t0] = [await count(), performance.now()];
      await sleep(ms);
      return ((await count()) - n0) / ((performance.now() - t0) / 1000);
    };
    try {
      const call = async (path: string, body: object) =>
        (await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<{ job_id: string }>;
      // Each round crawls a subtree of its own (/s/N.html links to 5N+1..5N+5) in a new job: one job's
      // 1,000 pages run out within two rounds, and a finished crawl would measure 0 pages/s.
      let job_id = '';
      const freshCrawl = async (round: number) => {
        if (job_id) await call('/cancel_job', { job_id });
        ({ job_id } = await call('/fetch_url', { url: `${siteUrl}/s/${round + 1}.html`, max_pages: 1000, max_depth: 8, tags: ['crawled'] }));
        const n0 = await count();
        for (let i = 0; i < 600 && (await count()) < n0 + 20; i++) await sleep(50);
      };
      let searching = false;
      let searches = 0;
      let failures = 0;
      const searcher = async () => {
        while (searching) {
          const r = await fetch(`${base}/search_docs?query=quokkaZebra%20anchoring%20widgets&max_results=10`);
          if (r.status === 200) searches++;
          else failures++;
          await r.arrayBuffer();
        }
      };
      // Solo and loaded phases alternate, so that the machine's other load hits both alike; medians of 3.
      const solo: number[] = [];
      const loaded: number[] = [];
      const searchRates: number[] = [];
      for (let round = 0; round < 3; round++) {
        await freshCrawl(round);
        solo.push(await crawlRate(2500));
        searching = true;
        const phase = performance.now();
        const clients = Array.from({ length: 30 }, searcher);
        await sleep(300);
        loaded.push(await crawlRate(3500));
        searching = false;
        await Promise.all(clients); // searches in flight finish, and count
        searchRates.push(searches / ((performance.now() - phase) / 1000));
        searches = 0;
      }
      const median = (a: number[]) => [...a].sort((x, y) => x - y)[1]!;
      const [alone, shared, searchRate] = [median(solo), median(loaded), median(searchRates)];
      t.diagnostic(
        `crawl alone ${alone.toFixed(1)} pages/s; with 30 searchers ${shared.toFixed(1)} pages/s (${((100 * shared) / alone).toFixed(0)}% of alone), ` +
          `searches ${searchRate.toFixed(1)}/s; rounds alone [${solo.map((x) => x.toFixed(1)).join(', ')}], shared [${loaded.map((x) => x.toFixed(1)).join(', ')}]`,
      );
      assert.equal(failures, 0);
      assert.ok(alone > 0, 'the crawl makes progress on its own');
      assert.ok(Math.min(...searchRates) > 0, 'the searchers got answers');
      // Fair sharing gives the crawl about half the machine; before, it got ~1/30 (its reads queued behind
      // every search's). A quarter of its solo rate leaves room for a noisy machine.
      assert.ok(shared >= 0.25 * alone, `the crawl keeps going while 30 clients search: ${shared.toFixed(2)} vs ${alone.toFixed(2)} pages/s alone`);
      await call('/cancel_job', { job_id });
    } finally {
      await app.close();
      await ctx.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('/health while the database is slow to answer', () => {
  it('answers within about a quarter of a second with the last counts while long queries hold every reader, then with fresh counts again', async () => {
    const ctx = await makeContext({});
    await addPages(ctx, [{ id: 'p1', title: 'One', markdown: '# One\n\nSome text.' }]);
    const app = await buildHttpApp(ctx, {});
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const health = async () => {
      const t = performance.now();
      const r = await fetch(`${base}/health`);
      return { ms: performance.now() - t, status: r.status, body: (await r.json()) as { pages: number; chunks: number } };
    };
    try {
      const first = await health();
      assert.deepEqual([first.status, first.body.pages], [200, 1]);
      // every reader connection busy for seconds (a search or a count waits for one, as it waits behind a large commit)
      const busy = Array.from({ length: 2 }, () => ctx.store.db.all('SELECT sum(hash(i)) AS s FROM range(600000000) t(i)'));
      await new Promise((r) => setTimeout(r, 100));
      const during = await health();
      let finished = false;
      await Promise.race([Promise.all(busy).then(() => (finished = true)), new Promise((r) => setTimeout(r, 0))]);
      assert.ok(!finished, 'the long queries still ran when /health answered');
      assert.equal(during.status, 200);
      assert.deepEqual([during.body.pages, during.body.chunks], [first.body.pages, first.body.chunks], 'the last counts');
      assert.ok(during.ms < 1500, `/health took ${Math.round(during.ms)} ms`);
      await Promise.all(busy);
      await addPages(ctx, [{ id: 'p2', title: 'Two', markdown: '# Two\n\nMore text.' }]);
      assert.equal((await health()).body.pages, 2, 'fresh counts once the readers are free');
    } finally {
      await app.close();
      await ctx.close();
    }
  });
});
