/**
 * Issue 20: a job that a real `doctor serve` dies on (SIGKILL while it runs) is failed after MAX_JOB_ATTEMPTS
 * starts in a row instead of resumed forever; `doctor cancel` works without a server (a pending job, and
 * one a killed server left running).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHostileSite, type HostileSite } from './helpers/hostile-site.js';
import { join } from 'node:path';
import { tempDir } from './helpers/tmp.js';
import { openStore } from '../src/store/store.js';
import { MAX_JOB_ATTEMPTS } from '../src/ingest/job-runner.js';
import { doctor, Server, sleep } from './helpers/doctor-process.js';

describe('a crash loop ends (issue 20)', () => {
  let site: HostileSite;
  const servers: Server[] = [];
  const start = (dir: string, extraEnv?: Record<string, string>) => {
    const s = new Server(dir, extraEnv);
    servers.push(s);
    return s.ready();
  };
  before(async () => {
    site = await startHostileSite();
  });
  after(async () => {
    for (const s of servers) await s.stop('SIGKILL');
    await site.close();
  });

  it(`a job the process died on in ${MAX_JOB_ATTEMPTS} starts in a row is failed, not resumed; cancel works without a server`, async () => {
    const dir = tempDir();
    // Two jobs already started (and killed with the process) MAX_JOB_ATTEMPTS - 1 times: the store as the
    // earlier starts left it. The starts before are counted in-process in job-attempts.test.ts.
    const store = await openStore({ path: join(dir, 'doctor.duckdb'), embedding: { provider: 'lexical', model: 'lexical-hash-v1', dimension: 256 } });
    for (const [id, path] of [['job-a', '/trickle'], ['job-b', '/trickle-2']] as const) {
      await store.jobs.create({ job_id: id, start_url: `${site.url}${path}`, max_pages: 1, max_depth: 0, tags: [], options: {} });
      await store.jobs.update(id, { status: 'running' });
      await store.jobs.setAttempts(id, MAX_JOB_ATTEMPTS - 1);
    }
    await store.close();

    const slow = { DOCTOR_REQUEST_TIMEOUT_MS: '120000' };
    let server = await start(dir, slow);
    // both jobs are running (their page is being fetched) when the process dies
    for (let i = 0; i < 600 && !(site.hits.get('/trickle') && site.hits.get('/trickle-2')); i++) await sleep(100);
    assert.equal((await server.api('GET', '/job_progress?job_id=job-a')).body.status, 'running');
    await server.stop('SIGKILL');

    // No server now: cancel works on the database directly (it used to refuse), for a job left running...
    const cancelled = await doctor(dir, ['cancel', 'job-b']);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.match(cancelled.stdout, /job-b\s+cancelled.*no server was running it/);
    // ...and for a pending one
    const queued = await doctor(dir, ['crawl', `${site.url}/gzip-gzip`, '--no-wait']);
    assert.equal(queued.code, 0, queued.stderr);
    const c = queued.stdout.trim();
    assert.match((await doctor(dir, ['cancel', c.slice(0, 8)])).stdout, /cancelled.*no server was running it/);

    server = await start(dir, slow);
    const failed = await server.waitForJob('job-a');
    assert.equal(failed.status, 'failed');
    assert.match(failed.error_message, new RegExp(`stopped while running this job ${MAX_JOB_ATTEMPTS} times in a row before it made progress`));
    assert.equal((await server.api('GET', '/job_progress?job_id=job-b')).body.status, 'cancelled', 'a cancelled job stays cancelled');
    assert.equal((await server.api('GET', `/job_progress?job_id=${c}`)).body.status, 'cancelled');
    assert.ok(server.alive);
    assert.equal(await server.stop(), 0);
  });
});
