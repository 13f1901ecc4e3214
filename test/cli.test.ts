import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startDocSite, type DocSite } from './helpers/doc-site.js';
import { tempDir } from './helpers/tmp.js';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
const env = { ...process.env, DOCTOR_LOG_LEVEL: 'warn', DOCTOR_RENDER: 'never', DOCTOR_PER_HOST_DELAY_MS: '0' };

async function doctor(dataDir: string, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [...CLI, '--data-dir', dataDir, ...args], { env, timeout: 60_000, killSignal: 'SIGKILL' });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('CLI without a server (opens the database itself)', () => {
  let site: DocSite;
  const dir = tempDir();
  before(async () => {
    site = await startDocSite();
  });
  after(() => site.close());

  it('--help lists every command', async () => {
    const r = await doctor(dir, '--help');
    for (const c of ['serve', 'crawl', 'search', 'jobs', 'pages', 'delete', 'mcp', 'demo']) assert.match(r.stdout, new RegExp(`\\n\\s+${c}\\b`), c);
  });

  it('crawl waits with progress, then search, pages, page, tags, jobs, delete work', async () => {
    const crawl = await doctor(dir, 'crawl', `${site.url}/docs/index.html`, '--tags', 'widget', '--max-pages', '5', '--allow-hosts', '127.0.0.1', '--json');
    assert.equal(crawl.code, 0, crawl.stderr);
    const job = JSON.parse(crawl.stdout) as { status: string; pages_crawled: number; job_id: string };
    assert.equal(job.status, 'completed');
    assert.equal(job.pages_crawled, 5);
    assert.match(crawl.stderr, /pages stored|crawling/);
    const search = await doctor(dir, 'search', 'renderDashboard', '--json');
    const results = (JSON.parse(search.stdout) as { results: { url: string; page_id: string; chunk_id: string; chunk_text: string }[] }).results;
    assert.ok(results.length > 0);
    // the section around a result's passage
    const around = await doctor(dir, 'page', results[0]!.page_id, '--chunk', results[0]!.chunk_id);
    assert.match(around.stderr, /^lines \d+-\d+ of \d+\n$/);
    assert.ok(around.stdout.includes(results[0]!.chunk_text.split('\n')[0]!), around.stdout);
    // a page by its URL, as search printed it
    const byUrl = await doctor(dir, 'page', results[0]!.url, '--to', '1', '--json');
    assert.equal(byUrl.code, 0, byUrl.stderr);
    assert.equal((JSON.parse(byUrl.stdout) as { page_id: string }).page_id, results[0]!.page_id);
    const human = (await doctor(dir, 'search', 'renderDashboard')).stdout;
    assert.match(human, new RegExp(`page ${results[0]!.page_id}  chunk ${results[0]!.chunk_id}`));
    // the passage as plain text (no heading marks, code ticks or link targets), not bold when not on a terminal
    assert.ok(human.includes('\n   API reference The renderDashboard(options) function draws a dashboard.\n'), human);
    // no results: the reason, not "crawl something first" while pages are there
    assert.equal((await doctor(dir, 'search', 'renderDashboard', '--tags', 'widgte')).stdout.trim(), 'No results among pages with tags widgte: see doctor tags for the tags there are');
    assert.equal((await doctor(dir, 'search', 'zqxjkv', '--mode', 'keyword')).stdout.trim(), 'No results for "zqxjkv": no indexed page contains "zqxjkv". Try other words, or index documentation that covers it.');
    // results matching only some words say which words no page holds
    assert.match((await doctor(dir, 'search', 'renderDashboard zqxjkv')).stdout, /^note: No indexed page contains "zqxjkv": the results match the query's other words or its meaning, and may not answer it\.\n\n1\. /);
    const pages = await doctor(dir, 'pages', '--json');
    const list = JSON.parse(pages.stdout) as { doc_pages: { page_id: string }[] };
    assert.equal(list.doc_pages.length, 5);
    assert.match((await doctor(dir, 'pages', '--tags', 'widget')).stdout, /\npage 1 of 1\n$/);
    const past = await doctor(dir, 'pages', '--tags', 'widget', '--page', '3');
    assert.equal(past.code, 1);
    assert.equal(past.stderr, 'doctor: --page 3 is past the end: the listing has 1 page (5 indexed pages, 100 a page); the last is doctor pages --tags widget --page 1\n');
    const page = await doctor(dir, 'page', list.doc_pages[0]!.page_id, '--from', '1', '--to', '1');
    assert.match(page.stdout, /^# /);
    assert.match((await doctor(dir, 'tags')).stdout, /widget/);
    assert.match((await doctor(dir, 'jobs')).stdout, new RegExp(`${job.job_id}\\s+completed`));
    assert.match((await doctor(dir, 'job', job.job_id.slice(0, 8))).stdout, /completed/);
    assert.match((await doctor(dir, 'cancel', job.job_id)).stdout, /\nthe job had already ended \(completed\): nothing to cancel\n$/);
    const sites = await doctor(dir, 'sites');
    const root = (JSON.parse((await doctor(dir, 'sites', '--json')).stdout) as { sites: { root_page_id: string }[] }).sites[0]!.root_page_id;
    assert.match(sites.stdout, new RegExp(`^.+  ${site.url}/docs/index\\.html  \\[widget\\]\\n  site ${root}  5 pages, \\d+ chunks, last crawl \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\n1 site, 5 pages, \\d+ chunks; delete one with doctor delete --site <site id>\\n$`));
    const del = await doctor(dir, 'delete', '--tags', 'widget');
    assert.match(del.stdout, /deleted 5 page\(s\)/);
    assert.match((await doctor(dir, 'delete', '--tags', 'widget')).stdout, /^deleted nothing: no page matched \(doctor tags lists the tags/);
    assert.match((await doctor(dir, 'search', 'renderDashboard')).stdout, /^No results: nothing is indexed yet\. Index documentation with doctor crawl <url> or doctor add <path>/);
  });

  it('jobs and job say that a pending or running job is not running when no server runs it', async () => {
    const queued = await doctor(dir, 'crawl', `${site.url}/docs/index.html`, '--max-pages', '2', '--allow-hosts', '127.0.0.1', '--no-wait');
    const id = queued.stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/, queued.stderr);
    const note = /pending .*\[not running: no server runs it; it goes on when doctor serve starts, or doctor cancel <job_id>\]\n/;
    assert.match((await doctor(dir, 'jobs')).stdout, new RegExp(`${id}\\s+${note.source}`));
    assert.match((await doctor(dir, 'job', id)).stdout, note);
    assert.match((await doctor(dir, 'cancel', id)).stdout, /cancelled/);
    const after = (await doctor(dir, 'jobs')).stdout;
    assert.ok(!after.includes('not running'), after);
  });

  it('errors are one readable line and a non-zero exit', async () => {
    const r = await doctor(dir, 'page', 'nope');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^doctor: no page with id "nope"/);
    const bad = await doctor(dir, 'search', 'x', '--max-results', '500');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--max-results must be a whole number from 1 to 100 \(got 500\)/);
    const cfg = await run(process.execPath, [...CLI, '--data-dir', dir, 'pages'], { env: { ...env, DOCTOR_PORT: 'abc' } }).catch((e) => e as { stderr: string });
    assert.match(cfg.stderr, /DOCTOR_PORT="abc"/);
    const del = await doctor(dir, 'delete');
    assert.match(del.stderr, /at least one of --tags, --domain or --page-ids, or --site /);
  });

  it('a usage mistake points at the help of the command it was made in', async () => {
    const missing = await doctor(dir, 'search');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /missing required argument 'query'\n\(run `doctor search --help` for usage\)/);
    const option = await doctor(dir, 'jobs', '--limt', '3');
    assert.match(option.stderr, /unknown option '--limt'[\s\S]*\(run `doctor jobs --help` for usage\)/);
    const sub = await doctor(dir, 'index', 'stat');
    assert.match(sub.stderr, /Did you mean status\?[\s\S]*\(run `doctor index --help` for usage\)/);
    const help = await doctor(dir, 'help', 'serach');
    assert.equal(help.code, 1);
    assert.equal(help.stderr, "doctor: unknown command 'serach' (did you mean search?): `doctor --help` lists the commands\n");
    assert.equal(help.stdout, '');
    const deep = await doctor(dir, 'help', 'index', 'status');
    assert.equal(deep.code, 0);
    assert.match(deep.stdout, /^Usage: doctor index status /);
    assert.match((await doctor(dir, 'help', 'index', 'stat')).stderr, /unknown command 'stat' \(did you mean status\?\): `doctor index --help`/);
    assert.match((await doctor(dir, 'help', 'search')).stdout, /^Usage: doctor search \[options\] <query>[\s\S]*--max-results/);
    const top = await doctor(dir, 'serach', 'x');
    assert.match(top.stderr, /Did you mean search\?[\s\S]*\(run `doctor --help` for usage\)/);
  });
});

describe('doctor demo (the quickstart)', () => {
  it('run twice, keeps one copy of the example site: each run serves it on a new port', async () => {
    const dir = tempDir();
    const first = await doctor(dir, 'demo');
    assert.equal(first.code, 0, first.stderr);
    const second = await doctor(dir, 'demo', '--query', 'retry with backoff');
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /\nRemoved the 8 pages of an earlier quickstart run \(served on another port\)\n/);
    const pages = JSON.parse((await doctor(dir, 'pages', '--tags', 'kettle', '--json')).stdout) as { doc_pages: { url: string }[] };
    assert.equal(pages.doc_pages.length, 8, pages.doc_pages.map((p) => p.url).join('\n'));
    const titles = [...second.stdout.matchAll(/^\d\. (.+?)  \(/gm)].map((m) => m[1]);
    assert.equal(titles.length, 3);
    assert.equal(new Set(titles).size, 3, `one result per page of the site: ${titles.join(', ')}`);
    // hybrid scores of the offline embedder are 1/61, 1/62, ...: shown to 3 decimals they all read 0.016
    const scores = (out: string) => [...out.matchAll(/score (\d[\d.e+-]*)/g)].map((m) => m[1]);
    assert.equal(new Set(scores(second.stdout)).size, 3, scores(second.stdout).join(', '));
    const search = await doctor(dir, 'search', 'retries backoff jitter', '--tags', 'kettle', '--max-results', '3');
    assert.equal(new Set(scores(search.stdout)).size, 3, search.stdout);
    // -n is --max-results (what `head -n`, `git log -n` users type)
    const short = await doctor(dir, 'search', 'retries backoff jitter', '--tags', 'kettle', '-n', '2');
    assert.equal(scores(short.stdout).length, 2, short.stdout);
  });
});

describe('stopping a doctor crawl that runs the crawl itself (no server)', () => {
  let site: DocSite;
  before(async () => {
    site = await startDocSite({ delayMs: 400 });
  });
  after(() => site.close());

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} cancels the job and ends the command promptly; doctor jobs shows it cancelled, and nothing resumes it`, async () => {
      const dir = tempDir();
      const child = spawn(process.execPath, [...CLI, '--data-dir', dir, 'crawl', `${site.url}/docs/index.html`, '--max-pages', '20', '--allow-hosts', '127.0.0.1'], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      for (let i = 0; i < 600 && !/running: /.test(stderr); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(stderr, /running: /, 'the crawl has started');
      const jobId = /job ([0-9a-f-]{36})/.exec(stderr)![1]!;
      const sentAt = Date.now();
      child.kill(signal);
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 15_000).unref())]);
      if (code === 'still running') child.kill('SIGKILL');
      assert.equal(code, 1, `ends as a cancelled crawl, within 15 s of ${signal}: ${stderr}`);
      assert.ok(Date.now() - sentAt < 10_000);
      assert.match(stderr, /cancelling/);
      const jobs = await doctor(dir, 'jobs');
      assert.match(jobs.stdout, new RegExp(`^${jobId}\\s+cancelled\\b.*\\(cancelled by request\\)`, 'm'));
      // a later crawl in this data directory (its runner picks up unfinished jobs) does not resume it
      const later = await doctor(dir, 'crawl', `${site.url}/docs/guide/config.html`, '--max-pages', '1', '--allow-hosts', '127.0.0.1', '--json');
      assert.equal(later.code, 0, later.stderr);
      assert.match((await doctor(dir, 'job', jobId)).stdout, /cancelled/);
    });
  }
});

describe('a doctor crawl without a server, with unfinished jobs of earlier runs in the database', () => {
  let site: DocSite;
  before(async () => {
    site = await startDocSite({ delayMs: 400 });
  });
  after(() => site.close());

  it('runs only its own crawl, says the earlier jobs are left for doctor serve, and ends without an error about them', async () => {
    const dir = tempDir();
    const earlier: string[] = [];
    // As many earlier jobs as crawl slots (DOCTOR_WORKERS, 2): resumed, they would hold every slot and this
    // command's crawl would wait behind two crawls of 20 slow pages.
    for (const page of ['index.html', 'guide/intro.html']) {
      const queued = await doctor(dir, 'crawl', `${site.url}/docs/${page}`, '--max-pages', '20', '--allow-hosts', '127.0.0.1', '--no-wait');
      assert.match(queued.stdout.trim(), /^[0-9a-f-]{36}$/, queued.stderr);
      earlier.push(queued.stdout.trim());
    }
    const crawl = await doctor(dir, 'crawl', `${site.url}/docs/guide/config.html`, '--max-pages', '1', '--allow-hosts', '127.0.0.1');
    assert.equal(crawl.code, 0, crawl.stderr);
    assert.ok(!/could not be run|database is closed/i.test(crawl.stderr), crawl.stderr);
    assert.match(crawl.stderr, /2 unfinished crawls from earlier runs are not resumed here: .*`doctor serve` resumes them/);
    for (const id of earlier) {
      assert.ok(crawl.stderr.includes(id), `names ${id}: ${crawl.stderr}`);
      // never started: still waiting for a server, with nothing crawled
      assert.match((await doctor(dir, 'job', id)).stdout, new RegExp(`^${id}\\s+pending\\b`));
    }
    // The same site again: refused (a second crawl beside the first would store its pages twice), saying that
    // nothing runs the earlier job and how to go on.
    const again = await doctor(dir, 'crawl', `${site.url}/docs/index.html`, '--max-pages', '1', '--allow-hosts', '127.0.0.1');
    assert.equal(again.code, 1, again.stderr);
    assert.ok(again.stderr.includes(`from an earlier run is unfinished (job ${earlier[0]}, pending; nothing runs it now): \`doctor serve\` resumes it, or cancel it (doctor cancel ${earlier[0]})`), again.stderr);
  });
});

describe('CLI with a running server (talks to it over HTTP)', () => {
  let site: DocSite;
  const dir = tempDir();
  let server: ReturnType<typeof spawn>;
  before(async () => {
    site = await startDocSite();
    server = spawn(process.execPath, [...CLI, '--data-dir', dir, 'serve', '--port', '0', '--allow-hosts', '127.0.0.1'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    server.stderr!.on('data', (d) => (err += d));
    for (let i = 0; i < 600 && !existsSync(join(dir, 'server.json')); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(existsSync(join(dir, 'server.json')), `server started: ${err}`);
  });
  after(async () => {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
    await site.close();
  });

  it('crawl, search and jobs go through the server; no lock error', async () => {
    const crawl = await doctor(dir, 'crawl', `${site.url}/docs/guide/intro.html`, '--max-pages', '2', '--max-depth', '1', '--json');
    assert.equal(crawl.code, 0, crawl.stderr);
    assert.match(crawl.stderr, /on http:\/\/127\.0\.0\.1:/);
    assert.equal(JSON.parse(crawl.stdout).status, 'completed');
    const search = await doctor(dir, 'search', 'install widget toolkit');
    assert.equal(search.code, 0, search.stderr);
    assert.match(search.stdout, /Introduction/);
    // a long query in a non-Latin script (more than a query string carries) goes through the server too
    const long = await doctor(dir, 'search', `install widget ${'ウィジェットの導入'.repeat(200)}`, '--mode', 'keyword', '--json');
    assert.equal(long.code, 0, long.stderr);
    assert.match(long.stdout, /Introduction/);
    const noWait = await doctor(dir, 'crawl', `${site.url}/docs/api/ref.html`, '--no-wait');
    assert.match(noWait.stdout.trim(), /^[0-9a-f-]{36}$/);
    assert.ok(!/lock/i.test(crawl.stderr + search.stderr + noWait.stderr));
  });

  it('a second doctor serve on the same data directory says a server already serves it (not that it does not answer)', async () => {
    const second = await doctor(dir, 'serve', '--port', '0');
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, /^doctor: a Doctor server already serves this database \(.+\) at http:\/\/127\.0\.0\.1:\d+ \(process \d+\): use it/);
    assert.ok(!/does not answer/.test(second.stderr), second.stderr);
  });

  it('the server removes its address file when it stops', async () => {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    assert.equal(existsSync(join(dir, 'server.json')), false);
    const pages = await doctor(dir, 'pages', '--json');
    assert.equal(pages.code, 0, pages.stderr);
    assert.ok((JSON.parse(pages.stdout) as { doc_pages: unknown[] }).doc_pages.length >= 2, 'local access after the server stopped');
  });
});
