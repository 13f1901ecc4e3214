/**
 * A crawl whose embeddings API is down stops after a few pages in a row fail to embed, failed with a message
 * naming the cause and what to do; it does not walk the whole site. One page the API refuses does not stop it.
 * Real parts: a site and an OpenAI-compatible embeddings server on 127.0.0.1, a DuckDB file.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { OpenAIEmbedder } from '../src/embed/openai.js';
import { EMBED_FAILURES_TO_STOP, UNREACHABLE_EMBED_FAILURES_TO_STOP } from '../src/ingest/embed-failures.js';
import { fetchUrl, jobProgress } from '../src/service/jobs.js';
import { makeContext } from './helpers/context.js';
import { deadEmbeddingsUrl, EMBED_DIM as DIM, SITE_PAGES as PAGES, startEmbeddings, startSite } from './helpers/embeddings-api.js';

describe('a crawl whose embeddings API is down', () => {
  let site: Awaited<ReturnType<typeof startSite>>;
  beforeEach(async () => {
    site = await startSite();
  });
  afterEach(() => site.close());

  it('answering 500: stops, failed, after a few pages in a row, keeping the pages stored before', async () => {
    const api = await startEmbeddings({ okRequests: 3, failStatus: 500 });
    // one retry: the embedder's own retries still happen before a page counts as failed
    const embedder = new OpenAIEmbedder({ apiKey: 'k', baseUrl: api.base, model: 'test-embed', dimension: DIM, maxRetries: 1 });
    const ctx = await makeContext({ embedder, config: { render: 'never', crawlConcurrency: 3 } });
    try {
      const { job_id } = await fetchUrl(ctx, { url: `${site.url}/p/0.html`, max_pages: 1000, max_depth: 2 });
      await ctx.runner!.waitFor(job_id);
      const job = await jobProgress(ctx, { job_id });
      assert.equal(job.status, 'failed', `status ${job.status}: ${job.error_message}`);
      const msg = job.error_message ?? '';
      assert.match(msg, new RegExp(`${EMBED_FAILURES_TO_STOP} pages in a row could not be embedded`), msg);
      assert.match(msg, /embeddings API at http:\/\/127\.0\.0\.1:\d+\/v1 answered 500: the model server fell over after 1 retries/, msg);
      assert.match(msg, /OPENAI_BASE_URL.*then crawl the site again/, msg);
      // far fewer pages fetched than the site has: the frontier was not walked
      assert.ok(site.fetched() <= 3 + EMBED_FAILURES_TO_STOP + 3 + 2, `pages fetched: ${site.fetched()}`);
      assert.ok(job.pages_discovered >= PAGES, `the site is larger (${job.pages_discovered} found)`);
      // the pages embedded before the API went down are kept, searchable, and the job row counts them
      assert.equal(await ctx.store.pages.count(), 3);
      assert.equal(job.pages_crawled, 3);
      assert.ok((await ctx.store.chunks.count()) >= 3);
      assert.ok(job.pages_skipped >= EMBED_FAILURES_TO_STOP - 1, `skipped ${job.pages_skipped}`);
      assert.ok(job.skipped.some((s) => /answered 500/.test(s.reason)), JSON.stringify(job.skipped));
    } finally {
      await ctx.close();
      await api.close();
    }
  });

  it('unreachable (connection refused): stops, failed, naming the address', async () => {
    const base = await deadEmbeddingsUrl();
    const embedder = new OpenAIEmbedder({ baseUrl: base, model: 'test-embed', dimension: DIM, maxRetries: 0 });
    const ctx = await makeContext({ embedder, config: { render: 'never', crawlConcurrency: 2 } });
    try {
      const { job_id } = await fetchUrl(ctx, { url: `${site.url}/p/0.html`, max_pages: 1000, max_depth: 2 });
      await ctx.runner!.waitFor(job_id);
      const before = site.fetched();
      const job = await jobProgress(ctx, { job_id });
      assert.equal(job.status, 'failed', `status ${job.status}: ${job.error_message}`);
      const msg = job.error_message ?? '';
      assert.match(msg, new RegExp(`${UNREACHABLE_EMBED_FAILURES_TO_STOP} pages in a row could not be embedded`), msg);
      assert.ok(msg.includes(`cannot reach the embeddings API at ${base}/embeddings`), msg);
      assert.match(msg, /ECONNREFUSED/, msg);
      assert.equal(await ctx.store.pages.count(), 0);
      assert.ok(before <= UNREACHABLE_EMBED_FAILURES_TO_STOP + 2 + 2, `pages fetched: ${before}`);
      // and nothing goes on in the background once the job has ended
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(site.fetched(), before);
    } finally {
      await ctx.close();
    }
  });
});

describe('a crawl with one page the embeddings API refuses', () => {
  it('skips that page with the reason and completes', async () => {
    const site = await startSite(new Set([5]));
    const api = await startEmbeddings({ okRequests: Infinity, failStatus: 500 });
    const embedder = new OpenAIEmbedder({ apiKey: 'k', baseUrl: api.base, model: 'test-embed', dimension: DIM, maxRetries: 1 });
    const ctx = await makeContext({ embedder, config: { render: 'never', crawlConcurrency: 3 } });
    try {
      const { job_id } = await fetchUrl(ctx, { url: `${site.url}/p/0.html`, max_pages: 30, max_depth: 2 });
      await ctx.runner!.waitFor(job_id);
      const job = await jobProgress(ctx, { job_id });
      assert.equal(job.status, 'completed', job.error_message ?? '');
      // max_pages counts pages stored: the crawl went on past the refused page
      assert.equal(job.pages_crawled, 30);
      const reason = job.skipped.find((s) => s.url.endsWith('/p/5.html'))?.reason ?? '';
      assert.match(reason, /answered 500/, JSON.stringify(job.skipped));
      assert.equal(await ctx.store.pages.count(), 30);
    } finally {
      await ctx.close();
      await api.close();
      await site.close();
    }
  });
});
