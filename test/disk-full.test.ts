/**
 * A full disk, as a user meets it: the database lives on a small tmpfs (mounted here; the tests skip where
 * `mount` is not permitted, e.g. not root), the real CLI fills it, and after the tmpfs is made larger
 * everything committed before is still there.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeSync, writeFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from './helpers/tmp.js';
import { doctor, Server, sleep } from './helpers/doctor-process.js';

/**
 * Appends to `path` until the file system is full (another program taking the space): in 64 KiB blocks, then
 * smaller ones down to a byte, so that no room is left for a small write (a job's end in the WAL found the
 * up to 64 KiB the big blocks left, now and then).
 */
function fillDisk(path: string): void {
  const fd = openSync(path, 'a');
  try {
    for (const size of [64 * 1024, 4096, 1]) {
      const block = Buffer.alloc(size, 1);
      try {
        for (;;) writeSync(fd, block);
      } catch {
        /* no room for this size */
      }
    }
  } finally {
    closeSync(fd);
  }
}

const mounted: string[] = [];

/** A tmpfs of `mb` MiB at a new directory, or the reason there is none. */
function smallDisk(mb: number): string | { skip: string } {
  const dir = join(tempDir('doctor-disk-'), 'small');
  mkdirSync(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mb}m`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    return { skip: `cannot mount a tmpfs here (${String((e as { stderr?: Buffer }).stderr ?? e).trim()}): needs root` };
  }
  mounted.push(dir);
  return dir;
}

function resize(dir: string, mb: number): void {
  execFileSync('mount', ['-o', `remount,size=${mb}m`, dir], { stdio: 'pipe' });
}

/** Text of distinct words (so that the database and its keyword index grow with it). */
function words(seed: number, n: number): string {
  const out: string[] = [];
  let x = seed * 7919 + 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(`w${x.toString(36)}`);
    if (i % 12 === 11) out.push('.\n\n');
  }
  return out.join(' ');
}

/** A site of 2,047 pages of distinct words: page n links to 2n+1 and 2n+2. */
let pageDelayMs = 0;

async function startBigSite(): Promise<{ url: string; server: HttpServer }> {
  const server = createServer(async (req, res) => {
    if (pageDelayMs) await sleep(pageDelayMs);
    const n = Number(/^\/p\/(\d+)$/.exec(req.url ?? '')?.[1] ?? NaN);
    if (!(n >= 0 && n < 2047)) return res.writeHead(404).end('not found');
    const first = n === 0 ? '<p>The zanzibarquokka lives on the first page.</p>' : '';
    res.writeHead(200, { 'content-type': 'text/html' }).end(
      `<!DOCTYPE html><html><head><title>Page ${n}</title></head><body><main><h1>Page ${n}</h1>${first}` +
        `<p>${words(n + 1000, 3000)}</p><a href="/p/${2 * n + 1}">next</a> <a href="/p/${2 * n + 2}">other</a></main></body></html>`,
    );
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('a full disk', () => {
  let site: { url: string; server: HttpServer };
  before(async () => {
    site = await startBigSite();
  });
  after(() => {
    site.server.close();
    for (const dir of mounted) {
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } catch {
        /* already gone */
      }
    }
  });

  it('doctor add on a full disk says the disk is full and what to do (it printed DuckDB\'s "Failed to commit"); what was added before is kept', async (t) => {
    const data = smallDisk(8);
    if (typeof data !== 'string') return t.skip(data.skip);
    const first = join(tempDir(), 'first');
    mkdirSync(first);
    writeFileSync(join(first, 'kept.md'), '# Kept page\n\nThe zanzibarquokka appears only in this page.\n');
    const ok = await doctor(data, ['add', first]);
    assert.equal(ok.code, 0, ok.stderr);

    const big = join(tempDir(), 'big');
    mkdirSync(big);
    for (let i = 0; i < 300; i++) writeFileSync(join(big, `page-${i}.md`), `# Page ${i}\n\n${words(i, 3000)}\n`);
    const full = await doctor(data, ['add', big], {}, 60_000);
    assert.equal(full.code, 1, full.stdout + full.stderr);
    assert.match(full.stderr, /doctor: The disk holding \S+small is full \(no space left on device\): free space on it, or point DOCTOR_DB_PATH/);
    assert.doesNotMatch(full.stderr, /TransactionContext|Failed to commit/);

    resize(data, 64);
    const found = await doctor(data, ['search', 'zanzibarquokka']);
    assert.equal(found.code, 0, found.stderr);
    assert.match(found.stdout, /Kept page/);
  });

  it('doctor crawl stops at the first page the full disk cannot take, with the reason and what to do: it marked every later page "skipped" with DuckDB\'s error', async (t) => {
    const data = smallDisk(8);
    if (typeof data !== 'string') return t.skip(data.skip);
    const r = await doctor(data, ['crawl', `${site.url}/p/0`, '--max-pages', '1000', '--max-depth', '10', '--json'], {}, 60_000);
    assert.equal(r.code, 1, r.stderr);
    const job = JSON.parse(r.stdout) as { status: string; pages_crawled: number; pages_skipped: number; error_message: string };
    assert.equal(job.status, 'failed');
    assert.match(job.error_message, /^The disk holding \S+small is full \(no space left on device\): free space on it/);
    assert.ok(job.pages_crawled > 0 && job.pages_crawled < 1000, String(job.pages_crawled));
    // the pages it could not store stay queued, not skipped (a skipped page is never fetched again)
    assert.equal(job.pages_skipped, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /page failed/);
    // index files it could not save leave no half-written temporary file taking space
    assert.deepEqual(readdirSync(data).filter((f) => f.includes('.tmp')), []);

    resize(data, 64);
    const found = await doctor(data, ['search', 'zanzibarquokka']);
    assert.equal(found.code, 0, found.stderr);
    assert.match(found.stdout, /Page 0/);
  });

  it('a crawl job whose end cannot be written (the disk stays full) is reported failed with the reason, and a new crawl is refused with 507: job_progress said running forever and doctor crawl waited for it', async (t) => {
    const data = smallDisk(16);
    if (typeof data !== 'string') return t.skip(data.skip);
    const server = await new Server(data).ready();
    pageDelayMs = 100;
    const filler = join(data, 'filler');
    let topUp: NodeJS.Timeout | undefined;
    try {
      const started = await server.api('POST', '/fetch_url', { url: `${site.url}/p/0`, max_pages: 1000, max_depth: 10 });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const id = started.body.job_id as string;
      for (let i = 0; i < 200 && (await server.api('GET', `/job_progress?job_id=${id}`)).body.pages_crawled < 3; i++) await sleep(100);
      // Another program fills the disk, and keeps it full.
      const fill = () => fillDisk(filler);
      fill();
      topUp = setInterval(fill, 20);
      const job = await server.waitForJob(id, 20_000);
      assert.equal(job.status, 'failed');
      assert.match(job.error_message, /^The disk holding \S+small is full/);
      // Its end is usually not written (the suffix says so); now and then the end finds room a rolled-back write
      // freed before the filler took it back, and is written: then the status above is the database's own.
      if (/could not be written/.test(job.error_message)) assert.match(job.error_message, /resumes when doctor serve next starts/);
      const listed = await server.api('GET', '/jobs');
      assert.equal(listed.body.jobs.find((j: { job_id: string }) => j.job_id === id).status, 'failed');

      // The filler tops the disk up every 20 ms: a write DuckDB rolled back frees space the new job's row can take
      // before it does. Such a crawl, accepted while there was room, is cancelled and another one asked for.
      let refused: Awaited<ReturnType<typeof server.api>> | undefined;
      for (let attempt = 1; attempt <= 3; attempt++) {
        fill();
        refused = await server.api('POST', '/fetch_url', { url: `${site.url}/p/${attempt}`, max_pages: 5 });
        if (refused.status !== 200) break;
        await server.api('POST', '/cancel_job', { job_id: refused.body.job_id });
      }
      assert.equal(refused!.status, 507, JSON.stringify(refused!.body));
      assert.match(refused!.body.detail, /is full \(no space left on device\): free space on it/);
      assert.ok(server.alive);
      assert.equal((await server.api('GET', '/search_docs?query=zanzibarquokka')).status, 200);
    } finally {
      clearInterval(topUp);
      pageDelayMs = 0;
      rmSync(filler, { force: true });
      await server.stop();
    }
  });

  it('doctor import on a disk without room to unpack the archive says the disk is full and what to do: it called the archive unreadable ("could not be read as a Doctor export archive: ENOSPC")', async (t) => {
    const data = smallDisk(2);
    if (typeof data !== 'string') return t.skip(data.skip);
    const source = tempDir();
    const docs = join(tempDir(), 'docs');
    mkdirSync(docs);
    for (let i = 0; i < 70; i++) writeFileSync(join(docs, `page-${i}.md`), `# Page ${i}\n\n${words(i, 3000)}\n`);
    assert.equal((await doctor(source, ['add', docs])).code, 0);
    const archive = join(tempDir(), 'export.tar');
    const exported = await doctor(source, ['export', '-o', archive]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.ok(statSync(archive).size > 2 * 1048576, `the archive must not fit: ${statSync(archive).size}`);

    const r = await doctor(data, ['import', archive], {}, 60_000);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /doctor: The disk holding \S+small is full: unpacking \S+export\.tar there \(beside the database\) needs about its size free/);
    assert.doesNotMatch(r.stderr, /could not be read as a Doctor export archive/);
    assert.deepEqual(readdirSync(data).filter((f) => f.startsWith('doctor-import-')), [], 'the half-unpacked files are removed');
  });

  it('doctor index rebuild that cannot save the index (full disk) says so and exits 1: it printed "rebuilt N rows" with no file', async (t) => {
    const data = smallDisk(16);
    if (typeof data !== 'string') return t.skip(data.skip);
    const docs = join(tempDir(), 'docs');
    mkdirSync(docs);
    for (let i = 0; i < 20; i++) writeFileSync(join(docs, `page-${i}.md`), `# Page ${i}\n\n${words(i, 2000)}\n`);
    assert.equal((await doctor(data, ['add', docs])).code, 0);
    const filler = join(data, 'filler');
    fillDisk(filler);
    const r = await doctor(data, ['index', 'rebuild'], { DOCTOR_VECTOR_ENGINE: 'usearch' }, 60_000);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /^rebuilt/m);
    assert.match(r.stderr, /doctor: Rebuilt \d+ rows, but saving the index to \S+doctor\.duckdb\.usearch failed \(.+\): is the disk full\? Free space on it and run doctor index rebuild again/);
    rmSync(filler);
    const again = await doctor(data, ['index', 'rebuild'], { DOCTOR_VECTOR_ENGINE: 'usearch' }, 60_000);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^rebuilt \d+ rows/m);
  });
});
