/**
 * For bench/workers.ts: a crawl worker that computes every page's result (extraction, chunks, vectors) of a
 * directory before the run, then answers each page job at once from that: the server is the only limit.
 * Usage: node --import tsx bench/replay-worker.ts <redis url> <html dir> <site url> <dimension>
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { chunkMarkdown, chunkSearchText } from '../src/ingest/extract/chunker.js';
import { extractPage } from '../src/ingest/extract/extract.js';
import { encodeVectors, PAGES_QUEUE, PREFIX, PROTOCOL_VERSION, RESULTS_QUEUE, type PageRequest, type PageResult, type ResultOutcome } from '../src/ingest/remote/protocol.js';
import { normalizeUrl } from '../src/ingest/fetch/url.js';

const [redisUrl, dir, siteUrl, dim] = process.argv.slice(2) as [string, string, string, string];
const embedder = new LexicalEmbedder(Number(dim));
const ready = new Map<string, ResultOutcome>();
for (const name of readdirSync(dir).filter((f) => f.endsWith('.html'))) {
  const url = normalizeUrl(siteUrl + name)!;
  const page = extractPage({ body: readFileSync(join(dir, name), 'utf8'), contentType: 'text/html', url });
  const chunks = chunkMarkdown(page.markdown, { maxChars: 1000, overlap: 200, title: page.title });
  const vectors = chunks.length ? await embedder.embed(chunks.map((c) => chunkSearchText(c, page.title))) : [];
  ready.set(url, { kind: 'page', final_url: url, title: page.title, markdown: page.markdown, links: page.links, text_length: page.textLength, chunks, vectors: encodeVectors(vectors, embedder.dimension), dimension: embedder.dimension });
}
const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
const results = new Queue(RESULTS_QUEUE, { connection, prefix: PREFIX });
const identity = { provider: embedder.provider, model: embedder.model, dimension: embedder.dimension };
const worker = new Worker(
  PAGES_QUEUE,
  async (job: Job) => {
    const d = job.data as PageRequest;
    const outcome: ResultOutcome = ready.get(d.url) ?? { kind: 'skipped', reason: 'not in the directory' };
    const result: PageResult = { v: PROTOCOL_VERSION, request: d.request, crawl_job_id: d.crawl_job_id, url: d.url, worker: 'replay', embedding: identity, outcome };
    await results.add('result', result, { jobId: d.request, removeOnComplete: true, removeOnFail: true });
  },
  { connection: new Redis(redisUrl, { maxRetriesPerRequest: null }), prefix: PREFIX, concurrency: 64 },
);
worker.on('error', () => {});
process.stderr.write(`replay worker ready (${ready.size} pages)\n`);
process.once('SIGTERM', () => void worker.close(true).then(() => process.exit(0)));
