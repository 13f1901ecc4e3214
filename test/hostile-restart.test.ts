/**
 * Issue 20, crash loops: a real `doctor serve` process (temp data dir, free port) is fed every input that
 * used to end the process; it stays up, /health answers, and it restarts clean. A job that the process
 * dies on again and again is failed after MAX_JOB_ATTEMPTS starts instead of resumed forever, and
 * `doctor cancel` / `doctor crawl` work without a server.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { MAX_JOB_ATTEMPTS } from '../src/ingest/job-runner.js';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { openStore } from '../src/store/store.js';
import { startHostileSite, type HostileSite } from './helpers/hostile-site.js';
import { tempDir } from './helpers/tmp.js';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
const env = {
  ...process.env,
  DOCTOR_LOG_LEVEL: 'warn',
  DOCTOR_RENDER: 'never',
  DOCTOR_PER_HOST_DELAY_MS: '0',
  DOCTOR_EMBEDDING_PROVIDER: 'lexical',
  DOCTOR_ALLOW_HOSTS: '127.0.0.1',
  DOCTOR_EMBEDDING_DIM: '256',
};

type Json = Record<string, any>;

async function doctor(dataDir: string, args: string[], extraEnv: Record<string, string> = {}, timeout = 60_000) {
  try {
    const { stdout, stderr } = await run(process.execPath, [...CLI, '--data-dir', dataDir, ...args], { env: { ...env, ...extraEnv }, timeout });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string; killed?: boolean };
    return { code: err.killed ? -1 : err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** A `doctor serve` child process on a free port. */
class Server {
  readonly child: ChildProcess;
  url = '';
  stderr = '';
  exited: Promise<number | null>;

  constructor(readonly dir: string, extraEnv: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [...CLI, '--data-dir', dir, 'serve', '--port', '0'], {
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until this process has announced itself in server.json and /health answers. */
  async ready(): Promise<this> {
    for (let i = 0; i < 300; i++) {
      assert.ok(this.alive, `doctor serve exited: ${this.stderr}`);
      try {
        const info = JSON.parse(readFileSync(join(this.dir, 'server.json'), 'utf8')) as { pid: number; url: string };
        if (info.pid === this.child.pid) {
          this.url = info.url;
          if ((await this.health()) === 200) return this;
        }
      } catch {
        /* not yet */
      }
      await sleep(100);
    }
    throw new Error(`doctor serve did not start: ${this.stderr}`);
  }

  async health(): Promise<number> {
    return (await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(5000) })).status;
  }

  async api(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: Json }> {
    const r = await fetch(this.url + path, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30_000),
    });
    return { status: r.status, body: (await r.json().catch(() => ({}))) as Json };
  }

  async waitForJob(jobId: string, timeoutMs = 60_000): Promise<Json> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      assert.ok(this.alive, `doctor serve died while job ${jobId} ran: ${this.stderr}`);
      const p = await this.api('GET', `/job_progress?job_id=${jobId}`);
      if (p.body.completed) return p.body;
      assert.ok(Date.now() < until, `job ${jobId} did not finish: ${JSON.stringify(p.body)}`);
      await sleep(200);
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.alive) this.child.kill(signal);
    return this.exited;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

  it(`a job the process dies on at every start is failed after ${MAX_JOB_ATTEMPTS} starts; cancel and crawl work without a server`, async () => {
    const dir = tempDir();
    const slow = { DOCTOR_REQUEST_TIMEOUT_MS: '120000' };
    let server = await start(dir, slow);
    const a = (await server.api('POST', '/fetch_url', { url: `${site.url}/trickle`, max_pages: 1, max_depth: 0 })).body.job_id as string;
    const b = (await server.api('POST', '/fetch_url', { url: `${site.url}/trickle-2`, max_pages: 1, max_depth: 0 })).body.job_id as string;
    for (let startNo = 1; startNo <= MAX_JOB_ATTEMPTS; startNo++) {
      // both jobs are running (their page is being fetched) when the process dies
      const seen = [site.hits.get('/trickle') ?? 0, site.hits.get('/trickle-2') ?? 0];
      for (let i = 0; i < 200 && ((site.hits.get('/trickle') ?? 0) === seen[0] || (site.hits.get('/trickle-2') ?? 0) === seen[1]); i++) await sleep(100);
      assert.equal((await server.api('GET', `/job_progress?job_id=${a}`)).body.status, 'running');
      await server.stop('SIGKILL');
      if (startNo < MAX_JOB_ATTEMPTS) server = await start(dir, slow);
    }

    // No server now: cancel works on the database directly (it used to refuse), for a job left running...
    const cancelled = await doctor(dir, ['cancel', b]);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.match(cancelled.stdout, new RegExp(`${b}\\s+cancelled`));
    // ...and for a pending one
    const queued = await doctor(dir, ['crawl', `${site.url}/gzip-gzip`, '--no-wait']);
    assert.equal(queued.code, 0, queued.stderr);
    const c = queued.stdout.trim();
    assert.match((await doctor(dir, ['cancel', c.slice(0, 8)])).stdout, /cancelled.*no server was running it/);

    server = await start(dir, slow);
    const failed = await server.waitForJob(a, 20_000);
    assert.equal(failed.status, 'failed');
    assert.match(failed.error_message, new RegExp(`stopped while running this job ${MAX_JOB_ATTEMPTS} times in a row before it made progress`));
    assert.equal((await server.api('GET', `/job_progress?job_id=${b}`)).body.status, 'cancelled', 'a cancelled job stays cancelled');
    assert.equal((await server.api('GET', `/job_progress?job_id=${c}`)).body.status, 'cancelled');
    assert.ok(server.alive);
    assert.equal(await server.stop(), 0);
  });

  it('doctor crawl refuses bad patterns before queueing anything; a backtracking pattern does not hang it', async () => {
    const dir = tempDir();
    const refused = await doctor(dir, ['crawl', `${site.url}/links`, '--include', '*/links*', '--exclude', '/[/', '--json']);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /exclude\.0: invalid regular expression in URL pattern \/\[\//);
    // (.|.)*Z and (.|.){30}Z take minutes to hours per link on a backtracking engine; the child is killed after 90 s
    const r = await doctor(dir, ['crawl', `${site.url}/links`, '--max-pages', '5', '--max-depth', '1', '--exclude', '/(.|.)*Z/', '--exclude', '/(.|.){30}Z/', '--json'], {}, 90_000);
    assert.equal(r.code, 0, r.stderr);
    const job = JSON.parse(r.stdout) as Json;
    assert.equal(job.pages_crawled, 5);
    assert.match((await doctor(dir, ['jobs'])).stdout, new RegExp(`^${job.job_id}\\s+completed[^\\n]*\\n?$`), 'the refused crawl queued nothing');
  });
});
