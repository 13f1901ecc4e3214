/** `doctor crawl <url>` */
import type { Command } from 'commander';
import type { JobRunner } from '../ingest/job-runner.js';
import { startOwnCrawlRunner } from './local-runner.js';
import type { Backend } from '../app/backend.js';
import { describeJob } from './jobs.js';
import { crawlProgress } from './progress.js';
import { withBackend } from './run-with-backend.js';
import { csv, intOption, printJson, println } from './output.js';
import type { JobProgress } from '../service/index.js';

interface CrawlFlags {
  tags?: string;
  maxPages: number;
  maxDepth?: number;
  scope?: 'prefix' | 'host' | 'domain';
  include?: string[];
  exclude?: string[];
  render?: 'never' | 'auto' | 'always';
  robots: boolean;
  wait: boolean;
  allowHosts?: string;
  json?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** The SSRF guard's refusal (src/ingest/fetch/net-guard.ts), in a 422 detail or a job's error or skip reasons. */
const GUARD_REFUSAL = /refused to connect to|loopback, private, link-local/i;

/**
 * Why `--allow-hosts` did not help with a server running. The server keeps the allow list it was started
 * with: its API and MCP tools are open to every client that reaches it (agents, and with a token remote
 * callers), so a per-request list would let any of them widen the SSRF guard.
 */
export function allowHostsNotForwarded(where: string, hosts: string): string {
  return (
    `--allow-hosts is not passed on to the running server (${where}): a server checks every crawl against the allow list it ` +
    'was started with, so that no client (an MCP agent, a script, a web page) can widen it. ' +
    `Restart it with \`doctor serve --allow-hosts ${hosts}\` (or DOCTOR_ALLOW_HOSTS=${hosts}), or stop it and crawl again: ` +
    'without a server, doctor crawl applies --allow-hosts itself.'
  );
}

export function registerCrawl(program: Command): void {
  program
    .command('crawl')
    .description('crawl a documentation site and index it (shows progress; waits unless --no-wait)')
    .argument('<url>', 'start URL, e.g. https://docs.python.org/3/library/')
    .option('--tags <tags>', 'comma-separated tags for the pages (used to filter searches)')
    .option('--max-pages <n>', 'pages to store, 1..1000', intOption('--max-pages'), 100)
    .option('--max-depth <n>', 'link depth from the start URL (default 3)', intOption('--max-depth'))
    .option('--scope <scope>', 'prefix (same host and path prefix, default) | host | domain')
    .option('--include <pattern>', 'only URLs matching (glob with *, or /regex/); repeatable', collect)
    .option('--exclude <pattern>', 'skip URLs matching (glob with *, or /regex/); repeatable', collect)
    .option('--render <mode>', 'JavaScript rendering: never | auto | always')
    .option('--no-robots', 'ignore robots.txt and <meta name="robots"> noindex/nofollow')
    .option('--no-wait', 'return the job id at once')
    .option('--allow-hosts <hosts>', 'hosts/IPs/CIDRs to allow despite the SSRF guard, e.g. 127.0.0.1 (local runs)')
    .option('--json', 'print the final job as JSON')
    .action(async (url: string, o: CrawlFlags, cmd: Command) => {
      let runner: JobRunner | undefined;
      await withBackend(
        cmd,
        crawlWith,
        {
          overrides: { allowHosts: o.allowHosts },
          prepareLocal: async (ctx) => {
            if (!o.wait) {
              // No server and no waiting: record the job; `doctor serve` picks up pending jobs at start.
              ctx.jobs = {
                submit: async (job) => void (await ctx.store.jobs.create(job)),
                cancel: async () => false,
              };
              return;
            }
            runner = await startOwnCrawlRunner(ctx);
          },
        },
      ).finally(() => runner?.stop());

      async function crawlWith(b: Backend): Promise<void> {
        const hint = b.kind === 'remote' && o.allowHosts ? allowHostsNotForwarded(b.where, o.allowHosts) : undefined;
        const { job_id } = await b.fetchUrl({
          url,
          tags: csv(o.tags),
          max_pages: o.maxPages,
          max_depth: o.maxDepth,
          scope: o.scope,
          include: o.include,
          exclude: o.exclude,
          render: o.render,
          respect_robots: o.robots,
        }).catch((e: Error) => {
          throw hint && GUARD_REFUSAL.test(e.message) ? new Error(`${e.message}\n${hint}`) : e;
        });
        if (!o.wait) {
          println(job_id);
          if (b.kind === 'local') {
            process.stderr.write('No server is running: the job is queued and runs when `doctor serve` starts.\n');
          }
          return;
        }
        process.stderr.write(`job ${job_id} (${b.kind === 'remote' ? `on ${b.where}` : 'in this process'})\n`);
        const final = await follow(b, job_id);
        if (o.json) printJson(final);
        else println(describeJob(final));
        const refused = [final.error_message ?? '', ...final.skipped.map((s) => s.reason)].some((r) => GUARD_REFUSAL.test(r));
        if (hint && refused) process.stderr.write(`${hint}\n`);
        if (final.status !== 'completed') process.exitCode = 1;
      }
    });
}

/**
 * Polls the job (locally or on the server) with a progress bar until it finishes. Ctrl-C (SIGINT) or SIGTERM
 * (kill, `timeout`, a process manager) cancels it and the command ends when it has stopped: without a server
 * the crawl runs in this process, and ending it outright left the job `running` in the database, where the
 * next process to start a job runner resumed it. A second signal ends the command at once.
 */
async function follow(b: Backend, jobId: string): Promise<JobProgress> {
  const view = crawlProgress();
  let cancelled = false;
  const onSignal = () => {
    cancelled = true;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.stderr.write('\ncancelling...\n');
    void b.cancelJob({ job_id: jobId }).catch(() => {});
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (;;) {
      const p = await b.jobProgress({ job_id: jobId });
      view.update(p);
      if (p.completed) return p;
      await new Promise((r) => setTimeout(r, cancelled ? 100 : 300));
    }
  } finally {
    view.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
