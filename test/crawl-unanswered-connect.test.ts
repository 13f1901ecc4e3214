/**
 * A crawl of a host that never completes the TCP handshake (a dead address, a firewall that drops packets)
 * must still be cancelled at once, and a server shutting down must not wait for the connection attempts.
 * Before, robots.txt, sitemap and llms.txt were fetched without the crawl's signal, undici noticed an abort
 * only when the connect attempt ended, and closing the HTTP agent waited for it too: a cancel or a SIGTERM
 * took 30-40 s against an unreachable IPv6 host.
 *
 * The host here: a listening socket whose accept queue is full and never drained (Python, so that nothing
 * accepts), so the kernel drops further SYNs and connect() hangs, as with a dead address.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { cancelJob, fetchUrl, jobProgress } from '../src/service/index.js';
import { makeContext, type TestContext } from './helpers/context.js';

const BLACKHOLE = `
import socket, sys, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)
port = s.getsockname()[1]
fill = []
for _ in range(8):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(('127.0.0.1', port))
    except BlockingIOError: pass
    fill.append(c)
time.sleep(0.3)
print(port, flush=True)
time.sleep(600)
`;

describe('a crawl of a host that never answers the connect', () => {
  let hole: ChildProcess;
  let port = 0;
  let ctx: TestContext;
  before(async () => {
    hole = spawn('python3', ['-c', BLACKHOLE], { stdio: ['ignore', 'pipe', 'inherit'] });
    port = Number((await createInterface({ input: hole.stdout! })[Symbol.asyncIterator]().next()).value);
    ctx = await makeContext({ config: { render: 'never', requestTimeoutMs: 60_000 } });
  });
  after(async () => {
    hole.kill();
    await ctx.close();
  });

  it('is cancelled at once, and the job runner stops at once', async () => {
    const probe = await Promise.race([fetch(`http://127.0.0.1:${port}/`).then(() => 'answered', () => 'failed'), new Promise((r) => setTimeout(() => r('hangs'), 1500))]);
    assert.equal(probe, 'hangs', 'the test host does hang a connect');
    const { job_id } = await fetchUrl(ctx, { url: `http://127.0.0.1:${port}/docs/` });
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await jobProgress(ctx, { job_id })).status, 'running');
    let t0 = performance.now();
    const cancelled = await cancelJob(ctx, { job_id });
    assert.equal(cancelled.status, 'cancelled');
    assert.ok(performance.now() - t0 < 3000, `cancelled in ${Math.round(performance.now() - t0)} ms`);

    // A shutdown (SIGTERM) while a crawl is connecting: the runner stops without waiting for the connect.
    const second = await fetchUrl(ctx, { url: `http://127.0.0.1:${port}/other/` });
    await new Promise((r) => setTimeout(r, 1000));
    t0 = performance.now();
    await ctx.runner!.stop();
    assert.ok(performance.now() - t0 < 3000, `stopped in ${Math.round(performance.now() - t0)} ms`);
    // stopped, not cancelled: the job is resumed at the next start
    assert.ok(['running', 'pending'].includes((await jobProgress(ctx, { job_id: second.job_id })).status));
  });
});
