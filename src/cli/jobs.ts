/** `doctor jobs`, `doctor job <id>`, `doctor cancel <id>` */
import type { Command } from 'commander';
import type { Backend } from '../app/backend.js';
import type { JobProgress } from '../service/index.js';
import { withBackend } from './run-with-backend.js';
import { intOption, printJson, println } from './output.js';

export function describeJob(j: JobProgress): string {
  const err = j.error_message ? `  (${j.error_message})` : '';
  return `${j.job_id}  ${j.status.padEnd(9)} ${String(j.pages_crawled).padStart(4)}/${j.max_pages} pages  ${j.progress_percent}%  ${j.url}${err}`;
}

/**
 * Without a server nothing runs a job that is still pending or running in the database (a server stopped
 * mid-crawl, `doctor crawl --no-wait`): listed bare, it looked as if it were crawling.
 */
const NOT_RUNNING = '  [not running: no server runs it; it goes on when doctor serve starts, or doctor cancel <job_id>]';
const describeHere = (b: Backend, j: JobProgress) => describeJob(j) + (b.kind === 'local' && !j.completed ? NOT_RUNNING : '');

export function registerJobs(program: Command): void {
  program
    .command('jobs')
    .description('list crawl jobs, newest first')
    .option('--limit <n>', 'how many', intOption('--limit'), 20)
    .option('--json', 'print the raw JSON result')
    .action(async (o: { limit: number; json?: boolean }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const res = await b.listJobs({ limit: o.limit });
        if (o.json) return printJson(res);
        if (res.jobs.length === 0) println('No jobs yet: start one with doctor crawl <url>');
        for (const j of res.jobs) println(describeHere(b, j));
      });
    });

  program
    .command('job')
    .description("show a job's progress (full id or its first 8+ characters)")
    .argument('<job_id>')
    .option('--json', 'print the raw JSON result')
    .action(async (jobId: string, o: { json?: boolean }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const res = await b.jobProgress({ job_id: jobId });
        if (o.json) return printJson(res);
        println(describeHere(b, res));
        for (const s of res.skipped.slice(0, 20)) println(`  skipped ${s.url}: ${s.reason}`);
      });
    });

  program
    .command('cancel')
    .description('cancel a pending or running crawl job')
    .argument('<job_id>')
    .action(async (jobId: string, _o: unknown, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const before = await b.jobProgress({ job_id: jobId });
        // a finished job is left as it is: say so rather than print it as if this had cancelled it
        if (before.completed) return println(`${describeJob(before)}\nthe job had already ended (${before.status}): nothing to cancel`);
        println(describeJob(await b.cancelJob({ job_id: jobId })));
      });
    });
}
