/**
 * `doctor add` from the command line: without a server (the CLI opens the database) and with `doctor serve`
 * holding it (the CLI forwards with the key from server.json; other REST callers are refused without
 * --allow-local). Progress on stderr, a summary on stdout, and `doctor search` finds the files.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { makePdf } from './helpers/pdf.js';
import { tempDir } from './helpers/tmp.js';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
const env = { ...process.env, DOCTOR_LOG_LEVEL: 'warn', DOCTOR_EMBEDDING_PROVIDER: 'lexical' };

async function doctor(dataDir: string, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [...CLI, '--data-dir', dataDir, ...args], { env, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

function makeDocs(root: string): void {
  mkdirSync(join(root, 'guide'), { recursive: true });
  writeFileSync(join(root, '.gitignore'), 'private/\n');
  writeFileSync(join(root, 'README.md'), '---\ntitle: Gadget Docs\n---\n# Gadget\n\nThe gadget uses the wombatcache layer.\n');
  writeFileSync(join(root, 'guide', 'start.md'), '# Getting started\n\n```sh\ngadget init --fjordmode\n```\n');
  writeFileSync(join(root, 'guide', 'manual.pdf'), makePdf({ title: 'Gadget Manual', pages: [['The manual covers quokkasync.']] }));
  mkdirSync(join(root, 'private'));
  writeFileSync(join(root, 'private', 'keys.md'), '# Keys\n\nprivatekeyword\n');
  writeFileSync(join(root, 'logo.png'), Buffer.from('89504e470d0a1a0a', 'hex'));
}

describe('doctor add (CLI)', () => {
  const data = tempDir();
  const docs = join(tempDir(), 'gadget-docs');
  makeDocs(docs);
  let server: ReturnType<typeof spawn> | undefined;
  after(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server!.once('exit', r));
    }
  });

  it('without a server: indexes, prints progress and a summary; search finds it; a second run changes nothing', async () => {
    const add = await doctor(data, 'add', docs, '--tags', 'gadget');
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /^indexed .*gadget-docs \(directory, [\d.]+ s\): 3 file\(s\) read/);
    assert.match(add.stdout, /pages: 3 added, 0 updated, 0 unchanged, 0 removed/);
    assert.match(add.stdout, /skipped: 2 \(/);
    assert.match(add.stdout, /1 ignored by \.gitignore/);
    assert.match(add.stdout, /1 unsupported file type/);
    assert.match(add.stderr, /indexing files: 3\/3 files/, 'progress lines on a non-terminal');

    const search = await doctor(data, 'search', 'quokkasync', '--json');
    assert.equal(search.code, 0, search.stderr);
    const hits = (JSON.parse(search.stdout) as { results: { url: string; title: string }[] }).results;
    assert.equal(hits[0]?.title, 'Gadget Manual');
    assert.match(hits[0]!.url, /^file:\/\/.*\/gadget-docs\/guide\/manual\.pdf$/);

    const again = await doctor(data, 'add', docs, '--tags', 'gadget', '--json');
    assert.equal(again.code, 0, again.stderr);
    const s = JSON.parse(again.stdout) as { added: number; unchanged: number };
    assert.deepEqual([s.added, s.unchanged], [0, 3]);

    const missing = await doctor(data, 'add', join(docs, 'nope'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^doctor: .*nope does not exist/);
  });

  it('with a server: the CLI forwards (its key allows any path); REST callers without --allow-local get 403', async () => {
    server = spawn(process.execPath, [...CLI, '--data-dir', data, 'serve', '--port', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    server.stderr!.on('data', (d) => (err += d));
    const infoPath = join(data, 'server.json');
    // a busy machine can take long to start a server (the bound only catches one that never starts)
    for (let i = 0; i < 600 && !existsSync(infoPath); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(existsSync(infoPath), `server started: ${err}`);
    const info = JSON.parse(readFileSync(infoPath, 'utf8')) as { url: string };

    rmSync(join(docs, 'guide', 'start.md'));
    writeFileSync(join(docs, 'README.md'), '---\ntitle: Gadget Docs\n---\n# Gadget\n\nNow with the platypusqueue layer.\n');
    const add = await doctor(data, 'add', docs, '--tags', 'gadget');
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /pages: 0 added, 1 updated, 1 unchanged, 1 removed/);
    const search = await doctor(data, 'search', 'platypusqueue', '--json');
    assert.match((JSON.parse(search.stdout) as { results: { url: string }[] }).results[0]?.url ?? '', /README\.md$/);

    const res = await fetch(new URL('/add_local', info.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: docs }) });
    assert.equal(res.status, 403);
    assert.match(((await res.json()) as { detail: string }).detail, /--allow-local/);
  });
});
