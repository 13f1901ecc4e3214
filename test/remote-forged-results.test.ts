/**
 * Results forged in Redis (anyone who reaches it can write one): the server holds a worker's result to what
 * its own crawl would have made of the page, stores nothing else, says why, and never crashes. A forger
 * here answers the server's page requests on the `results` queue instead of a worker.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { RedisServer } from './helpers/redis-server.js';
import { tempDir } from './helpers/tmp.js';
import { startLocalServer } from './helpers/remote.js';
import { chunkMarkdown, chunkSearchText } from '../src/ingest/extract/chunker.js';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { encodeVectors, PREFIX, PROTOCOL_VERSION, type PageRequest, type PageResult } from '../src/ingest/remote/protocol.js';

const embedder = new LexicalEmbedder(256);
const SITE = 'http://127.0.0.1:9/docs';
type Page = Extract<PageResult['outcome'], { kind: 'page' }>;
type Forge = (d: PageRequest, raw: Redis) => Promise<unknown>;

/** The result a worker makes for the request, with this Markdown (by default, one of its own per URL) and links. */
async function honest(d: PageRequest, markdown = `# Title\n\n${`Some text about widgets on ${d.url}. `.repeat(40)}`, links: string[] = []): Promise<PageResult & { outcome: Page }> {
  const chunks = chunkMarkdown(markdown, { maxChars: d.chunking.max_chars, overlap: d.chunking.overlap, title: 'Title' });
  const vectors = await embedder.embed(chunks.map((c) => chunkSearchText(c, 'Title')));
  return {
    v: PROTOCOL_VERSION,
    request: d.request,
    crawl_job_id: d.crawl_job_id,
    url: d.url,
    worker: 'forger',
    embedding: d.embedding,
    outcome: { kind: 'page', final_url: d.url, title: 'Title', markdown, links, text_length: markdown.length, chunks, vectors: encodeVectors(vectors, 256), dimension: 256 },
  };
}

const altered = (change: (o: Page) => void) => async (d: PageRequest) => {
  const r = await honest(d);
  change(r.outcome);
  return r;
};

describe('forged results in Redis', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await RedisServer.start();
  });
  after(async () => {
    await redis?.kill();
  });

  /** Crawls SITE/start.html, which links to one page per case, each answered by its forger. */
  async function crawl(cases: Record<string, Forge>) {
    const dir = tempDir();
    const server = await startLocalServer(dir, redis.url, { maxPageBytes: 1024 * 1024 });
    const raw = new Redis(redis.url);
    // BullMQ does not close a connection it is given: closed below, or its reconnect timer keeps this file running.
    const workerConnection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const results = new Queue('results', { connection: raw, prefix: PREFIX });
    const forger = new Worker(
      'pages',
      async (job: Job) => {
        const d = job.data as PageRequest;
        const name = decodeURIComponent(/\/case-(.*)\.html$/.exec(d.url)?.[1] ?? '');
        const data = name ? await cases[name]!(d, raw) : await honest(d, undefined, Object.keys(cases).map((c) => `${SITE}/case-${encodeURIComponent(c)}.html`));
        if (data !== undefined) await results.add('result', data, { jobId: d.request, removeOnComplete: true });
      },
      { connection: workerConnection, prefix: PREFIX, concurrency: 8 },
    );
    try {
      const started = await server.api('POST', '/fetch_url', { url: `${SITE}/start.html`, max_pages: 50 });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const done = await server.waitForJob(started.body.job_id);
      const listed = (await server.api('GET', '/list_doc_pages')).body;
      const health = await server.api('GET', '/health');
      assert.equal(health.status, 200, 'the server is up');
      const reasons = Object.fromEntries((done.skipped as { url: string; reason: string }[]).map((s) => [decodeURIComponent(/case-(.*)\.html$/.exec(s.url)?.[1] ?? s.url), s.reason]));
      const stored = (listed.doc_pages as { url: string }[]).map((p) => decodeURIComponent(/case-(.*)\.html$/.exec(p.url)?.[1] ?? 'start'));
      return { done, reasons, stored, server };
    } finally {
      await forger.close(true);
      await results.close();
      raw.disconnect();
      workerConnection.disconnect();
      await server.close();
    }
  }

  it('a result the server would not have made itself is refused, saying why; nothing of it is stored', async () => {
    const { reasons, stored, done } = await crawl({
      'out of scope': altered((o) => (o.final_url = 'http://evil.example/x')),
      'wrong dimension': altered((o) => {
        o.dimension = 128;
        o.vectors = Buffer.alloc(o.chunks.length * 128 * 4, 1).toString('base64');
      }),
      NaN: altered((o) => (o.vectors = encodeVectors(o.chunks.map(() => new Float32Array(256).fill(NaN)), 256))),
      huge: altered((o) => (o.vectors = encodeVectors(o.chunks.map(() => new Float32Array(256).fill(3e38)), 256))),
      'many chunks': altered((o) => {
        o.chunks = Array.from({ length: 20_000 }, (_, i) => ({ text: `x${i}`, headingPath: [], index: i }));
        o.vectors = encodeVectors(o.chunks.map(() => new Float32Array(256).fill(0.1)), 256);
      }),
      'other chunk text': altered((o) => (o.chunks[0]!.text = 'buy cheap widgets')),
      'big markdown': async (d) => honest(d, `# T\n\n${'word '.repeat(500_000)}`),
      'no outcome': async (d) => ({ v: PROTOCOL_VERSION, request: d.request, worker: 'forger' }),
      'markdown not a string': altered((o) => ((o as unknown as { markdown: unknown }).markdown = { a: 1 })),
      'links not strings': altered((o) => ((o as unknown as { links: unknown }).links = [1, null, {}])),
      'robots not booleans': altered((o) => ((o as unknown as { robots: unknown }).robots = { noindex: 'yes', nofollow: [] })),
    });
    assert.deepEqual(stored, ['start'], `only the honest page is stored: ${JSON.stringify(done)}`);
    const expect: Record<string, RegExp> = {
      'out of scope': /redirected out of scope to http:\/\/evil\.example\/x/,
      'wrong dimension': /vectors of dimension 128, but this index uses 256/,
      NaN: /non-finite value \(NaN\)/,
      huge: /length .* outside the 0\.0001 to 10000/,
      'many chunks': /20000 chunks, where its Markdown makes \d+/,
      'other chunk text': /chunk 0 other than the one its Markdown makes/,
      'big markdown': /2500005 characters of Markdown, more than a page within DOCTOR_MAX_PAGE_BYTES \(1048576\) makes/,
      'no outcome': /a result without an outcome/,
      'markdown not a string': /the Markdown as object, not a string/,
      'links not strings': /links that are not a list of strings/,
      'robots not booleans': /robots directives that are not \{noindex, nofollow\} booleans/,
    };
    for (const [name, re] of Object.entries(expect)) {
      assert.match(reasons[name] ?? '(not skipped)', re, name);
      if (name !== 'out of scope') assert.match(reasons[name]!, /refused the result of crawl worker forger \(/, name);
    }
  });

  it('a page whose result is unreadable, not a result, or lost in Redis is asked for again, not waited for forever', async () => {
    const asked = new Map<string, number>();
    /** Forges the first answer to a page; answers as a worker from then on. */
    const first = (forge: Forge): Forge => async (d, raw) => {
      const n = (asked.get(d.url) ?? 0) + 1;
      asked.set(d.url, n);
      return n === 1 ? forge(d, raw) : honest(d);
    };
    const t0 = Date.now();
    const { stored, done } = await crawl({
      'null data': first(async () => null),
      'invalid JSON': first(async (d, raw) => {
        const q = new Queue('results', { connection: raw, prefix: PREFIX });
        const job = await q.add('result', { x: 1 }, { jobId: d.request, delay: 200 });
        await raw.hset(`${PREFIX}:results:${job.id}`, 'data', '{not json');
        return undefined;
      }),
      evicted: first(async (d, raw) => {
        // the result was written and then evicted (maxmemory-policy allkeys-lru) or flushed before the server took it
        const r = await honest(d);
        const q = new Queue('results', { connection: raw, prefix: PREFIX });
        const job = await q.add('result', r, { jobId: d.request, delay: 60_000 });
        await raw.del(`${PREFIX}:results:${job.id}`);
        await raw.zrem(`${PREFIX}:results:delayed`, job.id!);
        return undefined;
      }),
    });
    assert.deepEqual(stored.sort(), ['evicted', 'invalid JSON', 'null data', 'start'], JSON.stringify(done));
    assert.equal(done.status, 'completed');
    assert.ok(Date.now() - t0 < 45_000, `asked again within seconds (${Date.now() - t0} ms)`);
  });
});
