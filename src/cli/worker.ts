/** `doctor worker` (a remote crawl worker) and `doctor workers` (the workers a server has). */
import type { Command } from 'commander';
import { openConfiguredEmbedder } from '../app/open.js';
import { createLogger } from '../log.js';
import { describeEmbedding } from '../ingest/remote/protocol.js';
import { configFrom } from './global.js';
import { withBackend } from './run-with-backend.js';
import { intOption, printJson, println } from './output.js';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('fetch, extract, chunk and embed crawl pages for a `doctor serve --redis` server (no database; run any number, anywhere)')
    .option('--redis <url>', 'the server\'s Redis, e.g. redis://host:6379 (env DOCTOR_REDIS_URL)')
    .option('--concurrency <n>', 'pages at once (env DOCTOR_WORKER_CONCURRENCY; default 8)', intOption('--concurrency'))
    .option('--allow-hosts <hosts>', 'hosts/IPs/CIDRs this worker may reach despite the SSRF guard (env DOCTOR_ALLOW_HOSTS)')
    .action(async (o: { redis?: string; concurrency?: number; allowHosts?: string }, cmd: Command) => {
      const config = configFrom(
        cmd,
        { redisUrl: o.redis, workerConcurrency: o.concurrency, allowHosts: o.allowHosts },
        { redisUrl: '--redis', workerConcurrency: '--concurrency' },
        'info',
      );
      if (!config.redisUrl) throw new Error('doctor worker needs the server\'s Redis: --redis redis://host:6379 or DOCTOR_REDIS_URL');
      // loaded here, not with the CLI: BullMQ takes seconds to import on a busy machine
      const { PageWorker, WorkerRefused } = await import('../ingest/remote/page-worker.js');
      const log = createLogger(config.logLevel);
      const embedder = await openConfiguredEmbedder(config, log);
      const worker = new PageWorker({ redisUrl: config.redisUrl, config, embedder, log, concurrency: config.workerConcurrency, lockMs: config.workerLockMs });
      const stop = async () => {
        await worker.close();
        await embedder.close?.();
      };
      try {
        await worker.start();
      } catch (e) {
        await stop();
        if (e instanceof WorkerRefused) throw new Error(`this worker is refused: ${e.message}`);
        throw e;
      }
      process.stderr.write(`Doctor worker ${worker.id} is taking crawl pages (${describeEmbedding(worker.embedding)}). Ctrl-C to stop.\n`);
      await new Promise<void>((resolve, reject) => {
        const onSignal = () => {
          process.stderr.write('Stopping: finishing the pages in progress...\n');
          stop().then(resolve, resolve);
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        worker.refusedLater.catch((e: Error) => stop().then(() => reject(new Error(`this worker is refused: ${e.message}`))));
      });
    });

  program
    .command('workers')
    .description('list the remote crawl workers connected to the server (doctor serve --redis) and their throughput')
    .option('--json', 'print the raw JSON result')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const res = await b.listWorkers({});
        if (o.json) return printJson(res);
        if (!res.remote) return println('This Doctor crawls in-process: start the server with --redis (DOCTOR_REDIS_URL) to use remote workers.');
        if (res.workers.length === 0) return println('No worker connected: start one with doctor worker --redis <url>');
        println(`${res.workers.length} worker(s), ${res.pages_last_minute} pages in the last minute`);
        for (const w of res.workers) {
          const state = w.refused ? `REFUSED: ${w.refused}` : `${w.active}/${w.concurrency} busy`;
          println(
            `${w.id}  ${w.pages_last_minute} pages/min  ${w.pages_done} stored, ${w.pages_skipped} skipped, ${w.pages_failed} failed, ${w.chunks} chunks  ` +
              `${state}  ${describeEmbedding(w.embedding)}  seen ${w.last_seen}`,
          );
        }
      });
    });
}
