/** Debian's redis-server for tests: on a free loopback port, no persistence, restartable on the same port. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export class RedisServer {
  private child?: ChildProcess;
  private constructor(
    readonly port: number,
    private readonly args: string[] = [],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** `args`: more redis-server options (e.g. --requirepass). */
  static async start(args: string[] = []): Promise<RedisServer> {
    const r = new RedisServer(await freePort(), args);
    await r.launch();
    return r;
  }

  /** Starts redis-server (again) on this port and waits until it answers PING. */
  async launch(): Promise<void> {
    let stderr = '';
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...this.args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', (d) => (stderr += d));
    this.child = child;
    // never left behind, even when the test or benchmark process ends early
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) throw new Error(`redis-server exited: ${stderr}`);
      const c = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      let locked = false; // it answers, asking for a password (--requirepass)
      c.on('error', (e: Error) => (locked ||= /NOAUTH/.test(e.message)));
      try {
        await c.connect();
        if ((await c.ping()) === 'PONG') return;
      } catch {
        if (locked) return;
      } finally {
        c.disconnect();
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not start on ${this.port}: ${stderr}`);
  }

  /** SIGKILL: everything it held is gone (no persistence). */
  async kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }

  /** A client for assertions (the caller disconnects it). */
  client(): Redis {
    return new Redis(this.url, { maxRetriesPerRequest: 1 });
  }
}
