/**
 * A database the process may not write (a read-only mount: a baked image, a shared volume) is searched as it
 * is, and a read-only server changes nothing. The mount is a read-only bind mount made here (the test skips
 * where `mount` is not permitted, e.g. not root: root writes through file modes, so chmod cannot show it).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Database } from '../src/db/database.js';
import { CLI, doctor, env, Server, sleep } from './helpers/doctor-process.js';
import { tempDir } from './helpers/tmp.js';

const mounts: string[] = [];

/** `dir` seen read-only at a new path, or the reason there is none. */
function readOnlyView(dir: string): string | { skip: string } {
  const view = join(tempDir('doctor-ro-'), 'view');
  mkdirSync(view);
  try {
    execFileSync('mount', ['--bind', dir, view], { stdio: 'pipe' });
  } catch (e) {
    return { skip: `cannot bind-mount here (${String((e as { stderr?: Buffer }).stderr ?? e).trim()}): needs root` };
  }
  mounts.push(view);
  execFileSync('mount', ['-o', 'remount,ro,bind', view], { stdio: 'pipe' });
  return view;
}

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe('a database that cannot be written', () => {
  after(() => {
    for (const m of mounts) execFileSync('umount', [m], { stdio: 'pipe' });
  });

  it('on a read-only mount: searched by the CLI and by doctor serve --read-only side by side; writes say why they cannot; a writing server says to use --read-only', async (t) => {
    const data = tempDir();
    const docs = join(tempDir(), 'docs');
    mkdirSync(docs);
    writeFileSync(join(docs, 'guide.md'), '# Guide\n\nThe flibbertigibbet setting lives in this guide.\n');
    assert.equal((await doctor(data, ['add', docs])).code, 0);
    const view = readOnlyView(data);
    if (typeof view !== 'string') return t.skip(view.skip);

    const search = await doctor(view, ['search', 'flibbertigibbet', '--json']);
    assert.equal(search.code, 0, search.stderr);
    assert.match(JSON.parse(search.stdout).results[0].chunk_text, /flibbertigibbet setting/);
    assert.match(search.stderr, /not writable by this process: opened read-only/);

    writeFileSync(join(docs, 'more.md'), '# More\n\nA page added later.\n');
    const add = await doctor(view, ['add', docs]);
    assert.equal(add.code, 1);
    assert.match(add.stderr, /is open read-only \(this process cannot write it\), so it cannot be changed: make .* writable/);

    const serve = await doctor(view, ['serve', '--port', String(await freePort())]);
    assert.equal(serve.code, 1);
    assert.match(serve.stderr, /Read-only file system.*`doctor serve --read-only`/s);

    const port = await freePort();
    const server = spawn(process.execPath, [...CLI, '--data-dir', view, 'serve', '--read-only', '--port', String(port)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    server.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise((r) => server.once('exit', r));
    try {
      const url = `http://127.0.0.1:${port}`;
      let health: Response | undefined;
      for (let i = 0; i < 600 && !health?.ok; i++) {
        assert.equal(server.exitCode, null, `doctor serve --read-only exited: ${stderr}`);
        health = await fetch(`${url}/health`).catch(() => undefined);
        if (!health?.ok) await sleep(100);
      }
      assert.equal((await health!.json()).read_only, true);
      const res = await fetch(`${url}/search_docs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'flibbertigibbet' }) });
      assert.match((await res.json()).results[0].chunk_text, /flibbertigibbet setting/);
      // the server holds the file read-only: a CLI search opens it beside it
      const beside = await doctor(view, ['search', 'flibbertigibbet', '--json']);
      assert.equal(beside.code, 0, beside.stderr);
    } finally {
      server.kill('SIGTERM');
      await exited;
    }

    // written by an older Doctor: it cannot be upgraded read-only, and the message says so
    const db = await Database.open(join(data, 'doctor.duckdb'));
    await db.run("UPDATE meta SET value = '1' WHERE key = 'schema_version'");
    await db.close();
    const old = await doctor(view, ['search', 'flibbertigibbet']);
    assert.equal(old.code, 1);
    assert.match(old.stderr, /Read-only file system.*Opening it read-only failed too: .*older Doctor \(schema version 1; .*open it once with write access/s);
  });

  it('a --read-only server resumes no crawl: an unfinished job waits for a server that may write', async () => {
    const hits: string[] = [];
    const site = createServer((req, res) => {
      const n = Number(/\/p\/(\d+)$/.exec(req.url ?? '')?.[1] ?? -1);
      setTimeout(() => {
        if (n < 0) return void res.writeHead(404).end();
        hits.push(req.url!);
        res.writeHead(200, { 'content-type': 'text/html' }).end(
          `<html><head><title>Page ${n}</title></head><body><main><h1>Page ${n}</h1><p>Text of page ${n}.</p><a href="/p/${n + 1}">next</a></main></body></html>`,
        );
      }, 150);
    });
    site.listen(0, '127.0.0.1');
    await new Promise((r) => site.once('listening', r));
    const base = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    const data = tempDir();
    try {
      // a crawl killed halfway leaves its job unfinished
      const crawl = spawn(process.execPath, [...CLI, '--data-dir', data, 'crawl', `${base}/p/0`, '--max-pages', '40'], { env, stdio: 'ignore' });
      const killed = new Promise((r) => crawl.once('exit', r));
      while (hits.length < 4) await sleep(50);
      crawl.kill('SIGKILL');
      await killed;
      const before = hits.length;

      const server = await new Server(data, { DOCTOR_READ_ONLY: 'true' }).ready();
      try {
        await sleep(2000);
        assert.equal(hits.length, before, `the read-only server fetched ${hits.slice(before).join(', ')}`);
        const { body } = await server.api('GET', '/jobs');
        assert.equal(body.jobs[0].status, 'running', 'the job is left as it was');
        assert.match(server.stderr, /1 unfinished crawl job\(s\) not resumed/);
      } finally {
        await server.stop();
      }
      // a server that may write resumes it
      const writer = await new Server(data).ready();
      try {
        const { body } = await writer.api('GET', '/jobs');
        const done = await writer.waitForJob(body.jobs[0].job_id);
        assert.equal(done.status, 'completed');
      } finally {
        await writer.stop();
      }
    } finally {
      await new Promise((r) => site.close(r));
    }
  });
});
