/**
 * `doctor compact`: a database grown by re-crawls of pages that change every time (DuckDB keeps the space of
 * their deleted rows) is rewritten at the size of what it holds, keeping every page, chunk, job, id and seq,
 * so the vector index file beside it stays current and later crawls go on as before.
 */
import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statfsSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Database } from '../src/db/database.js';
import { searchDocs } from '../src/service/search.js';
import { fetchUrl } from '../src/service/jobs.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { CLI, doctor, env, Server, sleep } from './helpers/doctor-process.js';
import { tempDir } from './helpers/tmp.js';

const PAGES = 30;

describe('doctor compact', () => {
  let site: HttpServer;
  let base = '';
  let served = 0;
  const dir = tempDir();
  const dbPath = join(dir, 'doctor.duckdb');

  before(async () => {
    // Every page says when it was served (as a build date or a visit counter would): each re-crawl rewrites it.
    site = createServer((req, res) => {
      const m = /^\/docs\/p(\d+)\.html$/.exec(req.url ?? '');
      res.setHeader('content-type', 'text/html');
      if (req.url === '/docs/index.html') {
        res.end(`<html><head><title>Docs</title></head><body><main><h1>Docs</h1>${Array.from({ length: PAGES }, (_, i) => `<a href="p${i}.html">Page ${i}</a>`).join(' ')}</main></body></html>`);
      } else if (m && Number(m[1]) < PAGES) {
        const i = Number(m[1]);
        const text = Array.from({ length: 80 }, (_, k) => `<p>Section ${k} of page ${i}: the gearbox ${i * 100 + k} reads its settings, checks valve ${k % 7} and logs ${k + i} lines.</p>`).join('\n');
        res.end(`<html><head><title>Page ${i}</title></head><body><main><h1>Page ${i}</h1>${text}<p>Served ${++served} times.</p></main></body></html>`);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((ok) => site.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  });
  after(() => new Promise<void>((ok) => site.close(() => ok())));

  const crawl = async (ctx: TestContext) => {
    const { job_id } = await fetchUrl(ctx, { url: `${base}/docs/index.html`, max_pages: PAGES + 1, max_depth: 1 });
    const job = await ctx.runner!.waitFor(job_id);
    assert.equal(job.status, 'completed', job.error_message ?? '');
  };
  const chunkCount = async (ctx: TestContext) => (await ctx.store.db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM document_embeddings'))[0]!.n;
  const topUrls = async (ctx: TestContext) =>
    (await searchDocs(ctx, { query: 'gearbox 1705 settings valve', max_results: 5 })).results.map((r) => `${r.url} ${r.chunk_text.slice(0, 40)}`);

  it('frees the space of deleted rows and keeps everything stored', async () => {
    let ctx = await makeContext({ dbPath });
    for (let round = 0; round < 5; round++) await crawl(ctx);
    const pages = await ctx.store.pages.count();
    const chunks = await chunkCount(ctx);
    const results = await topUrls(ctx);
    await ctx.close();
    const rebuilt = await doctor(dir, ['index', 'rebuild']);
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    const grown = statSync(dbPath).size;

    // a copy left by an interrupted run is replaced
    writeFileSync(`${dbPath}.compacting`, 'left over');
    const out = await doctor(dir, ['compact']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /compacted .*doctor\.duckdb: [\d.]+ MiB -> [\d.]+ MiB \([\d.]+ MiB freed\).*rows, all kept/);
    const compacted = statSync(dbPath).size;
    assert.ok(compacted < grown / 2, `the file went from ${(grown / 1e6).toFixed(1)} to ${(compacted / 1e6).toFixed(1)} MB`);
    assert.ok(!existsSync(`${dbPath}.compacting`) && !existsSync(`${dbPath}.compacting.wal`));

    // The index file rebuilt before still matches the table: no rebuild at the next start.
    const status = await doctor(dir, ['index', 'status', '--json']);
    assert.equal(JSON.parse(status.stdout).freshness, 'current', status.stdout);

    ctx = await makeContext({ dbPath, vectorEngine: 'usearch' });
    try {
      assert.equal(await ctx.store.pages.count(), pages);
      assert.equal(await chunkCount(ctx), chunks);
      assert.deepEqual(await topUrls(ctx), results);
      // The sequences go on where they stood: a re-crawl after compacting writes new rows beside the kept ones.
      await crawl(ctx);
      assert.equal(await ctx.store.pages.count(), pages);
      assert.equal(await chunkCount(ctx), chunks);
      assert.deepEqual((await topUrls(ctx)).map((r) => r.split(' ')[0]), results.map((r) => r.split(' ')[0]));
    } finally {
      await ctx.close();
    }
  });

  it('refuses while a server or another command holds the database, changing nothing', async () => {
    const size = statSync(dbPath).size;
    const server = await new Server(dir).ready();
    try {
      const out = await doctor(dir, ['compact']);
      assert.notEqual(out.code, 0);
      assert.match(out.stderr, /A Doctor server \(http:\/\/127\.0\.0\.1:\d+, pid \d+\) holds .*Stop it, run `doctor compact`/);
    } finally {
      await server.stop();
    }
    const db = await Database.open(dbPath);
    try {
      const out = await doctor(dir, ['compact']);
      assert.notEqual(out.code, 0);
      assert.match(out.stderr, new RegExp(`in use by process ${process.pid}`));
    } finally {
      await db.close();
    }
    assert.equal(statSync(dbPath).size, size);
    assert.ok(!existsSync(`${dbPath}.compacting`));
  });

  it('on a disk without room for the copy, says so and leaves the database as it was', async (t) => {
    const disk = join(tempDir('doctor-disk-'), 'small');
    mkdirSync(disk);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', disk], { stdio: 'pipe' });
    } catch (e) {
      return t.skip(`cannot mount a tmpfs here (${String((e as { stderr?: Buffer }).stderr ?? e).trim()}): needs root`);
    }
    try {
      const db = join(disk, 'doctor.duckdb');
      copyFileSync(dbPath, db);
      const before = createHash('sha1').update(readFileSync(db)).digest('hex');
      // another program takes the space but ~1 MiB
      const free = statfsSync(disk).bavail * statfsSync(disk).bsize;
      writeFileSync(join(disk, 'filler'), Buffer.alloc(Math.max(0, free - 2 ** 20)));
      const out = await doctor(disk, ['compact']);
      assert.equal(out.code, 1, out.stdout + out.stderr);
      assert.match(out.stderr, /The disk holding \S+small is full: compacting writes a copy .*Free space there and run doctor compact again\. The database is unchanged\./);
      assert.equal(createHash('sha1').update(readFileSync(db)).digest('hex'), before);
      assert.deepEqual(readdirSync(disk).sort(), ['doctor.duckdb', 'filler']);

      rmSync(join(disk, 'filler'));
      const ok = await doctor(disk, ['compact']);
      assert.equal(ok.code, 0, ok.stderr);
      const search = await doctor(disk, ['search', 'gearbox 1705 settings valve', '--json']);
      assert.match(JSON.parse(search.stdout).results[0].url, /\/docs\/p17\.html$/);
    } finally {
      execFileSync('umount', [disk], { stdio: 'pipe' });
    }
  });

  it('keeps a database reached through a symlink where it lives, with its permissions', async () => {
    const elsewhere = join(tempDir(), 'kept-here.duckdb');
    copyFileSync(dbPath, elsewhere);
    chmodSync(elsewhere, 0o600);
    const linkDir = tempDir();
    symlinkSync(elsewhere, join(linkDir, 'doctor.duckdb'));
    const out = await doctor(linkDir, ['compact']);
    assert.equal(out.code, 0, out.stderr);
    assert.ok(lstatSync(join(linkDir, 'doctor.duckdb')).isSymbolicLink(), 'the link stays a link');
    assert.equal(statSync(elsewhere).mode & 0o777, 0o600);
    assert.ok(!existsSync(`${elsewhere}.compacting`) && !existsSync(join(linkDir, 'doctor.duckdb.compacting')));
    const search = await doctor(linkDir, ['search', 'gearbox 1705 settings valve', '--json']);
    assert.match(JSON.parse(search.stdout).results[0].url, /\/docs\/p17\.html$/);
  });

  it('Ctrl-C while copying leaves the database as it was and removes the partial copy', async () => {
    const bigDir = tempDir();
    const big = join(bigDir, 'doctor.duckdb');
    const ctx = await makeContext({ dbPath: big, runner: false });
    // ~300 MB of vectors, so that the copy takes a while (SQL for speed: compacting does not care how they came)
    await ctx.store.db.run(
      `INSERT INTO document_embeddings (id, seq, embedding, text_chunk) SELECT 'c' || i, nextval('embedding_seq'),
         list_transform(range(256), k -> random()::FLOAT)::FLOAT[256], 'text ' || i FROM range(300000) r(i)`,
    );
    await ctx.close();
    const before = createHash('sha1').update(readFileSync(big)).digest('hex');
    const child = spawn(process.execPath, [...CLI, '--data-dir', bigDir, 'compact'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((ok) => child.once('exit', ok));
    for (let i = 0; i < 600 && !(statSync(`${big}.compacting`, { throwIfNoEntry: false })?.size ?? 0); i++) await sleep(20);
    assert.ok(existsSync(`${big}.compacting`), `the copy never started: ${stderr}`);
    child.kill('SIGINT');
    assert.equal(await exited, 1, stderr);
    assert.match(stderr, /Interrupted: \S+doctor\.duckdb is unchanged \(the partial copy was removed\)/);
    assert.equal(createHash('sha1').update(readFileSync(big)).digest('hex'), before);
    assert.deepEqual(readdirSync(bigDir).filter((f) => f.startsWith('doctor.duckdb.compacting')), []);
  });

  it('says so when there is no database', async () => {
    const out = await doctor(tempDir(), ['compact']);
    assert.notEqual(out.code, 0);
    assert.match(out.stderr, /No Doctor database at .*nothing to compact/);
  });
});
