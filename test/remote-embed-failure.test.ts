/**
 * A crawl through Redis workers (`doctor serve --redis`, `doctor worker`) whose workers' embeddings API is
 * down stops as an in-process crawl does: after a few pages in a row fail to embed on the workers, failed,
 * with the same message; it does not walk the whole site. One page the API refuses is only skipped.
 * Real parts: redis-server on a free loopback port, BullMQ, a worker, a site and an OpenAI-compatible
 * embeddings server on 127.0.0.1, the server's DuckDB file.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OpenAIEmbedder } from '../src/embed/openai.js';
import { EMBED_FAILURES_TO_STOP, UNREACHABLE_EMBED_FAILURES_TO_STOP } from '../src/ingest/embed-failures.js';
import type { PageWorker } from '../src/ingest/remote/page-worker.js';
import { deadEmbeddingsUrl, EMBED_DIM, SITE_PAGES, startEmbeddings, startSite } from './helpers/embeddings-api.js';
import { RedisServer } from './helpers/redis-server.js';
import { startLocalServer, startWorker } from './helpers/remote.js';
import { tempDir } from './helpers/tmp.js';

const MODEL = 'test-embed';

describe('a crawl through Redis workers whose embeddings API fails', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await RedisServer.start();
  });
  after(async () => {
    await redis?.kill();
  });

  /** The server (its own embedder is never called: the workers embed) and one worker embedding through `workerApi`. */
  async function crawl(workerApi: string, site: string, maxPages: number) {
    const dir = tempDir();
    const server = await startLocalServer(dir, redis.url, {
      embeddingProvider: 'openai',
      embeddingModel: MODEL,
      embeddingDimension: EMBED_DIM,
      openaiBaseUrl: workerApi,
      redisPagesInFlight: 8,
    });
    let worker: PageWorker | undefined;
    try {
      // one retry: the embedder's own retries still happen before a page counts as failed
      worker = await startWorker(redis.url, {}, new OpenAIEmbedder({ apiKey: 'k', baseUrl: workerApi, model: MODEL, dimension: EMBED_DIM, maxRetries: 1 }));
      const started = await server.api('POST', '/fetch_url', { url: `${site}/p/0.html`, max_pages: maxPages, max_depth: 2 });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const job = await server.waitForJob(started.body.job_id);
      const pages = await server.api('GET', '/health');
      return { job, worker: worker.id, stored: pages.body.pages as number };
    } finally {
      await worker?.close();
      await server.close();
    }
  }

  it('answering 500: the crawl stops, failed, after 5 pages in a row, with the in-process crawl\'s message', async () => {
    const site = await startSite();
    const api = await startEmbeddings({ okRequests: 3, failStatus: 500 });
    try {
      const { job, worker, stored } = await crawl(api.base, site.url, 1000);
      assert.equal(job.status, 'failed', `status ${job.status}: ${job.error_message}`);
      const msg: string = job.error_message ?? '';
      assert.match(msg, new RegExp(`^the crawl stopped: ${EMBED_FAILURES_TO_STOP} pages in a row could not be embedded \\(openai model "${MODEL}"\\)`), msg);
      // the cause, from the worker that saw it
      assert.ok(msg.includes(`crawl worker ${worker}: the embeddings API at ${api.base} answered 500: the model server fell over after 1 retries`), msg);
      assert.match(msg, /OPENAI_BASE_URL.*then crawl the site again/, msg);
      // far fewer pages fetched than the site has: the frontier was not walked
      assert.ok(site.fetched() < 40, `pages fetched: ${site.fetched()}`);
      assert.ok(job.pages_discovered >= SITE_PAGES, `the site is larger (${job.pages_discovered} found)`);
      // the pages embedded before the API went down are kept
      assert.equal(job.pages_crawled, 3);
      assert.equal(stored, 3);
      assert.ok((job.skipped as { reason: string }[]).some((s) => /answered 500/.test(s.reason)), JSON.stringify(job.skipped));
    } finally {
      await api.close();
      await site.close();
    }
  });

  it('unreachable from the worker: the crawl stops after 3 pages in a row, naming the address', async () => {
    const site = await startSite();
    const base = await deadEmbeddingsUrl();
    try {
      const { job, stored } = await crawl(base, site.url, 1000);
      assert.equal(job.status, 'failed', `status ${job.status}: ${job.error_message}`);
      const msg: string = job.error_message ?? '';
      assert.match(msg, new RegExp(`${UNREACHABLE_EMBED_FAILURES_TO_STOP} pages in a row could not be embedded`), msg);
      assert.ok(msg.includes(`cannot reach the embeddings API at ${base}/embeddings`), msg);
      assert.equal(stored, 0);
      assert.ok(site.fetched() < 40, `pages fetched: ${site.fetched()}`);
    } finally {
      await site.close();
    }
  });

  it('one page the API refuses is skipped with the reason; the crawl follows its links and completes', async () => {
    // the start page is the refused one: its links are still followed, as in an in-process crawl
    const site = await startSite(new Set([0, 5]));
    const api = await startEmbeddings({ okRequests: Infinity, failStatus: 500 });
    try {
      const { job, stored } = await crawl(api.base, site.url, 20);
      assert.equal(job.status, 'completed', job.error_message ?? '');
      assert.equal(job.pages_crawled, 20);
      assert.equal(stored, 20);
      for (const n of [0, 5]) {
        const reason = (job.skipped as { url: string; reason: string }[]).find((s) => s.url.endsWith(`/p/${n}.html`))?.reason ?? '';
        assert.match(reason, /crawl worker .*answered 500/, JSON.stringify(job.skipped));
      }
    } finally {
      await api.close();
      await site.close();
    }
  });
});
