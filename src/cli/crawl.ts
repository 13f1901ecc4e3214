/** `doctor crawl <url>` */
import type { Command } from 'commander';
import { JobRunner } from '../ingest/job-runner.js';
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
    .option('--no-robots', 'ignore robots.txt')
    .option('--no-wait', 'return the job id at once')
    .option('--allow-hosts <hosts>', 'hosts/IPs/CIDRs to allow despite the SSRF guard, e.g. 127.0.0.1 (local runs)')
    .option('--json', 'print the final job as JSON')
    .action(async (url: string, o: CrawlFlags, cmd: Command) => {
      let runner: JobRunner | undefined;
      await withBackend(
        cmd,
        async (b) => {
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
          if (final.status !== 'completed') process.exitCode = 1;
        },
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
            runner = new JobRunner(ctx);
            ctx.jobs = runner;
            await runner.start();
          },
        },
      ).finally(() => runner?.stop());
    });
}

/** Polls the job (locally or on the server) with a progress bar until it finishes; Ctrl-C cancels it. */
async function follow(b: Backend, jobId: string): Promise<JobProgress> {
  const view = crawlProgress();
  let cancelled = false;
  const onSigint = () => {
    cancelled = true;
    process.stderr.write('\ncancelling...\n');
    void b.cancelJob({ job_id: jobId }).catch(() => {});
  };
  process.once('SIGINT', onSigint);
  try {
    for (;;) {
      const p = await b.jobProgress({ job_id: jobId });
      view.update(p);
      if (p.completed) return p;
      await new Promise((r) => setTimeout(r, cancelled ? 100 : 300));
    }
  } finally {
    view.stop();
    process.off('SIGINT', onSigint);
  }
}
