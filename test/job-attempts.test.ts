/**
 * Issue 20: the job runner counts the starts of a job that end without progress (jobs.attempts, kept in
 * job_attempts), fails a job past MAX_JOB_ATTEMPTS instead of resuming it, and an error inside one job
 * (here: a pattern queued before patterns were validated) fails that job, never the process.
 * The same against a real process killed with SIGKILL: crash-loop.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JobRunner, MAX_JOB_ATTEMPTS } from '../src/ingest/job-runner.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { startHostileSite, type HostileSite } from './helpers/hostile-site.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('crawl job attempts (issue 20)', () => {
  let site: HostileSite;
  let ctx: TestContext;
  before(async () => {
    site = await startHostileSite();
    ctx = await makeContext({ config: { render: 'never', requestTimeoutMs: 120_000 }, runner: false });
  });
  after(async () => {
    await ctx.close();
    await site.close();
  });
  const restart = async () => {
    await ctx.runner?.stop();
    ctx.runner = new JobRunner(ctx);
    ctx.jobs = ctx.runner;
    await ctx.runner.start();
  };

  it('each start counts; an orderly stop does not; past the limit the job is failed at start with the reason', async () => {
    await ctx.store.jobs.create({ job_id: 'stuck', start_url: `${site.url}/trickle`, max_pages: 1, max_depth: 0, tags: [], options: {} });
    await restart();
    for (let i = 0; i < 300 && !site.hits.get('/trickle'); i++) await sleep(100);
    let job = (await ctx.store.jobs.get('stuck'))!;
    assert.equal(job.status, 'running');
    assert.equal(job.attempts, 1, 'counted before the crawl can crash');
    await ctx.runner!.stop();
    job = (await ctx.store.jobs.get('stuck'))!;
    assert.equal(job.status, 'running', 'resumed at the next start');
    assert.equal(job.attempts, 0, 'an orderly stop is no crash');

    // as if the process had died while running it MAX_JOB_ATTEMPTS times
    await ctx.store.jobs.setAttempts('stuck', MAX_JOB_ATTEMPTS);
    await restart();
    const failed = await ctx.runner!.waitFor('stuck');
    assert.equal(failed.status, 'failed');
    assert.match(failed.error_message!, /stopped while running this job 3 times in a row before it made progress .* not resumed again/);
  });

  it('progress clears the count', async () => {
    await ctx.store.jobs.create({ job_id: 'recovers', start_url: `${site.url}/gzip-gzip`, max_pages: 1, max_depth: 0, tags: [], options: {} });
    await ctx.store.jobs.setAttempts('recovers', MAX_JOB_ATTEMPTS - 1);
    await restart();
    const done = await ctx.runner!.waitFor('recovers');
    assert.equal(done.status, 'completed', done.error_message ?? '');
    assert.equal((await ctx.store.jobs.get('recovers'))!.attempts, 0);
  });

  it('a job whose options make the crawler throw (an invalid pattern queued before validation) fails with the reason', async () => {
    await ctx.store.jobs.create({ job_id: 'bad-pattern', start_url: `${site.url}/links`, max_pages: 2, max_depth: 1, tags: [], options: { exclude: ['/[/'] } });
    await restart();
    const job = await ctx.runner!.waitFor('bad-pattern');
    assert.equal(job.status, 'failed');
    assert.match(job.error_message!, /invalid regular expression in URL pattern \/\[\//);
  });
});
