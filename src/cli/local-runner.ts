/**
 * The job runner of a command that crawls without a server (`doctor crawl`, `doctor demo`): it runs the
 * command's own crawl only. Unfinished jobs of earlier runs stay for `doctor serve` (they used to be resumed
 * too, unannounced: with DOCTOR_WORKERS of them, the command's own crawl waited behind crawls of other sites),
 * and the command says they are there.
 */
import type { DoctorContext } from '../service/context.js';
import { JobRunner } from '../ingest/job-runner.js';

export async function startOwnCrawlRunner(ctx: DoctorContext, say: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<JobRunner> {
  const runner = new JobRunner(ctx);
  ctx.jobs = runner;
  const left = await runner.start({ resume: false });
  if (left.length > 0) {
    const shown = left.slice(0, 3).map((j) => `${j.job_id} (${j.start_url})`);
    const more = left.length > shown.length ? ` and ${left.length - shown.length} more` : '';
    say(
      `${left.length === 1 ? 'An unfinished crawl' : `${left.length} unfinished crawls`} from earlier runs ${left.length === 1 ? 'is' : 'are'} not resumed here: ` +
        `${shown.join(', ')}${more}. \`doctor serve\` resumes ${left.length === 1 ? 'it' : 'them'}; \`doctor cancel <job_id>\` drops one.`,
    );
  }
  return runner;
}
