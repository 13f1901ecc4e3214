/**
 * `doctor export` / `doctor import` from the command line, without a server (the CLI opens the database)
 * and with `doctor serve` holding it (the CLI forwards; REST accepts these only from the local CLI).
 */
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startDocSite, type DocSite } from './helpers/doc-site.js';
import { tempDir } from './helpers/tmp.js';
import { makeContext } from './helpers/context.js';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { fetchUrl } from '../src/service/jobs.js';
import { searchDocs } from '../src/service/search.js';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
const env = { ...process.env, DOCTOR_LOG_LEVEL: 'warn', DOCTOR_RENDER: 'never', DOCTOR_PER_HOST_DELAY_MS: '0' };

async function doctor(dataDir: string, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [...CLI, '--data-dir', dataDir, ...args], { env, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('doctor export / import', () => {
  let site: DocSite;
  const source = tempDir();
  const target = tempDir();
  const files = tempDir();
  const archive = join(files, 'widget docs.tar');
  let server: ReturnType<typeof spawn> | undefined;

  before(async () => {
    // The source database is crawled in-process (the crawl command has tests of its own), then closed.
    site = await startDocSite();
    const ctx = await makeContext({ dbPath: join(source, 'doctor.duckdb'), embedder: new LexicalEmbedder() });
    const { job_id } = await fetchUrl(ctx, { url: `${site.url}/docs/index.html`, tags: ['widget'], max_pages: 8 });
    assert.equal((await ctx.runner!.waitFor(job_id)).status, 'completed');
    await ctx.close();
  });
  after(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server!.once('exit', r));
    }
    await site.close();
  });

  it('without a server: export, import into a new data directory, same search results; progress and a summary', async () => {
    const ex = await doctor(source, 'export', '-o', archive);
    assert.equal(ex.code, 0, ex.stderr);
    assert.match(ex.stdout, /^exported 8 page\(s\) and \d+ chunk\(s\) to .*widget docs\.tar \(archive, \d+ KiB, [\d.]+ s\)/);
    assert.match(ex.stdout, /vectors: lexical\/lexical-hash-v1, 1536 dimensions/);
    assert.match(ex.stderr, /writing chunks\.parquet/, 'progress lines on a non-terminal');

    const im = await doctor(target, 'import', archive);
    assert.equal(im.code, 0, im.stderr);
    assert.match(im.stdout, /pages: {2}8 added, 0 replaced \(newer crawl\), 0 kept/);
    assert.match(im.stderr, /checking checksums|writing chunks/);
    // (Every mode and engine is compared in portable.test.ts; here, that the CLI wrote the data directory's database.)
    const [a, b] = [await makeContext({ dbPath: join(target, 'doctor.duckdb'), embedder: new LexicalEmbedder(), runner: false }), await makeContext({ dbPath: join(source, 'doctor.duckdb'), embedder: new LexicalEmbedder(), runner: false })];
    try {
      const query = { query: 'install widget toolkit', max_results: 20 };
      const expected = await searchDocs(b, query);
      assert.ok(expected.results.length > 5);
      assert.deepEqual(await searchDocs(a, query), expected);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('with a server holding the database: the CLI forwards; REST refuses callers without the local key', async () => {
    server = spawn(process.execPath, [...CLI, '--data-dir', target, 'serve', '--port', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    server.stderr!.on('data', (d) => (err += d));
    const infoPath = join(target, 'server.json');
    for (let i = 0; i < 600 && !existsSync(infoPath); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(existsSync(infoPath), `server started: ${err}`);
    assert.equal(statSync(infoPath).mode & 0o777, 0o600, 'server.json (holding the key) is readable by its user only');
    const info = JSON.parse(readFileSync(infoPath, 'utf8')) as { url: string; localKey: string };

    // Importing the same export again through the server: nothing changes.
    const im = await doctor(target, 'import', archive, '--json');
    assert.equal(im.code, 0, im.stderr);
    const summary = JSON.parse(im.stdout) as { pages: { added: number; kept: number }; chunks: { added: number } };
    assert.deepEqual([summary.pages.added, summary.pages.kept, summary.chunks.added], [0, 8, 0]);
    assert.ok(!/lock/i.test(im.stderr));

    const out = join(files, 'from-server');
    const ex = await doctor(target, 'export', '-o', out, '--tags', 'widget');
    assert.equal(ex.code, 0, ex.stderr);
    assert.match(ex.stdout, /exported 8 page\(s\).*\(directory,/);
    assert.ok(existsSync(join(out, 'manifest.json')));
    assert.ok(!ex.stdout.includes('no page matched'));
    const none = await doctor(target, 'export', '-o', join(files, 'none.tar'), '--tags', 'widgte');
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /exported 0 page\(s\)[^]*\nno page matched the filters \(doctor tags lists the tags/);

    // Anyone else (no key, or a wrong one) gets 403, before any file is touched.
    const post = (path: string, headers: Record<string, string>) =>
      fetch(new URL(path, info.url), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ path: join(files, 'stolen.tar') }) });
    for (const headers of [{}, { 'x-doctor-local-key': 'guess' }] as Record<string, string>[]) {
      for (const path of ['/export_index', '/import_index']) {
        const res = await post(path, headers);
        assert.equal(res.status, 403, path);
        assert.match(((await res.json()) as { detail: string }).detail, /only the doctor CLI on that machine/);
      }
    }
    assert.equal(existsSync(join(files, 'stolen.tar')), false);
    // With the key, the answer streams progress lines and ends with the result.
    const res = await post('/export_index', { 'x-doctor-local-key': info.localKey });
    assert.equal(res.status, 200);
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { progress?: unknown; result?: { pages: number } });
    assert.ok(lines.some((l) => l.progress));
    assert.equal(lines[lines.length - 1]!.result?.pages, 8);
  });
});
