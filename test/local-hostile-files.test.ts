/**
 * Hostile local files for `doctor add` / add_local: files whose reading took the main thread (the server's,
 * which then answered nothing else) seconds to minutes, and a name that stopped the whole run. Each is added
 * through the service with a real DuckDB file and must be read in a moment, with the page a user expects.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { addLocal, listDocPages, searchDocs } from '../src/service/index.js';
import { indexLocalSource } from '../src/ingest/local/index-local.js';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { tempDir } from './helpers/tmp.js';

describe('doctor add: hostile local files are read quickly', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await makeContext({ runner: false });
  });
  after(() => ctx.close());

  const addOne = async (name: string, data: string) => {
    const dir = join(tempDir(), 'docs');
    mkdirSync(dir);
    writeFileSync(join(dir, name), data);
    const started = performance.now();
    const summary = await addLocal(ctx, { path: dir, tags: ['hostile'] });
    const seconds = (performance.now() - started) / 1000;
    const page = (await listDocPages(ctx, {})).doc_pages.find((p) => p.url === pathToFileURL(join(dir, name)).href);
    return { summary, seconds, page };
  };

  it('a file or directory whose name is not UTF-8 is skipped with its reason; the rest is indexed (the run failed with ENOENT)', async () => {
    const dir = join(tempDir(), 'names');
    mkdirSync(dir);
    writeFileSync(join(dir, 'good.md'), '# Good\n\nThe gamma ray section.\n');
    const bad = Buffer.concat([Buffer.from(dir + '/c'), Buffer.from([0xff, 0xfe]), Buffer.from('.md')]);
    writeFileSync(bad, '# Bad name\n\nText.\n');
    const badDir = Buffer.concat([Buffer.from(dir + '/d'), Buffer.from([0xe9])]);
    mkdirSync(badDir);
    writeFileSync(Buffer.concat([badDir, Buffer.from('/inner.md')]), '# Inner\n\nText.\n');
    const summary = await addLocal(ctx, { path: dir, tags: ['names'] });
    assert.equal(summary.added, 1);
    const reasons = new Map(summary.skipped_files.map((s) => [s.path, s.reason]));
    assert.equal(reasons.get('c\ufffd\ufffd.md'), 'its name is not valid UTF-8 (rename it to index it)');
    assert.equal(reasons.get('d\ufffd'), 'its name is not valid UTF-8 (rename it to index it)');
    const pages = (await listDocPages(ctx, { tags: ['names'] })).doc_pages;
    assert.deepEqual(pages.map((p) => p.url), [pathToFileURL(join(dir, 'good.md')).href]);
  });

  it('an AsciiDoc heading line with a long run of spaces inside (3,000 spaces took seconds of the main thread)', async () => {
    const { summary, seconds, page } = await addOne(
      'spaces.adoc',
      `= Spacious Manual\n\n== Spaced${' '.repeat(3000)}heading ==\n\nSome text.\n\n== Frob Section ==\n\nThe frobnicator sits here.\n`,
    );
    assert.equal(summary.added, 1);
    assert.ok(seconds < 3, `read in ${seconds.toFixed(1)} s`);
    assert.equal(page?.title, 'Spacious Manual');
    const hit = (await searchDocs(ctx, { query: 'frobnicator', mode: 'keyword' })).results[0];
    assert.equal(hit?.heading_path, 'Spacious Manual > Frob Section', 'headings without their closing ==');
  });

  it('Markdown whose front matter is a map of 30,000 keys (seconds of the main thread); a short one still names the page', async () => {
    const keys = Array.from({ length: 30_000 }, (_, i) => `key${i}: value`).join('\n');
    const { summary, seconds, page } = await addOne('keys.md', `---\n${keys}\ntitle: Ignored\n---\n\n# Keyed Page\n\nThe quuxinator lives here.\n`);
    assert.equal(summary.added, 1);
    assert.ok(seconds < 3, `read in ${seconds.toFixed(1)} s`);
    assert.equal(page?.title, 'Keyed Page', 'front matter this long is not read: the first heading names the page');
    const hit = (await searchDocs(ctx, { query: 'quuxinator', mode: 'keyword' })).results[0];
    assert.match(hit?.chunk_text ?? '', /quuxinator/);
    assert.doesNotMatch(hit!.chunk_text, /key1: value/, 'the front matter is not indexed');

    const short = await addOne('short.md', `---\ntitle: Front Title\ntitle: Second Title\n---\n\n# Heading\n\ntext\n`);
    assert.equal(short.page?.title, 'Second Title', 'a duplicate key no longer loses the title: the last one wins');
  });

  it('a 20 MB Markdown file: chunked, embedded and stored without holding the event loop (2.3 s before); its last section is found', async () => {
    const dir = join(tempDir(), 'big');
    mkdirSync(dir);
    const words = 'the of and to a in is that for it as with on be by this are or from at which can data function value table query index returns'.split(' ');
    const sections: string[] = ['# Big manual\n'];
    let size = 0;
    for (let i = 0; size < 20_000_000; i++) {
      const text = Array.from({ length: 400 }, (_, j) => words[(i * 7 + j * 13) % words.length]).join(' ');
      const section = `## Section ${i}\n\n${text}.\n\n\`\`\`sql\nSELECT a, b FROM t WHERE x = ${i};\n\`\`\`\n`;
      sections.push(section);
      size += section.length;
    }
    sections.push('## Last words\n\nThe quarkblender closes the manual.\n');
    writeFileSync(join(dir, 'big.md'), sections.join('\n'));
    const stalls = watchStalls();
    // 1536-d vectors, as the default embedders give: the cost held the event loop in proportion.
    const big = await makeContext({ runner: false, embedder: new LexicalEmbedder(1536) });
    try {
      try {
        const summary = await addLocal(big, { path: dir, tags: [] });
        assert.equal(summary.added, 1);
      } finally {
        stalls.stop();
      }
      assert.ok(stalls.longest() < 1000, `the event loop stalled for ${Math.round(stalls.longest())} ms`);
      const { results } = await searchDocs(big, { query: 'quarkblender', mode: 'keyword' });
      assert.match(results[0]?.chunk_text ?? '', /quarkblender closes the manual/);
    } finally {
      await big.close();
    }
  });

  it('a small PDF that keeps pdf.js busy (10,000 nested graphics states, 20 KB) is skipped at the read deadline; the event loop and the other files go on', async () => {
    const dir = join(tempDir(), 'pdfs');
    mkdirSync(dir);
    writeFileSync(join(dir, 'busy.pdf'), rawPdf(`${'q '.repeat(10_000)}BT /F1 12 Tf 72 700 Td (Busy page) Tj ET`));
    writeFileSync(join(dir, 'fine.md'), '# Fine\n\nThe zorbulator is documented here.\n');
    const stalls = watchStalls();
    try {
      const summary = await indexLocalSource(
        { store: ctx.store, embedder: ctx.embedder, log: ctx.log, chunking: { maxChars: 1500, overlap: 150 } },
        { path: dir, tags: [], exclude: [], limits: { maxFileBytes: 2 ** 24, maxArchiveBytes: 2 ** 30, maxUnpackedBytes: 2 ** 33, maxEntries: 1000, maxFiles: 1000 }, readDeadlineMs: 2000 },
      );
      assert.equal(summary.added, 1);
      assert.deepEqual(summary.skipped_files, [{ path: 'busy.pdf', reason: 'took longer than 2 s to read' }]);
    } finally {
      stalls.stop();
    }
    assert.ok(stalls.longest() < 1000, `the event loop stalled for ${Math.round(stalls.longest())} ms`);
  });
});

/** Watches this thread's event loop: the longest gap between two 20 ms ticks, until stopped. */
function watchStalls(): { stop(): void; longest(): number } {
  let last = performance.now();
  let longest = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 20);
  return { stop: () => clearInterval(tick), longest: () => longest };
}

/** A one-page PDF whose page has this content stream (Helvetica as /F1). */
function rawPdf(content: string): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
  ];
  let out = '%PDF-1.4\n';
  const offsets = objects.map((body, i) => {
    const at = out.length;
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
    return at;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
