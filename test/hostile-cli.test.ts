/**
 * Issue 20: `doctor crawl` (no server: it opens the database itself) refuses bad include/exclude patterns
 * before queueing anything, and a pattern that backtracks forever on a backtracking engine does not hang it.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startHostileSite, type HostileSite } from './helpers/hostile-site.js';
import { startModelHub } from './helpers/model-hub.js';
import { tempDir } from './helpers/tmp.js';
import { passage } from '../src/cli/output.js';
import { CLI, doctor, env, Server, type Json } from './helpers/doctor-process.js';

describe('doctor crawl and hostile patterns (issue 20)', () => {
  let site: HostileSite;
  before(async () => {
    site = await startHostileSite();
  });
  after(() => site.close());

  it('doctor crawl refuses bad patterns before queueing anything; a backtracking pattern does not hang it', async () => {
    const dir = tempDir();
    const refused = await doctor(dir, ['crawl', `${site.url}/links`, '--include', '*/links*', '--exclude', '/[/', '--json']);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /--exclude: invalid regular expression in URL pattern \/\[\//);
    // taken as a glob, /html/x (a regex with an unknown flag?) matched no URL at all, silently
    const unknownFlag = await doctor(dir, ['crawl', `${site.url}/links`, '--include', '/html/x', '--exclude', '/docs/*', '--json']);
    assert.equal(unknownFlag.code, 1, unknownFlag.stderr);
    assert.match(unknownFlag.stderr, /--include: URL pattern \/html\/x is neither a regular expression \("x" is not a flag: use i, m or s\)/);
    assert.match(unknownFlag.stderr, /--exclude: URL pattern \/docs\/\* is a glob, which must match the whole URL \(https:\/\/\.\.\.\), so one starting with "\/" matches nothing: write \*\/docs\/\*/);
    // (.|.)*Z and (.|.){30}Z take minutes to hours per link on a backtracking engine; the child is killed after 150 s
    const r = await doctor(dir, ['crawl', `${site.url}/links`, '--max-pages', '5', '--max-depth', '1', '--exclude', '/(.|.)*Z/', '--exclude', '/(.|.){30}Z/', '--json'], {}, 150_000);
    assert.equal(r.code, 0, r.stderr);
    const job = JSON.parse(r.stdout) as Json;
    assert.equal(job.pages_crawled, 5);
    assert.match((await doctor(dir, ['jobs'])).stdout, new RegExp(`^${job.job_id}\\s+completed[^\\n]*\\n?$`), 'the refused crawl queued nothing');
  });

  it('a malformed DUCKDB_JE_MALLOC_CONF is reported by DuckDB\'s allocator and ignored: the CLI still works', async () => {
    const dir = tempDir();
    const r = await doctor(dir, ['pages'], { DUCKDB_JE_MALLOC_CONF: 'garbage;;dirty_decay_ms:abc' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /jemalloc.*(Malformed|Invalid) conf/);
  });
});

describe('a bad number in a flag is reported by the flag the user typed', () => {
  it('range errors name --max-file-mb, --batch-size, --concurrency and --redis, and nothing is indexed or opened', async () => {
    const dir = tempDir();
    const add = await doctor(dir, ['add', 'examples/site', '--max-file-mb', '0']);
    assert.equal(add.code, 1, add.stderr);
    assert.match(add.stderr, /--max-file-mb must be a whole number from 1 to 1,024 \(got "0"\)/);
    const reembed = await doctor(dir, ['reembed', '--batch-size', '0']);
    assert.equal(reembed.code, 1, reembed.stderr);
    assert.match(reembed.stderr, /--batch-size must be a whole number of at least 1 \(got "0"\)/);
    assert.doesNotMatch(reembed.stdout, /re-embedding/, 'refused before it starts');
    const migrate = await doctor(dir, ['migrate', 'qdrant', '--url', 'http://127.0.0.1:1', '--collection', 'c', '--batch-size', '10001']);
    assert.equal(migrate.code, 1, migrate.stderr);
    assert.match(migrate.stderr, /--batch-size must be a whole number from 1 to 10,000 \(got "10001"\)/);
    const worker = await doctor(dir, ['worker', '--redis', 'redis://127.0.0.1:1', '--concurrency', '0']);
    assert.equal(worker.code, 1, worker.stderr);
    assert.match(worker.stderr, /option --concurrency=0: /);
    const serve = await doctor(dir, ['serve', '--port', '0', '--redis', 'ftp://127.0.0.1']);
    assert.equal(serve.code, 1, serve.stderr);
    assert.match(serve.stderr, /option --redis="ftp:\/\/127\.0\.0\.1": /);
    assert.match((await doctor(dir, ['pages'])).stdout, /^No pages yet/, 'no page was indexed');
    assert.match((await doctor(dir, ['tags'])).stdout, /^No tags yet/);
  });

  it('values the service refuses are named by the flags that set them, not by the API fields', async () => {
    const dir = tempDir();
    const page = await doctor(dir, ['page', 'x', '--to', '0']);
    assert.equal(page.code, 1, page.stderr);
    assert.match(page.stderr, /^doctor: --to must be -1 \(to the end of the page\) or a line number from 1$/m);
    const search = await doctor(dir, ['search', 'x', '--max-results', '500', '--mode', 'fast']);
    assert.equal(search.code, 1, search.stderr);
    assert.match(search.stderr, /--max-results must be a whole number from 1 to 100 \(got 500\); --mode must be one of hybrid, vector or keyword \(got "fast"\)/);
    const crawl = await doctor(dir, ['crawl', 'http://127.0.0.1:1/', '--allow-hosts', '127.0.0.1', '--max-depth', '99', '--scope', 'site']);
    assert.equal(crawl.code, 1, crawl.stderr);
    assert.match(crawl.stderr, /--max-depth must be a whole number from 0 to 20 \(got 99\); --scope must be one of prefix, host or domain \(got "site"\)/);
    assert.doesNotMatch(page.stderr + search.stderr + crawl.stderr, /starting_line|max_results|max_depth/);
    // an empty value (a script's unset variable) is not depth 0, nor hex a number
    const empty = await doctor(dir, ['crawl', 'http://127.0.0.1:1/', '--allow-hosts', '127.0.0.1', '--max-depth', '', '--no-wait']);
    assert.equal(empty.code, 1, empty.stderr);
    assert.match(empty.stderr, /^doctor: --max-depth must be a whole number \(got ""\)$/m);
    const hex = await doctor(dir, ['pages', '--page', '0x10']);
    assert.equal(hex.code, 1, hex.stderr);
    assert.match(hex.stderr, /--page must be a whole number.* \(got "0x10"\)/);
    assert.match((await doctor(dir, ['jobs'])).stdout, /^No jobs yet/, 'the refused crawl queued nothing');
  });

  it('doctor export to a place that cannot hold a directory says where and what to do', async () => {
    const dir = tempDir();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const r = await doctor(dir, ['export', '-o', join(file, 'sub', 'out.tar')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot write in .*a-file\/sub \((ENOTDIR|EEXIST)[^)]*\): choose a directory you can write to/);
    assert.equal(readFileSync(file, 'utf8'), 'x', 'the file in the way is left as it was');
  });

  it('an empty path is refused, and export --force replaces only an earlier export, never the database or other files', async () => {
    const dir = tempDir();
    const docs = join(dir, 'docs');
    mkdirSync(docs);
    for (let i = 0; i < 30; i++) writeFileSync(join(docs, `page-${i}.md`), `# Page ${i}\n\nAbout widgets, part ${i}.\n`);
    assert.equal((await doctor(dir, ['add', docs])).code, 0);
    for (const args of [['add', ''], ['export', '-o', '', '--force'], ['import', ' ']]) {
      const r = await doctor(dir, args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, /^doctor: (<path>|--output) must not be empty: give a path \("\." for the current directory\)$/m);
    }
    for (const value of ['--help', '-f']) {
      const r = await doctor(dir, ['export', '-o', value]);
      assert.equal(r.code, 1, `export -o ${value}`);
      assert.match(r.stderr, new RegExp(`--output needs a path and got "${value}", which looks like an option: give the path right after --output \\(write \\./${value} for a path`));
      assert.ok(!existsSync(resolve(value)), `no export written into a directory named ${value} (in the working directory)`);
    }
    const mine = join(dir, 'mine');
    mkdirSync(mine);
    writeFileSync(join(mine, 'notes.txt'), 'keep');
    const other = await doctor(dir, ['export', '-o', mine, '--force']);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /mine is not an earlier export \(it holds "notes\.txt"\), so --force does not replace it/);
    // --data-dir holds the database: the directory, or one above it, is never replaced
    for (const out of [dir, join(dir, '..')]) {
      const r = await doctor(dir, ['export', '-o', out, '--force']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /holds the database \(.*doctor\.duckdb\): export to a path outside it/);
    }
    assert.equal(readFileSync(join(mine, 'notes.txt'), 'utf8'), 'keep');
    assert.equal((await doctor(dir, ['pages'])).stdout.match(/file:\/\//g)?.length, 30, 'the database is intact');
    const again = join(dir, 'export');
    assert.equal((await doctor(dir, ['export', '-o', again])).code, 0);
    assert.equal((await doctor(dir, ['export', '-o', again, '--force'])).code, 0, 'an earlier export is replaced');
  });

  it('output into a pipe whose reader has gone (doctor pages | head -1): no stack trace, the command ends normally', async () => {
    const dir = tempDir();
    const docs = join(dir, 'docs');
    mkdirSync(docs);
    for (let i = 0; i < 20; i++) writeFileSync(join(docs, `p${i}.md`), `# P ${i}\n\nText ${i}.\n`);
    assert.equal((await doctor(dir, ['add', docs])).code, 0);
    const child = spawn(process.execPath, [...CLI, '--data-dir', dir, 'pages'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before the first line
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });
});

describe('setup problems are one line that says what to do', () => {
  it('doctor worker with a Redis nobody answers at names the URL and exits 1 at once (it exited 13 after 8 s, silent)', async () => {
    const dir = tempDir();
    const started = Date.now();
    const r = await doctor(dir, ['worker', '--redis', 'redis://127.0.0.1:1'], {}, 60_000);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^doctor: cannot reach Redis at redis:\/\/127\.0\.0\.1:1\/? \(connect ECONNREFUSED[^)]*\): start redis-server there or fix DOCTOR_REDIS_URL \/ --redis$/m);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
  });

  it('DATA_DIR naming a regular file, or --db-path naming a directory, is said so with what to do (raw EEXIST / DuckDB "Is a directory")', async () => {
    const dir = tempDir();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'keep');
    for (const dataDir of [file, join(file, 'sub')]) {
      const r = await doctor(dataDir, ['pages']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^doctor: \S+a-file is a file, not a directory, so the database \S+ cannot be created below it: point DATA_DIR \(--data-dir\) at a directory/m);
    }
    const data = join(dir, 'data');
    mkdirSync(join(data, 'db'), { recursive: true });
    writeFileSync(join(data, 'db', 'notes.txt'), 'keep');
    for (const args of [['--db-path', join(data, 'db'), 'pages'], ['add', 'examples/site']]) {
      const r = await doctor(data, args, { DOCTOR_DB_PATH: join(data, 'db') });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^doctor: \S+\/db is a directory, not a database file: point DOCTOR_DB_PATH \(--db-path\) at a file \(e\.g\. \S+\/db\/doctor\.duckdb\)/m);
    }
    assert.equal(readFileSync(file, 'utf8'), 'keep');
    assert.deepEqual(readdirSync(join(data, 'db')), ['notes.txt'], 'the directory is left as it was');
  });

  it('doctor add of a file or directory the process cannot read says so and what to do (a file was "skipped", a directory a raw EACCES)', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o777);
    const docs = join(dir, 'docs');
    mkdirSync(docs);
    writeFileSync(join(docs, 'ok.md'), '# Fine\n\nReadable.\n');
    writeFileSync(join(docs, 'locked.md'), '# Locked\n\nSecret.\n');
    chmodSync(join(docs, 'locked.md'), 0o000);
    const closed = join(dir, 'closed');
    mkdirSync(closed);
    writeFileSync(join(closed, 'x.md'), '# X\n');
    chmodSync(closed, 0o600); // readable, not searchable
    // root reads anything: run as nobody
    const as = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [...CLI, '--data-dir', join(dir, 'data'), ...args], { env, ...as, timeout: 120_000 }, (e, stdout, stderr) =>
          resolve({ code: e ? Number((e as { code?: number }).code ?? -1) : 0, stdout, stderr }),
        );
      });
    for (const [path, what] of [[join(docs, 'locked.md'), 'the file'], [closed, 'the directory'], [join(closed, 'x.md'), 'a directory above it']] as const) {
      const r = await run(['add', path]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^doctor: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} cannot be read by the Doctor process \\(permission denied on ${what}\\): give its user read access`, 'm'));
    }
    // below a directory that can be read, an unreadable file is skipped and reported; the rest is indexed
    const ok = await run(['add', docs]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /skipped: 1 .*\n\s+locked\.md: EACCES/);
    const pages = (await run(['pages'])).stdout;
    assert.match(pages, /ok\.md/);
    assert.doesNotMatch(pages, /locked\.md/);
  });

  it('doctor models pull from a hub that answers 404 says what the hub answered (not "reading \'tokenizer_class\'")', async () => {
    const hub = await startModelHub({});
    try {
      const dir = tempDir();
      const r = await doctor(dir, ['models', 'pull'], { DOCTOR_MODEL_HOST: hub.url });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /\/resolve\/main\/tokenizer_config\.json answered 404 Not Found: no such model there \(check the model name and DOCTOR_MODEL_HOST\)/);
      assert.doesNotMatch(r.stderr, /tokenizer_class|Cannot read properties/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    } finally {
      await hub.close();
    }
  });

  it('doctor models pull honours DOCTOR_MODEL_DOWNLOAD=false: no request to the hub, a message saying how to allow it (it downloaded anyway)', async () => {
    const hub = await startModelHub({});
    try {
      const dir = tempDir();
      const r = await doctor(dir, ['models', 'pull', 'Xenova/gte-small'], { DOCTOR_MODEL_HOST: hub.url, DOCTOR_MODEL_DOWNLOAD: 'false' });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^doctor: the local embedding model Xenova\/gte-small is not complete in \S+ \(missing: [^)]+\) and downloads are off \(DOCTOR_MODEL_DOWNLOAD=false: set it to true to let Doctor download the model\)\. /m);
      assert.deepEqual(hub.requests, [], 'the hub is not contacted');
    } finally {
      await hub.close();
    }
  });
});

describe('DOCTOR_LOG_LEVEL in every command', () => {
  it('a bad value is refused by one-shot commands too, naming the allowed values (pages and search took it silently)', async () => {
    const dir = tempDir();
    for (const args of [['pages'], ['models', 'list'], ['index', 'status'], ['search', 'x']]) {
      const r = await doctor(dir, args, { DOCTOR_LOG_LEVEL: 'loud' });
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, /DOCTOR_LOG_LEVEL="loud": .*"fatal"\|"error"\|"warn"\|"info"\|"debug"\|"trace"\|"silent"/, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
    }
  });

  it('one-shot commands log at DOCTOR_LOG_LEVEL (they always used warn), and --log-level still wins', async () => {
    const dir = tempDir();
    const debug = await doctor(dir, ['pages'], { DOCTOR_LOG_LEVEL: 'debug' });
    assert.equal(debug.code, 0, debug.stderr);
    assert.match(debug.stderr, /"level":20,.*"msg":"keyword index ready"/);
    const flag = await doctor(dir, ['pages', '--log-level', 'warn'], { DOCTOR_LOG_LEVEL: 'debug' });
    assert.doesNotMatch(flag.stderr, /"level":(20|30)/);
    const unset = await doctor(dir, ['pages'], { DOCTOR_LOG_LEVEL: '' });
    assert.doesNotMatch(unset.stderr, /"level":(20|30)/, 'warnings and errors only by default');
    const stack = await doctor(dir, ['page', 'nope', '--log-level', 'debug'], { DOCTOR_LOG_LEVEL: '' });
    assert.equal(stack.code, 1);
    assert.match(stack.stderr, /\n\s+at .*pages/, '--log-level debug shows the stack, as DOCTOR_LOG_LEVEL=debug does');
  });
});

describe('a service message names what the user can run in the interface they use', () => {
  it('doctor page <missing id> points to `doctor pages` (it named the MCP tool list_doc_pages), with and without a server; REST keeps its names', async () => {
    const dir = tempDir();
    const local = await doctor(dir, ['page', 'nope']);
    assert.equal(local.code, 1, local.stderr);
    assert.match(local.stderr, /^doctor: no page with id "nope": list pages with `doctor pages` or search with `doctor search <query>`\.$/m);
    const server = await new Server(dir).ready();
    try {
      const remote = await doctor(dir, ['page', 'nope']);
      assert.equal(remote.code, 1, remote.stderr);
      assert.equal(remote.stderr, local.stderr);
      const rest = await server.api('GET', '/get_doc_page?page_id=nope');
      assert.equal(rest.status, 404);
      assert.match(rest.body.detail, /list pages with list_doc_pages or search with search_docs/);
    } finally {
      await server.stop();
    }
  });

  it('doctor add <website URL> says to crawl it with `doctor crawl <url>` (it looked for a file named ./https:/...)', async () => {
    const dir = tempDir();
    const r = await doctor(dir, ['add', 'https://docs.example.com/guide/']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^doctor: https:\/\/docs\.example\.com\/guide\/ is not a local path: to index a website, crawl it with `doctor crawl <url>`$/m);
  });
});

describe('environment variables that are not settings', () => {
  it('a misspelt DOCTOR_* variable (or DOCTOR_DATA_DIR for DATA_DIR) gets a warning naming the one meant; the command still runs', async () => {
    const dir = tempDir();
    const r = await doctor(dir, ['pages'], { DOCTOR_DATA_DIR: '/elsewhere', DOCTOR_EMBEDING_MODEL: 'm', DOCTOR_WORKRES: '2', DOCTOR_SOMETHING: '1', DOCTOR_WITH_CHROMIUM: 'false' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^doctor: warning: DOCTOR_DATA_DIR is not a Doctor setting and is ignored: did you mean DATA_DIR\?$/m);
    assert.match(r.stderr, /^doctor: warning: DOCTOR_EMBEDING_MODEL is not a Doctor setting and is ignored: did you mean DOCTOR_EMBEDDING_MODEL\?$/m);
    // two letters swapped, as typists do
    assert.match(r.stderr, /^doctor: warning: DOCTOR_WORKRES is not a Doctor setting and is ignored: did you mean DOCTOR_WORKERS\?$/m);
    assert.match(r.stderr, /^doctor: warning: DOCTOR_SOMETHING is not a Doctor setting and is ignored \(see the README for the settings\)$/m);
    assert.doesNotMatch(r.stderr, /DOCTOR_WITH_CHROMIUM/, 'compose.yaml\'s build switch is not a misspelling');
    const clean = await doctor(dir, ['pages'], { DOCTOR_EMBEDDING_MODEL: '' });
    assert.doesNotMatch(clean.stderr, /warning/);
  });

  it('page text holding terminal escape sequences is printed with them visible (^[), not acted on: they cleared the screen, set the title, wrote the clipboard', async () => {
    const dir = tempDir();
    const file = join(dir, 'escapes.md');
    writeFileSync(file, '# Title\u001b]0;pwned\u0007\r\n\r\nhello \u001b[2J world \u001b]52;c;ZXZpbA==\u0007 \u009b31m\r\n');
    const added = await doctor(dir, ['add', file, '--json']);
    assert.equal(added.code, 0, added.stderr);
    const found = await doctor(dir, ['search', 'hello']);
    assert.equal(found.code, 0, found.stderr);
    const id = /page (\S+)/.exec(found.stdout)![1]!;
    const page = await doctor(dir, ['page', id]);
    for (const out of [found.stdout, page.stdout]) {
      assert.doesNotMatch(out, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, JSON.stringify(out));
      assert.match(out, /\^\[\[2J world \^\[\]52;c;ZXZpbA==\^G \ufffd31m/);
    }
    assert.match(page.stdout, /^# Title\^\[\]0;pwned\^G\n/);
    // on a terminal the query's words are bold: Doctor's own escape sequences, the page's still shown as text
    const bold = passage('hello \u001b[2J world [the **hello** link](https://x.test/a "t")', new Set(['hello']), { bold: true });
    assert.equal(bold, '\u001b[1mhello\u001b[22m ^[[2J world the \u001b[1mhello\u001b[22m link');
  });
});
