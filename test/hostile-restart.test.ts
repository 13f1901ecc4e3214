/**
 * Issue 20, crash loops: a real `doctor serve` process (temp data dir, free port) is fed every input that
 * used to end the process; it stays up, /health answers, and it restarts clean.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHostileSite, type HostileSite } from './helpers/hostile-site.js';
import { tempDir } from './helpers/tmp.js';
import { join } from 'node:path';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { openStore } from '../src/store/store.js';
import { Server, sleep, type Json } from './helpers/doctor-process.js';

describe('doctor serve survives a hostile site and restarts clean (issue 20)', () => {
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

  it('every crash-class input: the page or job fails with its reason, the server stays up, and restarts clean', async () => {
    const dir = tempDir();
    // A job with an invalid pattern, queued before the fix (or by a client that bypassed validation):
    // the runner used to throw on it at every start.
    const embedder = new LexicalEmbedder(256);
    const store = await openStore({ path: join(dir, 'doctor.duckdb'), embedding: { provider: embedder.provider, model: embedder.model, dimension: embedder.dimension } });
    await store.jobs.create({ job_id: 'legacy-bad-pattern', start_url: `${site.url}/links`, max_pages: 5, max_depth: 1, tags: [], options: { include: ['/[/'] } });
    await store.close();

    const server = await start(dir, { DOCTOR_REQUEST_TIMEOUT_MS: '2000' });
    const legacy = await server.waitForJob('legacy-bad-pattern');
    assert.equal(legacy.status, 'failed');
    assert.match(legacy.error_message, /invalid regular expression in URL pattern \/\[\//);

    const bad = await server.api('POST', '/fetch_url', { url: `${site.url}/links`, include: ['/[/'] });
    assert.equal(bad.status, 422, JSON.stringify(bad.body));

    const expected: [string, string, RegExp][] = [
      ['/zstd', 'failed', /unsupported Content-Encoding "zstd"/],
      ['/gzip-gzip', 'completed', /^$/],
      ['/gzip-gzip-once', 'failed', /could not decompress/],
      ['/declared-huge', 'failed', /larger than the 10 MB limit/],
      ['/trickle', 'failed', /timeout: no complete answer within 2000 ms/],
      ['/huge-title', 'completed', /^$/],
    ];
    const jobs: string[] = [];
    for (const [path] of expected) {
      const r = await server.api('POST', '/fetch_url', { url: `${site.url}${path}`, max_pages: 1, max_depth: 0 });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      jobs.push(r.body.job_id as string);
    }
    for (const [i, [path, status, why]] of expected.entries()) {
      const job = await server.waitForJob(jobs[i]!);
      assert.equal(job.status, status, `${path}: ${job.error_message}`);
      assert.match(job.error_message ?? '', why, path);
    }
    await sleep(500); // an aborted body used to end the process a moment after its page was skipped
    assert.ok(server.alive, server.stderr);
    assert.equal(await server.health(), 200);

    assert.equal(await server.stop(), 0, 'an orderly stop');
    const again = await start(dir, { DOCTOR_REQUEST_TIMEOUT_MS: '2000' });
    await sleep(1000);
    assert.ok(again.alive, again.stderr);
    assert.equal(await again.health(), 200);
    const list = (await again.api('GET', '/jobs')).body.jobs as Json[];
    assert.equal(list.length, expected.length + 1);
    assert.deepEqual(list.filter((j) => !j.completed), [], 'nothing left to resume');
    await again.stop();
  });

});
