/** A real Doctor context for tests: a DuckDB file (or :memory:), the lexical embedder, a quiet logger. */
import { join } from 'node:path';
import { loadConfig, type ConfigOverrides } from '../../src/config/config.js';
import type { Embedder } from '../../src/embed/embedder.js';
import { LexicalEmbedder } from '../../src/embed/lexical.js';
import { JobRunner } from '../../src/ingest/job-runner.js';
import { silentLogger } from '../../src/log.js';
import type { DoctorContext } from '../../src/service/context.js';
import { openStore } from '../../src/store/store.js';
import { tempDir } from './tmp.js';

export type TestContext = DoctorContext & { runner?: JobRunner; close(): Promise<void> };

export async function makeContext(
  opts: { dbPath?: string; embedder?: Embedder; config?: ConfigOverrides; runner?: boolean; vectorEngine?: 'exact' | 'usearch' } = {},
): Promise<TestContext> {
  const dbPath = opts.dbPath ?? join(tempDir(), 'doctor.duckdb');
  const config = loadConfig({ dbPath, allowHosts: '127.0.0.1', perHostDelayMs: 0, logLevel: 'silent', ...opts.config }, {});
  const embedder = opts.embedder ?? new LexicalEmbedder(256);
  const store = await openStore({
    path: dbPath,
    embedding: { provider: embedder.provider, model: embedder.model, dimension: embedder.dimension },
    // Without an engine the exact one answers; 'usearch' builds the index file beside the database.
    vector: opts.vectorEngine ? { ...config, vectorEngine: opts.vectorEngine, log: silentLogger, options: { allowVssInstall: false } } : undefined,
  });
  const ctx: TestContext = {
    config,
    store,
    embedder,
    log: silentLogger,
    close: async () => {
      await ctx.runner?.stop();
      await store.close();
    },
  };
  if (opts.runner !== false) {
    ctx.runner = new JobRunner(ctx);
    ctx.jobs = ctx.runner;
    await ctx.runner.start();
  }
  return ctx;
}
