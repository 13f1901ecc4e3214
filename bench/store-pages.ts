/**
 * Store benchmark: the write side of a crawl alone. Real documentation pages are processed first (extraction,
 * chunks, lexical vectors, keyword terms: not timed), then stored the way a crawl stores them: page-writer's
 * writePage through a GroupWriter with 32 pages in flight (as a crawl of concurrency 8 has), each page's links added to the frontier and its
 * frontier entry marked done in the page's transaction. Reports process CPU (every thread, DuckDB's included)
 * and wall time per page and per chunk.
 * Run: `npm run bench:store [-- --dir DIR --limit N --in-flight N]`
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { createEmbedder } from '../src/embed/index.js';
import { GroupWriter } from '../src/ingest/group-writer.js';
import { writePage } from '../src/ingest/page-writer.js';
import { processPage } from '../src/ingest/process-page.js';
import { FrontierStore } from '../src/store/frontier.js';
import { openStore } from '../src/store/store.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/usr/share/doc/postgresql-doc-15/html' },
    limit: { type: 'string', default: '600' },
    // the crawler keeps up to 4x its concurrency (8) of pages in flight, most of them waiting for a commit
    'in-flight': { type: 'string', default: '32' },
  },
});

function htmlFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) htmlFiles(p, out);
    else if (name.endsWith('.html')) out.push(p);
  }
  return out;
}

const dir = values.dir!;
const chunking = { maxChars: 1000, overlap: 200 };
const pages = htmlFiles(dir)
  .slice(0, Number(values.limit))
  .map((f) => {
    const url = `http://127.0.0.1/${relative(dir, f)}`;
    return { url, ...processPage({ body: readFileSync(f, 'utf8'), contentType: 'text/html', url, chunking, lexicalDimension: 1536, keywordTerms: true }) };
  })
  .filter((p) => p.page.markdown.trim().length > 0);

const tmp = mkdtempSync(join(tmpdir(), 'doctor-store-bench-'));
const store = await openStore({ path: join(tmp, 'b.duckdb'), embedding: { provider: 'lexical', model: 'lexical-hash-v1', dimension: 1536 } });
const embedder = createEmbedder({ provider: 'lexical', model: 'lexical-hash-v1', dimension: 1536 } as never);
const frontier = new FrontierStore(store.db);
const writer = new GroupWriter(store.db);
const jobId = randomUUID();
await frontier.add(jobId, pages.map((p) => ({ url: p.url, depth: 1, parent_page_id: null })));

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const c0 = cpu();
const t0 = performance.now();
let next = 0;
const known = new Set(pages.map((p) => p.url));
let chunks = 0;
async function lane(): Promise<void> {
  while (next < pages.length) {
    const p = pages[next++]!;
    const id = randomUUID();
    // like the crawler: only links not seen before go to the frontier, in the group commit
    const fresh = p.page.links.filter((url) => !known.has(url)).map((url) => ({ url, depth: 2, parent_page_id: id }));
    for (const f of fresh) known.add(f.url);
    if (fresh.length) await writer.write((tx) => frontier.add(jobId, fresh, tx).then(() => undefined));
    await writePage(
      { store, embedder, writer, chunking },
      {
        id, url: p.url, page: p.page, chunks: p.chunks, vectors: p.vectors, terms: p.terms, existing: undefined, tags: ['bench'],
        job_id: jobId, parent_page_id: null, root_page_id: id, depth: 1,
        alsoInTx: (tx) => frontier.mark(jobId, p.url, 'done', { page_id: id }, tx),
      },
    );
    chunks += p.chunks.length;
  }
}
await Promise.all(Array.from({ length: Number(values['in-flight']) }, lane));
const wall = performance.now() - t0;
const used = cpu() - c0;
console.log(
  `${dir}: ${pages.length} pages, ${chunks} chunks (${(chunks / pages.length).toFixed(1)}/page): ` +
    `${(used / pages.length).toFixed(2)} ms CPU/page, ${((used / chunks) * 1000).toFixed(0)} µs CPU/chunk, ` +
    `${(wall / pages.length).toFixed(2)} ms wall/page (${((pages.length / wall) * 1000).toFixed(0)} pages/s)`,
);
await store.close();
rmSync(tmp, { recursive: true, force: true });
