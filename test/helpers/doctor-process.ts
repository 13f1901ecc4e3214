/** `doctor` as a child process for tests: one-shot CLI commands, and `doctor serve` on a free port. */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
export const env = {
  ...process.env,
  DOCTOR_LOG_LEVEL: 'warn',
  DOCTOR_RENDER: 'never',
  DOCTOR_PER_HOST_DELAY_MS: '0',
  DOCTOR_EMBEDDING_PROVIDER: 'lexical',
  DOCTOR_ALLOW_HOSTS: '127.0.0.1',
  DOCTOR_EMBEDDING_DIM: '256',
};

export type Json = Record<string, any>;

export async function doctor(dataDir: string, args: string[], extraEnv: Record<string, string> = {}, timeout = 120_000) {
  try {
    const { stdout, stderr } = await run(process.execPath, [...CLI, '--data-dir', dataDir, ...args], { env: { ...env, ...extraEnv }, timeout, killSignal: 'SIGKILL' });
    return { code: 0, stdout, stderr, signal: null };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string; killed?: boolean; signal: NodeJS.Signals | null };
    // SIGKILL at the timeout: a hung `doctor crawl` takes SIGTERM as a cancel and could outlive the test.
    // code -1: killed by the timeout; `signal`: ended by a signal it did not get from here (its own SIGKILL)
    return { code: err.killed ? -1 : err.code, stdout: err.stdout, stderr: err.stderr, signal: err.killed ? null : err.signal };
  }
}

/** A `doctor serve` child process on a free port (waits are generous: CI machines can be slow). */
export class Server {
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
    for (let i = 0; i < 1200; i++) {
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
      signal: AbortSignal.timeout(60_000),
    });
    return { status: r.status, body: (await r.json().catch(() => ({}))) as Json };
  }

  async waitForJob(jobId: string, timeoutMs = 120_000): Promise<Json> {
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

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

