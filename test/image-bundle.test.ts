/**
 * The container image runs Doctor from a bundle (scripts/image-bundle.mjs: one minified ES module per entry
 * point, every package inlined except those in scripts/image-externals.mjs). This builds the bundle in the
 * image's layout (dist/cli/ beside package.json, bin/, examples/ and the web interface's assets) and runs
 * it: the CLI, a crawl with its worker threads (extraction, usearch), search, and the server's web
 * interface. `npm run test:image` checks the image itself, but not in `npm test`; this catches in every run
 * a bundle that breaks, e.g. a new dependency that reads files beside itself or a worker the bundle misses.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { tempDir } from './helpers/tmp.js';

const run = promisify(execFile);
const REPO = process.cwd();
const env = { ...process.env, DOCTOR_LOG_LEVEL: 'warn', DOCTOR_RENDER: 'never', DOCTOR_PER_HOST_DELAY_MS: '0' };

describe("the container image's bundle", () => {
  const app = tempDir('doctor-bundle-');
  const doctor = (args: string[]) => run(process.execPath, [join(app, 'bin/doctor.js'), ...args], { env, timeout: 120_000 });

  before(async () => {
    await run(process.execPath, ['scripts/image-bundle.mjs', join(app, 'dist')], { timeout: 120_000 });
    for (const p of ['package.json', 'bin', 'examples', 'src/http/ui/assets']) {
      mkdirSync(join(app, p, '..'), { recursive: true });
      cpSync(join(REPO, p), join(app, p), { recursive: true });
    }
    symlinkSync(join(REPO, 'node_modules'), join(app, 'node_modules'));
  });

  it('is one module per entry point: the CLI and every worker thread, and lists what it leaves out', () => {
    for (const f of ['main', 'process-page-worker', 'usearch-worker', 'local-worker', 'page-reader-worker', 'markdown-worker', 'read-worker']) {
      assert.ok(existsSync(join(app, 'dist/cli', `${f}.js`)), f);
    }
    const info = JSON.parse(readFileSync(join(app, 'dist/cli/externals.json'), 'utf8')) as { externals: string[]; required: string[] };
    assert.ok(info.externals.includes('@duckdb/node-api') && info.required.includes('usearch'), JSON.stringify(info));
  });

  it('reports the version from package.json', async () => {
    const { stdout } = await doctor(['--version']);
    assert.equal(stdout.trim(), (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
  });

  it('crawls the example site with its worker threads and finds it', async () => {
    const data = tempDir();
    const { stdout, stderr } = await doctor(['--data-dir', data, 'demo']);
    assert.match(stdout, /http:\/\/127\.0\.0\.1:\d+\/guide\/retries\.html/, stderr);
    assert.ok(existsSync(join(data, 'doctor.duckdb.usearch')), 'the usearch worker saved its index');
  });

  describe('serve', () => {
    const data = tempDir();
    let child: ReturnType<typeof spawn>;
    let url = '';
    before(async () => {
      const docs = tempDir();
      writeFileSync(join(docs, 'guide.md'), '# Bundled guide\n\nSome *formatted* text.\n');
      await doctor(['--data-dir', data, 'add', docs]);
      child = spawn(process.execPath, [join(app, 'bin/doctor.js'), '--data-dir', data, 'serve', '--port', '0'], { env, stdio: 'ignore' });
      for (let i = 0; i < 600 && !url; i++) {
        await new Promise((r) => setTimeout(r, 100));
        try {
          url = (JSON.parse(readFileSync(join(data, 'server.json'), 'utf8')) as { url: string }).url;
        } catch {
          /* not up yet */
        }
      }
      assert.ok(url, 'the server wrote server.json');
    });
    after(async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    });

    it('renders a stored page in its Markdown worker thread', async () => {
      const { doc_pages: pages } = (await (await fetch(`${url}/list_doc_pages`)).json()) as { doc_pages: { page_id: string }[] };
      assert.equal(pages.length, 1);
      const page = await (await fetch(`${url}/ui/page/${pages[0]!.page_id}`)).text();
      assert.match(page, /<em>formatted<\/em>/, 'rendered by marked, not shown as plain text');
    });

    it('serves the web interface: its page and the script it loads', async () => {
      const page = await (await fetch(`${url}/`)).text();
      const script = /src="(\/ui\/assets\/app\.js\?v=[0-9a-f]+)"/.exec(page)?.[1];
      assert.ok(script, page.slice(0, 300));
      const res = await fetch(`${url}${script}`);
      assert.equal(res.status, 200);
      assert.ok((await res.text()).length > 1000);
    });
  });
});
