/**
 * The evaluation corpus: Debian's `postgresql-doc-15` and `sqlite3-doc` HTML, served on 127.0.0.1 and crawled
 * into a DuckDB file with the lexical embedder (1536-d), like a user's `doctor crawl --allow-hosts 127.0.0.1`.
 * The file is cached under bench/.data/eval/ and reused while the packages, the chunker settings and the
 * crawl parameters are the same (a JSON stamp beside it says what it holds).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { LexicalEmbedder } from '../../src/embed/lexical.js';
import { JobRunner } from '../../src/ingest/job-runner.js';
import { silentLogger } from '../../src/log.js';
import type { DoctorContext } from '../../src/service/context.js';
import { openStore } from '../../src/store/store.js';
import { serveDirectory } from '../../src/cli/static-site.js';

/** The two documentation sites, as directories under /usr/share/doc (served from that root). */
export const SITES = [
  { key: 'postgresql', pkg: 'postgresql-doc-15', dir: '/usr/share/doc/postgresql-doc-15/html', start: 'postgresql-doc-15/html/index.html', maxPages: 1500 },
  { key: 'sqlite', pkg: 'sqlite3-doc', dir: '/usr/share/doc/sqlite3', start: 'sqlite3/index.html', maxPages: 1500 },
] as const;
export type SiteKey = (typeof SITES)[number]['key'];
const DOC_ROOT = '/usr/share/doc';
export const EVAL_DIM = 1536;

/** A stored page URL as `site:path` (e.g. `postgresql:sql-insert.html`), the form the query file uses. */
export function pageRef(url: string): string | undefined {
  const path = new URL(url).pathname.replace(/^\/+/, '');
  for (const s of SITES) {
    const prefix = s.start.slice(0, s.start.lastIndexOf('/') + 1);
    if (path.startsWith(prefix)) return `${s.key}:${path.slice(prefix.length)}`;
  }
  return undefined;
}

function packageVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of SITES) {
    if (!existsSync(s.dir)) {
      throw new Error(`${s.dir} not found: install the documentation with \`apt-get install ${SITES.map((x) => x.pkg).join(' ')}\`.`);
    }
    try {
      out[s.pkg] = execFileSync('dpkg-query', ['-W', '-f=${Version}', s.pkg], { encoding: 'utf8' }).trim();
    } catch {
      out[s.pkg] = 'unknown';
    }
  }
  return out;
}

export interface Corpus {
  path: string;
  /** True when the database was crawled by this call (false: reused from the cache). */
  crawled: boolean;
  pages: number;
  chunks: number;
  seconds?: number;
}

/**
 * Returns a database holding both sites: the cached one when its stamp matches, else a fresh crawl.
 * `fresh` forces a new crawl.
 */
export async function ensureCorpus(opts: { path: string; fresh?: boolean; log?: (s: string) => void }): Promise<Corpus> {
  const log = opts.log ?? (() => {});
  const config = loadConfig({ dbPath: opts.path, allowHosts: '127.0.0.1', perHostDelayMs: 0, perHostConcurrency: 8, crawlConcurrency: 4, render: 'never', logLevel: 'silent', vectorEngine: 'exact' }, {});
  const stamp = JSON.stringify({
    packages: packageVersions(),
    sites: SITES.map((s) => [s.start, s.maxPages]),
    chunkSize: config.chunkSize,
    chunkOverlap: config.chunkOverlap,
    embedder: new LexicalEmbedder(EVAL_DIM).model,
    version: 1,
  });
  const stampPath = `${opts.path}.json`;
  if (!opts.fresh && existsSync(opts.path) && existsSync(stampPath) && readFileSync(stampPath, 'utf8') === stamp) {
    const store = await openStore({ path: opts.path, embedding: new LexicalEmbedder(EVAL_DIM) });
    const counts = { pages: (await store.pages.list({ limit: 1 })).total, chunks: await store.chunks.count() };
    await store.close();
    return { path: opts.path, crawled: false, ...counts };
  }
  mkdirSync(dirname(opts.path), { recursive: true });
  for (const f of [opts.path, `${opts.path}.wal`, stampPath]) rmSync(f, { force: true });

  const { url, server } = await serveDirectory(DOC_ROOT);
  const embedder = new LexicalEmbedder(EVAL_DIM);
  const store = await openStore({ path: opts.path, embedding: embedder });
  const ctx: DoctorContext = { config, store, embedder, log: silentLogger };
  const runner = new JobRunner(ctx);
  ctx.jobs = runner;
  const t0 = performance.now();
  try {
    await runner.start();
    for (const s of SITES) {
      const jobId = `eval-${s.key}`;
      await runner.submit({ job_id: jobId, start_url: url + s.start, max_pages: s.maxPages, max_depth: 20, tags: [s.key], options: { scope: 'prefix' } });
      const stop = runner.onProgress(jobId, (j) => log(`\rcrawling ${s.key}: ${j.pages_crawled} pages`));
      const job = await runner.waitFor(jobId);
      stop();
      log(`\rcrawled ${s.key}: ${job.pages_crawled} pages (${job.status})\n`);
      if (job.status !== 'completed') throw new Error(`crawl of ${s.key} ended ${job.status}: ${job.error_message ?? ''}`);
    }
  } finally {
    await runner.stop();
    server.close();
  }
  const counts = { pages: (await store.pages.list({ limit: 1 })).total, chunks: await store.chunks.count() };
  await store.close();
  writeFileSync(stampPath, stamp);
  return { path: opts.path, crawled: true, seconds: (performance.now() - t0) / 1000, ...counts };
}

export const DEFAULT_CORPUS_PATH = join('bench', '.data', 'eval', 'docs.duckdb');
