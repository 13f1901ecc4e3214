/**
 * A client in a loop calling fetch_url must not queue crawl jobs without end: past MAX_PENDING_JOBS
 * waiting jobs, a new one is refused (409) with what to do, and nothing is written for it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { JobRunner } from '../src/ingest/job-runner.js';
import { buildHttpApp } from '../src/http/app.js';
import { cancelJob, ConflictError, fetchUrl, listJobs } from '../src/service/index.js';
import { MAX_PENDING_JOBS } from '../src/service/jobs.js';
import { makeContext, type TestContext } from './helpers/context.js';

describe('queued crawl jobs are capped', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await makeContext({ config: { render: 'never' }, runner: false });
    // A runner that is never started: every job it is given stays pending, as behind long crawls.
    ctx.jobs = new JobRunner(ctx);
  });
  after(() => ctx.close());

  it(`the ${MAX_PENDING_JOBS + 1}th waiting job is refused with what to do; cancelling one makes room`, async () => {
    await ctx.store.db.transaction(async (tx) => {
      for (let i = 0; i < MAX_PENDING_JOBS - 10; i++) {
        await ctx.store.jobs.create({ job_id: randomUUID(), start_url: `https://docs.test/${i}`, max_pages: 1, max_depth: 0, tags: [], options: {} }, tx);
      }
    });
    // requests arriving together: only as many as there is room for get in
    const together = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => fetchUrl(ctx, { url: `https://docs.test/together/${i}` })));
    const admitted = together.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    assert.equal(admitted.length, 10);
    assert.ok(together.every((r) => r.status === 'fulfilled' || r.reason instanceof ConflictError));
    const last = admitted.at(-1)!;
    await assert.rejects(fetchUrl(ctx, { url: 'https://docs.test/one-too-many' }), (e: Error) => {
      assert.ok(e instanceof ConflictError);
      assert.equal(e.message, '1,000 crawl jobs are waiting to start already (at most 1,000): wait for some to finish, or cancel those not needed (doctor jobs, cancel_job), then start this one again');
      return true;
    });
    const app = await buildHttpApp(ctx, {});
    try {
      const res = await app.inject({ method: 'POST', url: '/fetch_url', payload: { url: 'https://docs.test/over-rest' } });
      assert.equal(res.statusCode, 409);
      assert.match(res.json<{ detail: string }>().detail, /crawl jobs are waiting to start already/);
    } finally {
      await app.close();
    }
    const pending = await listJobs(ctx, { status: 'pending', limit: 1000 });
    assert.equal(pending.jobs.length, MAX_PENDING_JOBS, 'nothing was written for the refused jobs');
    assert.ok(!pending.jobs.some((j) => /one-too-many|over-rest/.test(j.url)));
    await cancelJob(ctx, { job_id: last.job_id });
    assert.equal((await fetchUrl(ctx, { url: 'https://docs.test/after-cancel' })).status, 'pending');
  });
});
