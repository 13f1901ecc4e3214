/**
 * `doctor reembed`: re-embeds every stored chunk with the configured embedding model and then switches
 * the database to it (src/service/reembed.ts). Resumable: interrupted (Ctrl-C, a kill, a crash), it
 * continues from the batches already stored the next time it runs.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { openApp, openConfiguredEmbedder } from '../app/open.js';
import { progressView, type ProgressView } from '../app/progress-view.js';
import { readServerInfo } from '../app/server-info.js';
import { Database } from '../db/database.js';
import { describeLocal } from '../embed/index.js';
import { createLogger } from '../log.js';
import { reembed, type ReembedProgress } from '../service/reembed.js';
import { abandonReembed, pendingReembed, reembedCounts } from '../store/reembed.js';
import { configFrom } from './global.js';
import { intOption, printJson, println } from './output.js';

export function registerReembed(program: Command): void {
  program
    .command('reembed')
    .description('re-embed every stored chunk with the configured embedding model, then switch the database to it (resumable)')
    .option('--batch-size <n>', 'chunks per committed batch (default 256)', intOption('--batch-size', 1))
    .option('--abandon', 'drop an unfinished re-embedding (its new vectors) and keep the current model')
    .option('--json', 'print the result as JSON')
    .action(async (o: { batchSize?: number; abandon?: boolean; json?: boolean }, cmd: Command) => {
      // No vector index is built here (it would compete for the CPU); `doctor serve` builds it from the new vectors.
      const config = configFrom(cmd, { vectorEngine: 'exact' });
      const server = await readServerInfo(config);
      if (server) {
        throw new Error(
          `A Doctor server (${server.url}, pid ${server.pid}) holds ${config.dbPath}. Stop it, run \`doctor reembed\`, ` +
            'then start it again with the new model configured (searches answer with the old model until the switch).',
        );
      }
      if (config.dbPath === ':memory:' || !existsSync(config.dbPath)) {
        throw new Error(`No Doctor database at ${config.dbPath}: nothing to re-embed (pass --db-path or --data-dir).`);
      }
      const log = createLogger(config.logLevel);
      if (o.abandon) return abandon(config, log, o.json);

      const target = await openConfiguredEmbedder(config, log);
      let ctx;
      try {
        ctx = await openApp(config, { log, embedder: target, keepRecordedEmbedding: true });
      } catch (e) {
        await target.close?.();
        throw e;
      }
      const view = reembedProgress();
      const abort = new AbortController();
      const onSignal = () => abort.abort(new Error('interrupted'));
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        if (!o.json) {
          println(`re-embedding ${config.dbPath}: ${ctx.store.embedding.provider}/${ctx.store.embedding.model} (${ctx.store.embedding.dimension}-d) -> ${target.provider === 'local' ? describeLocal(target) : `${target.provider}/${target.model} (${target.dimension}-d)`}`);
        }
        const result = await reembed(ctx, { target, batchSize: o.batchSize, signal: abort.signal, onProgress: (p) => view.update(p) });
        view.stop();
        if (o.json) return printJson(result);
        if (result.status === 'unchanged') return println(`The database already holds ${result.to.model} vectors (${result.chunks} chunks): nothing to do.`);
        println(
          `switched ${result.chunks} chunks to ${result.to.provider}/${result.to.model} (${result.to.dimension}-d) in ${result.seconds.toFixed(1)} s` +
            `${result.resumed ? ` (${result.resumed} were embedded by an earlier run)` : ''}; ${result.chunksPerSecond.toFixed(1)} chunks/s.`,
        );
        println('Start Doctor with this model configured from now on; the vector index is rebuilt from the new vectors at the next start.');
      } catch (e) {
        view.stop();
        if (abort.signal.aborted) {
          const c = await reembedCounts(ctx.store.db).catch(() => undefined);
          throw new Error(`interrupted${c ? ` with ${c.done} of ${c.total} chunks re-embedded` : ''}: the old vectors stay active; run \`doctor reembed\` again to continue.`);
        }
        throw e;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await ctx.close();
        await target.close?.();
      }
    });
}

async function abandon(config: ReturnType<typeof configFrom>, log: ReturnType<typeof createLogger>, json?: boolean): Promise<void> {
  // Abandoning needs no embedder: the database is opened as is.
  const db = await Database.open(config.dbPath, { threads: config.duckdbThreads });
  try {
    const pending = await pendingReembed(db);
    if (!pending) return json ? printJson({ abandoned: null }) : println('No re-embedding is pending.');
    await abandonReembed(db);
    log.info({ target: pending.target }, 'abandoned a re-embedding');
    return json ? printJson({ abandoned: pending.target }) : println(`Dropped the unfinished re-embedding to ${pending.target.provider}/${pending.target.model}; the current vectors stay.`);
  } finally {
    await db.close();
  }
}

function reembedProgress(): ProgressView<ReembedProgress> {
  const pct = (p: ReembedProgress) => (p.total ? Math.floor((p.done / p.total) * 10) * 10 : 100);
  return progressView<ReembedProgress>({
    format: 're-embedding [{bar}] {value}/{total} chunks | {eta_formatted} left {detail}',
    value: (p) => p.done,
    total: (p) => p.total,
    payload: (p) => ({ detail: p.detail ?? '' }),
    line: (p) => (p.phase === 'waiting' ? `re-embedding: ${p.detail}` : `re-embedding: ${p.done}/${p.total} chunks (${pct(p)}%)`),
    key: (p) => (p.phase === 'waiting' ? `${p.detail}` : `${p.phase} ${pct(p)}`),
  });
}
