/**
 * Local sources (issue 17): `add_local` over a fixture tree and archives made here (Markdown with front
 * matter and code fences, MDX, HTML, reStructuredText, AsciiDoc, text, a PDF, a git-ignored file, a hidden
 * directory, a symlink pointing outside, a binary), re-indexing after edits and deletions, --exclude and
 * --base-url, archive guards, and local paths refused over REST and MCP unless --allow-local allows them.
 * Real DuckDB files, the real pdf.js, real HTTP on 127.0.0.1, the real MCP client.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import * as tar from 'tar';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { addLocal, ForbiddenError, listDocPages, recrawlSite, searchDocs, siteOverview, ValidationError, type LocalIndexSummary } from '../src/service/index.js';
import { buildHttpApp } from '../src/http/app.js';
import { registerMcpRoutes } from '../src/mcp/http.js';
import { localBackend } from '../src/app/backend.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { makePdf } from './helpers/pdf.js';
import { makeZip } from './helpers/zip.js';
import { readArchive } from '../src/ingest/local/archive.js';
import { tempDir } from './helpers/tmp.js';

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

/** The fixture tree: every kind of file `doctor add` reads, and every kind it must leave out. */
function makeTree(root: string, outside: string): void {
  const w = (rel: string, data: string | Buffer) => {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), data);
  };
  w('.gitignore', 'secret.md\nbuild/\n');
  w(
    'index.md',
    '---\ntitle: "Widget Guide"\nsidebar_position: 1\n---\n\n# Welcome\n\nThe widget toolkit calibrates gizmos.\n\n## Calibration\n\n' +
      '```ts\ncalibrateWidget({ precision: 3 });\n```\n\nCall calibrateWidget before first use.\n',
  );
  w('guide/setup.mdx', "---\ntitle: Setup\n---\nimport Tabs from '@theme/Tabs';\n\n# Installing\n\nRun the zephyrine installer, then restart.\n");
  w(
    'guide/api.html',
    '<!doctype html><html><head><title>API reference</title></head><body><nav><a href="/">Home</a> navigationonlyword</nav>' +
      '<main><h1>API reference</h1><p>The quantumflux endpoint returns every widget.</p><p>' + 'More text about endpoints. '.repeat(20) + '</p></main></body></html>',
  );
  w('notes.rst', 'Release Notes\n=============\n\nVersion 2\n---------\n\nThe marmalade scheduler replaced cron.\n');
  w('manual.adoc', '= Admin Manual\n\n== Backups\n\nSnapshots use the obsidianvault format.\n');
  w('readme.txt', 'Plain text readme mentioning the tangerine protocol.\n');
  w('manual.pdf', makePdf({ title: 'Widget Handbook', pages: [['The handbook explains xylophonic tuning.'], ['Second page about harmonics.']] }));
  w('secret.md', '# Secret\n\nignoredsecretword lives here.\n');
  w('build/out.md', '# Built\n\nbuildartifactword\n');
  w('.hidden/x.md', '# Hidden\n\nhiddenword\n');
  w('image.png', PNG);
  w('broken.md', Buffer.concat([Buffer.from('# Not text\n'), Buffer.alloc(64), PNG]));
  w('empty.pdf', Buffer.from('%PDF-1.4 this is not a real PDF'));
  w('legacy.txt', Buffer.from('Caf\xe9 cr\xe8me: the na\xefve encoding (Windows-1252).\n', 'latin1'));
  writeFileSync(join(outside, 'outside.md'), '# Outside\n\noutsideword must never be indexed\n');
  symlinkSync(join(outside, 'outside.md'), join(root, 'linked.md'));
  symlinkSync(outside, join(root, 'linked-dir'));
  symlinkSync(join(root, 'guide'), join(root, 'guide-alias')); // inside the tree: walked as guide/ only
  symlinkSync(join(root, 'notes.rst'), join(root, 'notes-link.rst')); // a file inside the tree: followed
}

async function urlsOf(ctx: TestContext): Promise<string[]> {
  return (await listDocPages(ctx, {})).doc_pages.map((p) => p.url).sort();
}

async function topUrl(ctx: TestContext, query: string): Promise<string | undefined> {
  const r = await searchDocs(ctx, { query, mode: 'keyword' });
  return r.results[0]?.url;
}

describe('doctor add: a directory tree', () => {
  let ctx: TestContext;
  const root = join(tempDir(), 'docs');
  const outside = tempDir();
  let first: LocalIndexSummary;

  before(async () => {
    mkdirSync(root);
    makeTree(root, outside);
    ctx = await makeContext({ runner: false });
  });
  after(() => ctx.close());

  it('indexes every supported file with its title and skips the rest with reasons', async () => {
    const progress: number[] = [];
    first = await addLocal(ctx, { path: root, tags: ['widget', 'local'] }, { onProgress: (p) => progress.push(p.done) });
    const f = (rel: string) => pathToFileURL(join(root, rel)).href;
    assert.deepEqual(
      await urlsOf(ctx),
      [f('guide/api.html'), f('guide/setup.mdx'), f('index.md'), f('manual.adoc'), f('legacy.txt'), f('manual.pdf'), f('notes-link.rst'), f('notes.rst'), f('readme.txt')].sort(),
    );
    assert.equal(first.added, 9);
    assert.equal(first.kind, 'directory');
    assert.ok(progress.length >= 9 && progress.at(-1) === first.files, 'progress reported per file');
    assert.equal(first.skipped_files.find((s) => s.path === 'guide-alias')?.reason, 'symbolic link to a directory in the tree (walked under its own path)');
    const reasons = new Map(first.skipped_files.map((s) => [s.path, s.reason]));
    assert.equal(reasons.get('secret.md'), 'ignored by .gitignore');
    assert.equal(reasons.get('build/'), 'ignored by .gitignore (directory)');
    assert.equal(reasons.get('.hidden/'), 'hidden (directory)');
    assert.equal(reasons.get('linked.md'), 'symbolic link pointing outside the tree');
    assert.equal(reasons.get('linked-dir'), 'symbolic link pointing outside the tree');
    assert.equal(reasons.get('image.png'), 'unsupported file type (.png)');
    assert.equal(reasons.get('broken.md'), 'binary content (not text)');
    assert.match(reasons.get('empty.pdf') ?? '', /^not a readable PDF/);
    assert.equal(first.skipped_by_reason['ignored by .gitignore'], 2);

    const pages = (await listDocPages(ctx, {})).doc_pages;
    const title = (rel: string) => pages.find((p) => p.url === f(rel))?.title;
    assert.equal(title('index.md'), 'Widget Guide', 'front-matter title');
    assert.equal(title('guide/setup.mdx'), 'Setup');
    assert.equal(title('guide/api.html'), 'API reference');
    assert.equal(title('notes.rst'), 'Release Notes');
    assert.equal(title('manual.adoc'), 'Admin Manual');
    assert.equal(title('manual.pdf'), 'Widget Handbook', 'the PDF document title');
    assert.equal(title('readme.txt'), 'readme');
    // One source, one site: every page hangs under the root page (index.md).
    const rootPage = pages.find((p) => p.url === f('index.md'))!;
    assert.equal(rootPage.page_id, first.root_page_id);
    assert.ok(pages.every((p) => p.root_page_id === first.root_page_id));
    assert.ok(pages.every((p) => p.tags.includes('widget') && p.tags.includes('local')));
    const site = (await siteOverview(ctx, {})).sites.find((x) => x.root_page_id === first.root_page_id);
    assert.equal(site?.pages, 9, 'the source shows as one site');
    await assert.rejects(recrawlSite(ctx, { root_page_id: first.root_page_id }), /added from local files, not crawled: run add_local on its directory or archive again/);
  });

  it('search finds the added content, and nothing that was left out', async () => {
    const f = (rel: string) => pathToFileURL(join(root, rel)).href;
    assert.equal(await topUrl(ctx, 'calibrateWidget'), f('index.md'), 'code fences are indexed');
    assert.equal(await topUrl(ctx, 'xylophonic tuning'), f('manual.pdf'));
    assert.match((await topUrl(ctx, 'quantumflux endpoint')) ?? '', /api\.html$/);
    assert.match((await topUrl(ctx, 'marmalade scheduler')) ?? '', /notes(-link)?\.rst$/);
    assert.equal(await topUrl(ctx, 'obsidianvault'), f('manual.adoc'));
    assert.equal(await topUrl(ctx, 'tangerine protocol'), f('readme.txt'));
    const legacy = (await searchDocs(ctx, { query: 'crème naïve', mode: 'keyword', return_full_document_text: true })).results[0];
    assert.equal(legacy?.chunk_text, 'Café crème: the naïve encoding (Windows-1252).', 'legacy 8-bit text is decoded, not skipped');
    for (const word of ['ignoredsecretword', 'buildartifactword', 'hiddenword', 'outsideword', 'navigationonlyword', 'sidebar_position']) {
      assert.equal(await topUrl(ctx, word), undefined, word);
    }
    // MDX import lines are not text; RST and AsciiDoc headings become the heading path.
    assert.equal(await topUrl(ctx, 'theme Tabs'), undefined);
    const rst = (await searchDocs(ctx, { query: 'marmalade scheduler', mode: 'keyword' })).results[0]!;
    assert.equal(rst.heading_path, 'Release Notes > Version 2');
    const tagged = await searchDocs(ctx, { query: 'zephyrine installer', tags: ['local'] });
    assert.match(tagged.results[0]?.url ?? '', /setup\.mdx$/);
  });

  it('running it again changes nothing; after edits and deletions it updates, removes and leaves the rest untouched', async () => {
    const again = await addLocal(ctx, { path: root, tags: ['widget', 'local'] });
    assert.deepEqual([again.added, again.updated, again.unchanged, again.removed], [0, 0, 9, 0]);
    const before = new Map((await listDocPages(ctx, {})).doc_pages.map((p) => [p.url, p.crawl_date]));

    writeFileSync(join(root, 'notes.rst'), 'Release Notes\n=============\n\nThe persimmon scheduler replaced marmalade.\n');
    rmSync(join(root, 'readme.txt'));
    rmSync(join(root, 'manual.pdf'));
    writeFileSync(join(root, 'faq.md'), '# FAQ\n\nThe kumquat question is answered here.\n');
    const third = await addLocal(ctx, { path: root, tags: ['widget', 'local'] });
    assert.deepEqual([third.added, third.updated, third.unchanged, third.removed], [1, 2, 5, 2], 'notes.rst and its link changed');
    const f = (rel: string) => pathToFileURL(join(root, rel)).href;
    assert.match((await topUrl(ctx, 'persimmon')) ?? '', /notes(-link)?\.rst$/);
    assert.equal(await topUrl(ctx, 'kumquat'), f('faq.md'));
    assert.equal(await topUrl(ctx, 'tangerine protocol'), undefined, 'the page of a deleted file is gone');
    assert.equal(await topUrl(ctx, 'xylophonic'), undefined, 'and its chunks with it');
    const after = (await listDocPages(ctx, {})).doc_pages;
    const untouched = after.find((p) => p.url === f('index.md'))!;
    assert.equal(untouched.crawl_date, before.get(f('index.md')), 'an unchanged file is not written again');
  });

  it('--exclude leaves paths out (and removes their pages); --base-url maps URLs to the published site', async () => {
    const r = await addLocal(ctx, { path: root, tags: ['widget'], exclude: ['notes-link.rst', '*.adoc', 'legacy.txt'], base_url: 'https://docs.example.com/widget' });
    assert.equal(r.removed, 8, 'every file:// page is replaced by its published URL');
    assert.deepEqual(await urlsOf(ctx), [
      'https://docs.example.com/widget/faq.md',
      'https://docs.example.com/widget/guide/api.html',
      'https://docs.example.com/widget/guide/setup.mdx',
      'https://docs.example.com/widget/index.md',
      'https://docs.example.com/widget/notes.rst',
    ]);
    assert.equal(r.skipped_by_reason['excluded by --exclude'], 3);
    const hit = (await searchDocs(ctx, { query: 'calibrateWidget', mode: 'keyword' })).results[0]!;
    assert.equal(hit.url, 'https://docs.example.com/widget/index.md');
  });

  it('refuses bad input with a clear message and stores nothing', async () => {
    const count = (await listDocPages(ctx, {})).total_docs;
    await assert.rejects(addLocal(ctx, { path: 'docs/relative' }), /path must be absolute/);
    await assert.rejects(addLocal(ctx, { path: join(root, 'nope') }), /does not exist/);
    await assert.rejects(addLocal(ctx, { path: 'https://example.com/docs' }), /not a local path: to index a website, crawl it/);
    await assert.rejects(addLocal(ctx, { path: root, base_url: 'ftp://x' }), ValidationError);
    assert.equal((await listDocPages(ctx, {})).total_docs, count);
  });
});

describe('doctor add: overlapping sources', () => {
  it('a directory and then its parent: pages stay with the source that added them first, gaining the other\'s tags; re-adding either changes nothing', async () => {
    const ctx = await makeContext({ runner: false });
    try {
      const top = tempDir();
      mkdirSync(join(top, 'sub'));
      writeFileSync(join(top, 'index.md'), '# Top\n\nThe top page about ferrets.\n');
      writeFileSync(join(top, 'other.md'), '# Other\n\nAnother top page.\n');
      writeFileSync(join(top, 'sub', 'index.md'), '# Sub\n\nThe sub root about otters.\n');
      writeFileSync(join(top, 'sub', 'guide.md'), '# Guide\n\nThe sub guide about otters.\n');
      const sub = await addLocal(ctx, { path: join(top, 'sub'), tags: ['sub'] });
      assert.equal(sub.added, 2);
      const subIds = (await listDocPages(ctx, { tags: ['sub'] })).doc_pages.map((p) => p.page_id).sort();
      assert.ok(subIds.includes(sub.root_page_id));

      const all = await addLocal(ctx, { path: top, tags: ['top'] });
      assert.deepEqual([all.added, all.updated, all.unchanged], [2, 2, 0], 'the sub pages gain the tag "top"');
      const pages = (await listDocPages(ctx, {})).doc_pages;
      assert.equal(pages.length, 4);
      for (const p of pages.filter((x) => subIds.includes(x.page_id))) {
        assert.deepEqual([...p.tags].sort(), ['sub', 'top'], p.url);
        assert.equal(p.root_page_id, sub.root_page_id, 'still the sub source\'s page');
      }
      assert.deepEqual((await listDocPages(ctx, { tags: ['sub'] })).doc_pages.map((p) => p.page_id).sort(), subIds, 'the same ids: nothing re-created');

      // no flip-flop: each source, added again, finds everything as it left it
      const subAgain = await addLocal(ctx, { path: join(top, 'sub'), tags: ['sub'] });
      assert.deepEqual([subAgain.added, subAgain.updated, subAgain.unchanged, subAgain.removed], [0, 0, 2, 0]);
      const allAgain = await addLocal(ctx, { path: top, tags: ['top'] });
      assert.deepEqual([allAgain.added, allAgain.updated, allAgain.unchanged, allAgain.removed], [0, 0, 4, 0]);
      assert.equal((await searchDocs(ctx, { query: 'otters', tags: ['top'], mode: 'keyword' })).results.length, 2);
      assert.equal((await searchDocs(ctx, { query: 'otters', tags: ['sub'], mode: 'keyword' })).results.length, 2);
      // an edit under sub, added through the parent, updates the page in place
      writeFileSync(join(top, 'sub', 'guide.md'), '# Guide\n\nThe sub guide about beavers now.\n');
      const edited = await addLocal(ctx, { path: top, tags: ['top'] });
      assert.deepEqual([edited.updated, edited.unchanged], [1, 3]);
      assert.equal((await searchDocs(ctx, { query: 'beavers', tags: ['sub'], mode: 'keyword' })).results.length, 1);
    } finally {
      await ctx.close();
    }
  });
});

describe('doctor add: archives', () => {
  let ctx: TestContext;
  const dir = tempDir();
  const tree = join(dir, 'tree');
  const outside = tempDir();

  before(async () => {
    mkdirSync(tree);
    makeTree(tree, outside);
    ctx = await makeContext({ runner: false });
  });
  after(() => ctx.close());

  it('a .tar.gz made by tar: the same pages as the directory, links inside it not followed', async () => {
    const file = join(dir, 'docs-1.0.tar.gz');
    await tar.c({ cwd: dir, file, gzip: true, portable: true }, ['tree']);
    const s = await addLocal(ctx, { path: file, tags: ['tarball'] });
    const base = `${pathToFileURL(file).href}/tree/`;
    const urls = (await urlsOf(ctx)).filter((u) => u.startsWith(base)).map((u) => u.slice(base.length));
    assert.deepEqual(urls, ['guide/api.html', 'guide/setup.mdx', 'index.md', 'legacy.txt', 'manual.adoc', 'manual.pdf', 'notes.rst', 'readme.txt']);
    assert.equal(s.kind, 'archive');
    // the archive wraps its files in tree/: the root page is tree/index.md, as index.md is the directory's
    const root = (await listDocPages(ctx, { tags: ['tarball'] })).doc_pages.find((p) => p.page_id === s.root_page_id);
    assert.equal(root?.url, `${base}index.md`);
    const reasons = new Map(s.skipped_files.map((k) => [k.path, k.reason]));
    assert.equal(reasons.get('tree/linked.md'), 'link in the archive (not followed)');
    assert.equal(reasons.get('tree/secret.md'), 'ignored by .gitignore');
    assert.equal(reasons.get('tree/.hidden/x.md'), 'hidden');
    assert.equal(await topUrl(ctx, 'xylophonic'), `${base}manual.pdf`);
    assert.equal(await topUrl(ctx, 'outsideword'), undefined);
    const again = await addLocal(ctx, { path: file, tags: ['tarball'] });
    assert.deepEqual([again.added, again.updated, again.unchanged, again.removed], [0, 0, 8, 0]);
  });

  it('a .zip: unsafe names and links are skipped, the rest indexed; a plain .tar too', async () => {
    const file = join(dir, 'site.zip');
    writeFileSync(
      file,
      makeZip([
        { name: 'docs/index.md', data: '---\ntitle: Zipped Docs\n---\n# Hi\n\nThe pomegranate module.\n' },
        { name: 'docs/page.html', data: '<html><head><title>Zipped page</title></head><body><main><p>cardamom settings</p></main></body></html>' },
        { name: '../escape.md', data: '# Escape\n\nescapeword\n' },
        { name: '/etc/abs.md', data: '# Abs\n\nabsoluteword\n' },
        { name: 'docs/link.md', data: '/etc/passwd', symlink: true },
      ]),
    );
    const s = await addLocal(ctx, { path: file });
    assert.equal(s.added, 2);
    const reasons = new Map(s.skipped_files.map((k) => [k.path, k.reason]));
    assert.equal(reasons.get('../escape.md'), 'unsafe path in the archive (absolute or outside it)');
    assert.equal(reasons.get('/etc/abs.md'), 'unsafe path in the archive (absolute or outside it)');
    assert.equal(reasons.get('docs/link.md'), 'link in the archive (not followed)');
    assert.equal(await topUrl(ctx, 'pomegranate'), `${pathToFileURL(file).href}/docs/index.md`);
    assert.equal(await topUrl(ctx, 'escapeword'), undefined);

    const plain = join(dir, 'plain.tar');
    await tar.c({ cwd: join(tree, 'guide'), file: plain, portable: true }, ['setup.mdx']);
    assert.equal((await addLocal(ctx, { path: plain })).added, 1);
  });

  it('zip bombs and oversized entries: skipped by their header, refused when the header lies; nothing stored', async () => {
    const big = 'a '.repeat(300_000); // 600 KB that deflate packs into a few hundred bytes
    const file = join(dir, 'bomb.zip');
    writeFileSync(file, makeZip([{ name: 'ok.md', data: '# Ok\n\nfenugreek\n' }, { name: 'big.md', data: big }]));
    const s = await addLocal(ctx, { path: file, max_file_bytes: 100_000 });
    assert.equal(s.added, 1);
    assert.deepEqual(s.skipped_files, [{ path: 'big.md', reason: 'larger than 0.1 MiB' }]);

    const liar = join(dir, 'liar.zip');
    writeFileSync(liar, makeZip([{ name: 'a.md', data: '# A\n\nsaffronword\n' }, { name: 'b.md', data: big, declaredSize: 10 }]));
    const pages = (await listDocPages(ctx, {})).total_docs;
    await assert.rejects(addLocal(ctx, { path: liar, max_file_bytes: 100_000 }), (e: Error) => e instanceof ValidationError && /could not be read as a zip archive/.test(e.message));
    assert.equal((await listDocPages(ctx, {})).total_docs, pages, 'nothing stored from a refused archive');

    // A gzip bomb (small here: 8 MiB of one byte packs into ~8 KiB); the tar headers' sizes stop it before it unpacks.
    const bombDir = join(dir, 'bomb');
    mkdirSync(bombDir);
    writeFileSync(join(bombDir, 'zeros.md'), Buffer.alloc(8 * 2 ** 20, 0x61));
    const tgz = join(dir, 'bomb.tar.gz');
    await tar.c({ cwd: bombDir, file: tgz, gzip: true, portable: true }, ['zeros.md']);
    const limits = { maxFileBytes: 2 ** 20, maxFiles: 10, maxArchiveBytes: 2 ** 20, maxEntries: 10, maxUnpackedBytes: 4 * 2 ** 20, unsupported: () => undefined };
    await assert.rejects(readArchive(tgz, [], limits), /bomb\.tar\.gz unpacks to more than 4 MiB: unpack it yourself/);
    await assert.rejects(readArchive(tgz, [], { ...limits, maxUnpackedBytes: 2 ** 30, maxEntries: 0 }), /lists more than 0 entries/);

    const junk = join(dir, 'junk.tar.gz');
    writeFileSync(junk, gzipSync(Buffer.alloc(2048, 7)));
    await assert.rejects(addLocal(ctx, { path: junk }), /could not be read as a tar archive/);
  });
});

describe('local paths over REST and MCP', () => {
  let ctx: TestContext;
  const root = join(tempDir(), 'allowed');
  const other = tempDir();
  const outside = tempDir();

  before(async () => {
    mkdirSync(root);
    makeTree(root, outside);
    writeFileSync(join(other, 'other.md'), '# Other\n\nnutmegword\n');
    ctx = await makeContext({ runner: false });
  });
  after(() => ctx.close());

  /** A server over ctx with these allowed directories; returns its URL and a closer. */
  async function serve(allowLocal: string[], localKey?: string) {
    ctx.config = { ...ctx.config, allowLocal };
    const app = await buildHttpApp(ctx, { localKey });
    await registerMcpRoutes(app, localBackend({ ...ctx, close: async () => {} }), {});
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address() as { port: number };
    return { url: `http://127.0.0.1:${addr.port}`, close: () => app.close() };
  }
  const post = (base: string, body: object, headers: Record<string, string> = {}) =>
    fetch(`${base}/add_local`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const resultOf = async (res: Response) => {
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { progress?: unknown; result?: LocalIndexSummary });
    return { progress: lines.filter((l) => l.progress).length, result: lines.at(-1)!.result! };
  };

  it('refuses every local path without --allow-local; the local CLI (server.json key) may add any', async () => {
    const s = await serve([], 'the-local-key');
    try {
      const res = await post(s.url, { path: root });
      assert.equal(res.status, 403);
      assert.match(((await res.json()) as { detail: string }).detail, /start it with --allow-local <dir>/);
      assert.equal((await listDocPages(ctx, {})).total_docs, 0);
      const wrongKey = await post(s.url, { path: root }, { 'x-doctor-local-key': 'guess' });
      assert.equal(wrongKey.status, 403);
      const cli = await post(s.url, { path: join(other, 'other.md') }, { 'x-doctor-local-key': 'the-local-key' });
      assert.equal(cli.status, 200);
      const { progress, result } = await resultOf(cli);
      assert.ok(progress >= 1);
      assert.equal(result.added, 1);
    } finally {
      await s.close();
    }
  });

  it('with --allow-local: paths below it are indexed, others (and links out of it) refused', async () => {
    const s = await serve([join(root, '..')]);
    try {
      const ok = await post(s.url, { path: root, tags: ['rest'] });
      assert.equal(ok.status, 200);
      assert.equal((await resultOf(ok)).result.added, 9);
      assert.match((await searchDocs(ctx, { query: 'calibrateWidget', tags: ['rest'] })).results[0]?.url ?? '', /index\.md$/);
      for (const path of [other, join(root, 'linked.md'), join(root, '..', '..')]) {
        const res = await post(s.url, { path });
        assert.equal(res.status, 403, path);
        assert.match(((await res.json()) as { detail: string }).detail, /is not below a directory this server allows/);
      }
      const bad = await post(s.url, { path: 'relative/docs' });
      assert.equal(bad.status, 422);
      // Outside the allowed directory, a missing path and an existing one get the same answer: a caller
      // cannot tell which files exist on the server.
      for (const path of ['/etc/passwd', '/root/.ssh/no-such-file', '/no/such/dir/file.md', `${join(root, '..')}/../no-such-file`]) {
        const res = await post(s.url, { path });
        assert.equal(res.status, 403, path);
        assert.match(((await res.json()) as { detail: string }).detail, /is not below a directory this server allows/, path);
      }
      assert.equal((await post(s.url, { path: join(root, 'no-such-file.md') })).status, 404, 'inside it, a missing file is 404');

      // MCP: the same rule for agents, with the summary as the tool result.
      const client = new Client({ name: 'test', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${s.url}/mcp`)) as Transport);
      try {
        const allowed = (await client.callTool({ name: 'add_local', arguments: { path: root, tags: ['rest'] } })) as { structuredContent?: LocalIndexSummary; isError?: boolean };
        assert.ok(!allowed.isError);
        assert.equal(allowed.structuredContent?.unchanged, 9);
        const refused = (await client.callTool({ name: 'add_local', arguments: { path: other } })) as { isError?: boolean; content: { text: string }[] };
        assert.equal(refused.isError, true);
        assert.match(refused.content[0]!.text, /not below a directory this server allows/);
      } finally {
        await client.close();
      }
    } finally {
      await s.close();
    }
  });

  it('named pipes (and devices) are refused at once: they never tie up the server', async () => {
    // Opening a FIFO waits for a writer; a handful of such calls used to hold every thread the database
    // needs, so /health and search stopped answering until someone wrote into the pipes.
    const pipes = Array.from({ length: 6 }, (_, i) => join(root, '..', `pipe-${i}.zip`));
    for (const p of pipes) execFileSync('mkfifo', [p]);
    symlinkSync(pipes[0]!, join(root, '..', 'link-to-pipe.md'));
    const s = await serve([join(root, '..')]);
    try {
      const answers = await Promise.all([...pipes, join(root, '..', 'link-to-pipe.md')].map((path) => post(s.url, { path })));
      for (const res of answers) {
        assert.equal(res.status, 422);
        assert.match(((await res.json()) as { detail: string }).detail, /(pipe-\d\.zip|link-to-pipe\.md) is a named pipe, not a file or directory/);
      }
      assert.equal((await fetch(`${s.url}/health`)).status, 200);
      assert.ok((await searchDocs(ctx, { query: 'calibrateWidget' })).results.length > 0, 'search still answers');
      await assert.rejects(addLocal(ctx, { path: pipes[1]! }), /is a named pipe, not a file or directory: give a document file/);
      await assert.rejects(addLocal(ctx, { path: '/dev/zero' }), /is a device, not a file or directory/);
      // a NUL in the path (or %00 in a file:// URL) was a 500 "internal error: The argument 'path' must be ... without null bytes"
      for (const path of [join(root, 'guide.md\0x'), `file://${join(root, 'a%00b')}`]) {
        const res = await post(s.url, { path });
        assert.equal(res.status, 422);
        assert.match(((await res.json()) as { detail: string }).detail, /holds a NUL character, which no file name can: give the path without it/);
      }
    } finally {
      await s.close();
      for (const p of [...pipes, join(root, '..', 'link-to-pipe.md')]) rmSync(p);
    }
  });

  it('the service refuses restricted callers outside the allowed directories', async () => {
    ctx.config = { ...ctx.config, allowLocal: [root] };
    await assert.rejects(addLocal(ctx, { path: other }, { restricted: true }), ForbiddenError);
    await assert.rejects(addLocal(ctx, { path: `${root}-sibling-name` }, { restricted: true }), ForbiddenError);
  });
});

describe('doctor add: cancelled', () => {
  it('a cancel that arrives once every file is stored returns the summary (it was true), and one before stops the run', async () => {
    const ctx = await makeContext({ runner: false });
    try {
      const dir = tempDir();
      for (let i = 0; i < 6; i++) writeFileSync(join(dir, `p${i}.md`), `# Page ${i}\n\nText of page ${i}.\n`);
      const late = new AbortController();
      const summary = await addLocal(ctx, { path: dir }, {
        signal: late.signal,
        // Ctrl-C as the last file is reported done
        onProgress: (p) => p.step.startsWith('indexing') && p.done === p.total && late.abort(new Error('cancelled by the user')),
      });
      assert.ok(late.signal.aborted);
      assert.equal(summary.added, 6);
      const early = new AbortController();
      writeFileSync(join(dir, 'p0.md'), '# Page 0\n\nChanged.\n');
      for (let i = 6; i < 12; i++) writeFileSync(join(dir, `p${i}.md`), `# Page ${i}\n\nText of page ${i}.\n`);
      await assert.rejects(
        addLocal(ctx, { path: dir }, { signal: early.signal, onProgress: (p) => p.step.startsWith('indexing') && p.done === 1 && early.abort(new Error('cancelled by the user')) }),
        /cancelled by the user/,
      );
    } finally {
      await ctx.close();
    }
  });
});

describe('doctor add: progress', () => {
  it('counts add up to the files done in every progress report (no file counted before it is done)', async () => {
    const ctx = await makeContext({ runner: false });
    try {
      const dir = tempDir();
      for (let i = 0; i < 60; i++) writeFileSync(join(dir, `p${i}.md`), `# Page ${i}\n\n${'Text of a page about widgets. '.repeat(1 + (i % 7) * 40)}\n`);
      for (let i = 0; i < 10; i++) writeFileSync(join(dir, `e${i}.md`), '\n'); // no text: skipped while being indexed
      writeFileSync(join(dir, 'image.png'), PNG); // skipped by the walk, before the count starts
      const bad: string[] = [];
      const check = (p: { step: string; done: number; added: number; updated: number; unchanged: number; skipped: number }) => {
        if (!p.step.startsWith('indexing')) return;
        const counted = p.added + p.updated + p.unchanged + p.skipped - 1;
        if (counted !== p.done) bad.push(`${p.done} done, ${counted} counted (${JSON.stringify(p)})`);
      };
      const first = await addLocal(ctx, { path: dir }, { onProgress: check });
      assert.equal(first.added, 60);
      for (let i = 0; i < 60; i += 2) writeFileSync(join(dir, `p${i}.md`), `# Page ${i}\n\nChanged text.\n`);
      const second = await addLocal(ctx, { path: dir }, { onProgress: check });
      assert.equal(second.updated, 30);
      assert.deepEqual(bad, []);
    } finally {
      await ctx.close();
    }
  });
});

describe('doctor add: the root page', () => {
  it('is the next file when the chosen one gives no page (binary, no text), so the site has its root', async () => {
    const ctx = await makeContext({ runner: false });
    try {
      const dir = tempDir();
      writeFileSync(join(dir, 'index.md'), Buffer.concat([Buffer.from('# Index\n'), Buffer.alloc(64), PNG])); // the preferred name, but binary
      writeFileSync(join(dir, 'guide.md'), '# Guide\n\nThe gadget guide.\n');
      writeFileSync(join(dir, 'notes.md'), '# Notes\n\nMore about gadgets.\n');
      const file = join(tempDir(), 'docs.zip');
      writeFileSync(file, makeZip([{ name: 'a-empty.md', data: '\n' }, { name: 'b.md', data: '# B\n\nbee text\n' }, { name: 'c.md', data: '# C\n\nsea text\n' }]));
      for (const path of [dir, file]) {
        const summary = await addLocal(ctx, { path });
        assert.equal(summary.added, 2, path);
        const site = (await siteOverview(ctx, {})).sites.find((x) => x.root_page_id === summary.root_page_id);
        assert.ok(site, path);
        assert.equal(site.root_present, true, `${path}: the root page ${summary.root_page_id} is stored`);
        assert.equal(site.pages, 2);
        // run again: the same root, nothing changes
        const again = await addLocal(ctx, { path });
        assert.equal(again.root_page_id, summary.root_page_id);
        assert.equal(again.unchanged, 2, path);
      }
    } finally {
      await ctx.close();
    }
  });
});

describe('doctor add: a Sphinx HTML build', () => {
  it('leaves out _sources/ (the pages again, as reStructuredText) of a build, in a directory and in an archive; a _sources elsewhere is indexed', async () => {
    const ctx = await makeContext({ runner: false });
    try {
      const build = tempDir();
      mkdirSync(join(build, 'library', '_sources'), { recursive: true });
      mkdirSync(join(build, '_sources', 'library'), { recursive: true });
      writeFileSync(join(build, 'searchindex.js'), 'Search.setIndex({})');
      writeFileSync(join(build, 'index.html'), '<html><head><title>Gadget docs</title></head><body><main><h1>Gadget docs</h1><p>About gadgets.</p></main></body></html>');
      writeFileSync(join(build, '_sources', 'index.rst.txt'), 'Gadget docs\n===========\n\nAbout gadgets.\n');
      writeFileSync(join(build, '_sources', 'library', 'io.rst.txt'), 'io\n==\n\nReading gadgets.\n');
      // not a build's: library/ holds no searchindex.js
      writeFileSync(join(build, 'library', '_sources', 'notes.txt'), 'Notes kept under a folder named _sources.\n');
      const dirRun = await addLocal(ctx, { path: build });
      assert.equal(dirRun.added, 2, JSON.stringify(dirRun.skipped_files));
      const reason = 'the page sources of a Sphinx build (its HTML pages are indexed)';
      assert.equal(new Map(dirRun.skipped_files.map((s) => [s.path, s.reason])).get('_sources/'), `${reason} (directory)`);
      const urls = (await listDocPages(ctx, {})).doc_pages.map((p) => p.url).sort();
      assert.ok(urls.some((u) => u.endsWith('/index.html')) && urls.some((u) => u.endsWith('/library/_sources/notes.txt')), urls.join(' '));

      // the same build in a .tar.gz, wrapped in one folder as releases are
      const archive = join(tempDir(), 'gadget-docs.tar.gz');
      execFileSync('tar', ['czf', archive, '-C', dirname(build), basename(build)]);
      const fresh = await makeContext({ runner: false });
      try {
        const tarRun = await addLocal(fresh, { path: archive });
        assert.equal(tarRun.added, 2, JSON.stringify(tarRun.skipped_files));
        assert.equal(tarRun.skipped_by_reason['the page sources of a Sphinx build'], 2, JSON.stringify(tarRun.skipped_by_reason));
      } finally {
        await fresh.close();
      }
    } finally {
      await ctx.close();
    }
  });
});
