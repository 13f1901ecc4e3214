/**
 * The CLI facing a hostile or confusing setup (issue 20): a server.json that names another machine or another
 * server (the token must not leak), --allow-hosts with a server running, a crawl holding the database, a
 * read-only data directory.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { connectBackend } from '../src/app/backend.js';
import { openApp } from '../src/app/open.js';
import { readServerInfo, UntrustedServerError } from '../src/app/server-info.js';
import { loadConfig } from '../src/config/config.js';
import { DatabaseLockedError } from '../src/db/database.js';
import { silentLogger } from '../src/log.js';
import { startServer } from '../src/server/serve.js';
import { tempDir } from './helpers/tmp.js';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
const env = { ...process.env, DOCTOR_LOG_LEVEL: 'warn', DOCTOR_RENDER: 'never', DOCTOR_PER_HOST_DELAY_MS: '0', DOCTOR_EMBEDDING_PROVIDER: 'lexical' };

async function doctor(args: string[], opts: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [...CLI, ...args], { env: opts.env ?? env, timeout: 120_000, uid: opts.uid, gid: opts.gid });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** A loopback HTTP server that answers like Doctor (with a chosen instance id) and records every request. */
async function fakeServer(instanceId: string | undefined) {
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(req.url === '/health' ? { status: 'ok', ...(instanceId ? { instance_id: instanceId } : {}) } : { results: [] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('the CLI trusts only its own server', () => {
  const TOKEN = 'cli-secret-token-123';
  const setup = (url: string, instanceId = 'recorded-instance') => {
    const dir = tempDir();
    const config = loadConfig({ dataDir: dir, logLevel: 'silent' }, { DOCTOR_API_TOKEN: TOKEN });
    // A live process id (this test's) as a running server would record.
    writeFileSync(join(dir, 'server.json'), JSON.stringify({ url, pid: process.pid, dbPath: resolve(config.dbPath), startedAt: new Date().toISOString(), instanceId }));
    return config;
  };

  it('a server.json naming a non-loopback address is refused before any request', async () => {
    const config = setup('http://10.255.255.1:9111');
    const t0 = performance.now();
    await assert.rejects(connectBackend(config), (e: Error) => {
      assert.ok(e instanceof UntrustedServerError);
      assert.match(e.message, /names http:\/\/10\.255\.255\.1:9111 .*which is not a loopback address/);
      assert.match(e.message, /sends neither requests nor DOCTOR_API_TOKEN there/);
      return true;
    });
    assert.ok(performance.now() - t0 < 2500, 'no connection was attempted');
  });

  it('another server answering at the recorded loopback address gets no request and no token', async () => {
    for (const answered of ['someone-else', undefined]) {
      const fake = await fakeServer(answered);
      try {
        const config = setup(fake.url);
        await assert.rejects(connectBackend(config), /is not the one recorded in .*server\.json/);
        assert.deepEqual(fake.seen.map((r) => r.url), ['/health'], 'only the health check');
        assert.ok(fake.seen.every((r) => r.headers.authorization === undefined), 'the token was never sent');
      } finally {
        await fake.close();
      }
    }
  });

  it('the recorded server (same instance id) gets the requests, with the token', async () => {
    const fake = await fakeServer('recorded-instance');
    try {
      const config = setup(fake.url);
      const backend = await connectBackend(config);
      assert.equal(backend.kind, 'remote');
      await backend.searchDocs({ query: 'x' });
      const search = fake.seen.find((r) => r.url.startsWith('/search_docs'));
      assert.equal(search?.headers.authorization, `Bearer ${TOKEN}`);
      assert.equal(fake.seen.find((r) => r.url === '/health')?.headers.authorization, undefined, '/health never gets the token');
    } finally {
      await fake.close();
    }
  });

  it('doctor serve records its instance id, and /health returns it', async () => {
    const dir = tempDir();
    const config = loadConfig({ dataDir: dir, port: 0, logLevel: 'silent', embeddingProvider: 'lexical' }, {});
    const server = await startServer(config);
    try {
      const info = JSON.parse(readFileSync(join(dir, 'server.json'), 'utf8')) as { instanceId: string };
      assert.match(info.instanceId, /^[0-9a-f-]{36}$/);
      const health = (await (await fetch(`${server.url}/health`)).json()) as { instance_id: string };
      assert.equal(health.instance_id, info.instanceId);
      assert.equal((await readServerInfo(config))?.instanceId, info.instanceId);

      // --allow-hosts is not forwarded to a running server: the refusal says why and how to start the server.
      const crawl = await doctor(['--data-dir', dir, 'crawl', 'http://127.0.0.2:9/docs/', '--allow-hosts', '127.0.0.2', '--max-pages', '1']);
      assert.notEqual(crawl.code, 0);
      assert.match(crawl.stderr, /refused to connect to 127\.0\.0\.2/);
      assert.match(crawl.stderr, /--allow-hosts is not passed on to the running server \(http:\/\/127\.0\.0\.1:\d+\)/);
      assert.match(crawl.stderr, /doctor serve --allow-hosts 127\.0\.0\.2/);
    } finally {
      await server.close();
    }
  });
});

describe('a server starting or stopping holds the database', () => {
  it('a command meanwhile is told to run again in a moment, not to kill the server; the record goes once the file is closed', async () => {
    const dir = tempDir();
    const config = loadConfig({ dataDir: dir, port: 0, logLevel: 'silent', embeddingProvider: 'lexical' }, {});
    const server = await startServer(config);
    let closed = false;
    try {
      // as while it starts (before it writes server.json) or stops (after it removed it): the file is held, no server.json
      rmSync(join(dir, 'server.json'));
      const search = await doctor(['--data-dir', dir, 'search', 'anything']);
      assert.notEqual(search.code, 0);
      assert.match(search.stderr, new RegExp(`^doctor: The database .*doctor\\.duckdb is held by a Doctor server \\(\`doctor serve\`, process ${process.pid}\\) that is starting or stopping\\. Run the command again in a moment`, 'm'));
      assert.ok(!/kill/.test(search.stderr), search.stderr);
      await server.close();
      closed = true;
      assert.equal(existsSync(join(dir, 'local.json')), false, 'removed once the database is closed');
      assert.equal((await doctor(['--data-dir', dir, 'search', 'anything'])).code, 0);
    } finally {
      if (!closed) await server.close();
    }
  });
});

describe('a crawl without a server holds the database', () => {
  it('other commands say which command holds it, in which process, and what to do', async () => {
    // A site slow enough that the crawl is still running while we look.
    const site = createServer((req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/html' });
        const n = Number(/(\d+)/.exec(req.url ?? '')?.[1] ?? 0);
        res.end(`<html><head><title>Slow ${n}</title></head><body><main><h1>Slow ${n}</h1><p>Words about slowness.</p><a href="/p${n + 1}.html">next</a></main></body></html>`);
      }, 300);
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(site.address() as { port: number }).port}/p0.html`;
    const dir = tempDir();
    const crawl = spawn(process.execPath, [...CLI, '--data-dir', dir, 'crawl', url, '--allow-hosts', '127.0.0.1', '--max-pages', '500', '--max-depth', '20'], {
      env: { ...env, DOCTOR_RESPECT_ROBOTS: 'false' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let crawlErr = '';
    crawl.stderr!.on('data', (d) => (crawlErr += d));
    try {
      for (let i = 0; i < 600 && !existsSync(join(dir, 'local.json')); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(existsSync(join(dir, 'local.json')), `the crawl recorded itself: ${crawlErr}`);
      const expected = new RegExp(`in use by \`doctor crawl ${url.replace(/[.]/g, '\\.')}.*\` \\(process ${crawl.pid}, since \\d\\d:\\d\\d:\\d\\d\\), which runs without a server`);

      const search = await doctor(['--data-dir', dir, 'search', 'slowness']);
      assert.notEqual(search.code, 0);
      assert.match(search.stderr, expected);
      assert.match(search.stderr, /kill \d+/);
      assert.match(search.stderr, /start `doctor serve` first/);
      assert.ok(!/Could not set lock/.test(search.stderr), search.stderr);

      const config = loadConfig({ dataDir: dir, logLevel: 'silent', embeddingProvider: 'lexical' }, {});
      await assert.rejects(openApp(config, { log: silentLogger }), (e: Error) => e instanceof DatabaseLockedError && expected.test(e.message));
    } finally {
      if (crawl.exitCode === null && crawl.signalCode === null) {
        const exited = new Promise((r) => crawl.once('exit', r));
        crawl.kill('SIGKILL');
        await exited;
      }
      site.closeAllConnections();
      await new Promise<void>((r) => site.close(() => r()));
    }
    // A record left by a killed process does not blame it for a lock it no longer holds.
    const config = loadConfig({ dataDir: dir, logLevel: 'silent', embeddingProvider: 'lexical' }, {});
    const ctx = await openApp(config, { log: silentLogger, localCommand: 'doctor pages' });
    assert.equal(JSON.parse(readFileSync(join(dir, 'local.json'), 'utf8')).command, 'doctor pages');
    await ctx.close();
    assert.equal(existsSync(join(dir, 'local.json')), false, 'removed on close');
  });
});

describe('doctor page with a backwards line range', () => {
  it('exits non-zero with the message (it printed nothing and exited 0)', async () => {
    const r = await doctor(['--data-dir', tempDir(), 'page', 'any-page', '--from', '5', '--to', '2']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^doctor: --to \(2\) is before --from \(5\): give a range with --from <= --to, or --to -1 for the rest of the page$/m);
  });
});

describe('a read-only data directory', () => {
  it('a crawl says the directory must be writable (or where else to put the database), not a raw DuckDB error', async () => {
    const root = tempDir();
    chmodSync(root, 0o755);
    const dir = join(root, 'data');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    chmodSync(dir, 0o555);
    // As root, permissions do not stop writes: run the command as an unprivileged user then.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534, env: { ...env, HOME: root } } : {};
    const r = await doctor(['--data-dir', dir, 'crawl', 'http://127.0.0.1:9/', '--allow-hosts', '127.0.0.1'], asUser);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^doctor: Doctor cannot write .*doctor\.duckdb/);
    assert.match(r.stderr, /make .*data and the file writable by this user/);
    assert.match(r.stderr, /point DOCTOR_DB_PATH \(--db-path\) or DATA_DIR \(--data-dir\) at another file in a writable directory/);
  });
});
