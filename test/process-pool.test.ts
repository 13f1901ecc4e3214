import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { chunkSearchText } from '../src/ingest/extract/chunker.js';
import { headingPathOf, packChunks, processPage, unpackChunks, type ProcessPageInput } from '../src/ingest/process-page.js';
import { ProcessPool } from '../src/ingest/process-pool.js';
import { chunkTerms } from '../src/text/chunk-terms.js';

const section = (i: number) =>
  `<h2>Section ${i}</h2><p>The <code>open_file()</code> call reads configuration number ${i} and retries on timeout.</p>` +
  `<pre><code class="language-python">open_file("cfg${i}.toml", retries=${i})</code></pre><p>${'More words about the option. '.repeat(20)}</p>`;
const PAGE = `<!DOCTYPE html><html><head><title>Files — Acme Docs</title></head><body><nav><a href="/docs/other.html">Other</a></nav>
<main><h1>Files</h1>${Array.from({ length: 12 }, (_, i) => section(i)).join('')}<a href="/docs/next.html">Next</a></main></body></html>`;
const input = (over: Partial<ProcessPageInput> = {}): ProcessPageInput => ({
  body: PAGE,
  contentType: 'text/html; charset=utf-8',
  url: 'https://acme.test/docs/files.html',
  chunking: { maxChars: 600, overlap: 100 },
  lexicalDimension: 64,
  keywordTerms: true,
  ...over,
});

describe('page processing in worker threads', () => {
  const pool = new ProcessPool({ size: 2 });
  after(() => pool.close());

  it('a worker gives exactly what the step gives on this thread: page, chunks, lexical vectors, keyword terms', async () => {
    await pool.ready();
    const inline = processPage(input());
    const remote = await pool.process(input());
    assert.ok(inline.chunks.length >= 5, `${inline.chunks.length} chunks`);
    assert.equal(remote.page.title, 'Files');
    assert.deepEqual(remote.page, inline.page);
    assert.deepEqual(remote.chunks, inline.chunks);
    assert.deepEqual(remote.page.links, ['https://acme.test/docs/other.html', 'https://acme.test/docs/next.html']);
    // the vectors are the lexical embedder's, the terms what the keyword index computes for the stored row
    const expected = await new LexicalEmbedder(64).embed(inline.chunks.map((c) => chunkSearchText(c, inline.page.title)));
    assert.deepEqual(remote.vectors!.map((v) => [...v]), expected.map((v) => [...v]));
    const terms = inline.chunks.map((c) => chunkTerms({ text: c.text, title: inline.page.title, heading_path: headingPathOf(c) }));
    assert.deepEqual(remote.terms!.map((t) => [[...t.words], [...t.counts], t.length]), terms.map((t) => [[...t.words], [...t.counts], t.length]));
  });

  it('pages in parallel each get their own result; no vectors or terms unless asked', async () => {
    const pages = Array.from({ length: 8 }, (_, i) => input({ body: `<main><h1>Page ${i}</h1><p>text of page ${i}</p></main>`, url: `https://acme.test/p${i}.html`, lexicalDimension: undefined, keywordTerms: false }));
    const results = await Promise.all(pages.map((p) => pool.process(p)));
    results.forEach((r, i) => {
      assert.equal(r.page.title, `Page ${i}`);
      assert.equal(r.vectors, undefined);
      assert.equal(r.terms, undefined);
    });
  });

  it('the second worker gets a page only when the first holds two; then the less loaded one does', async () => {
    await pool.ready();
    const running = [pool.process(input()), pool.process(input())];
    assert.deepEqual(pool.loads, [2, 0], 'two pages: both with the first worker (one worked on, one waiting)');
    running.push(pool.process(input()));
    assert.deepEqual(pool.loads, [2, 1]);
    running.push(pool.process(input()));
    assert.deepEqual(pool.loads, [2, 2]);
    running.push(pool.process(input()));
    assert.deepEqual(pool.loads, [3, 2], 'both hold two: the least loaded, the first on a tie');
    const results = await Promise.all(running);
    assert.ok(results.every((r) => r.page.title === 'Files'));
    assert.deepEqual(pool.loads, [0, 0]);
  });

  it('Markdown and empty pages pass through; a JavaScript-only page says so', async () => {
    const md = await pool.process(input({ body: '# Guide\n\nSome text.', contentType: 'text/markdown', url: 'https://acme.test/g.md' }));
    assert.equal(md.page.title, 'Guide');
    assert.equal(md.chunks.length, 1);
    const app = await pool.process(input({ body: '<html><body><div id="root"></div><script src="/app.js"></script></body></html>' }));
    assert.equal(app.jsOnly, true);
    assert.deepEqual(app.chunks, []);
  });

  it('a worker that runs out of memory fails its page with the reason; the pool goes on with a new worker', async () => {
    const small = new ProcessPool({ size: 1, maxHeapMb: 16 });
    try {
      await small.ready();
      const huge = `<main>${'<div><p>word word word <b>bold</b> <a href="/x">x</a></p></div>'.repeat(59_000)}</main>`;
      await assert.rejects(small.process(input({ body: huge })), /extraction worker/);
      await small.ready(); // the replacement
      const ok = await small.process(input({ body: '<main><h1>Still here</h1><p>text</p></main>' }));
      assert.equal(ok.page.title, 'Still here');
    } finally {
      await small.close();
    }
  });

  // ~8 MB of HTML: about a second of extraction, chunking and terms
  const bigPage = () => input({ body: `<main>${Array.from({ length: 100_000 }, (_, i) => `<div><p>word ${i} of <b>bold ${i % 97}</b> <a href="/x${i}">x</a></p></div>`).join('')}</main>` });

  it('pages that arrive while the workers start wait for them: the calling thread (the server) goes on answering', async () => {
    const fresh = new ProcessPool({ size: 1 });
    let longestGap = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 5);
    try {
      const started = performance.now();
      const first = await fresh.process(bigPage()); // the worker is still loading its code
      const took = performance.now() - started;
      assert.ok(first.chunks.length > 100, `${first.chunks.length} chunks`);
      longestGap = Math.max(longestGap, performance.now() - last);
      assert.ok(longestGap < Math.min(400, took / 2), `the event loop stopped for ${Math.round(longestGap)} ms of ${Math.round(took)}`);
      assert.deepEqual((await fresh.process(input())).chunks, processPage(input()).chunks);
    } finally {
      clearInterval(ticker);
      await fresh.close();
    }
  });

  it('a page worked on past the deadline fails with the reason; the pages behind it and later ones are processed', async () => {
    const strict = new ProcessPool({ size: 1, pageDeadlineMs: 100 });
    try {
      await strict.ready();
      const slow = strict.process(bigPage());
      const behind = [strict.process(input()), strict.process(input({ url: 'https://acme.test/docs/b.html' }))];
      assert.deepEqual(strict.loads, [3], 'all three with the one worker');
      await assert.rejects(slow, /processing the page took longer than 0\.1 s \(DOCTOR_EXTRACT_TIMEOUT_MS\); it was stopped/);
      const done = await Promise.all(behind);
      assert.deepEqual(done.map((r) => r.page.title), ['Files', 'Files']);
      assert.equal((await strict.process(input({ body: '<main><h1>Later</h1><p>text</p></main>' }))).page.title, 'Later');
    } finally {
      await strict.close();
    }
  });

  it('with size 0 pages are processed on the calling thread; a closed pool refuses work', async () => {
    const inline = new ProcessPool({ size: 0 });
    assert.equal((await inline.process(input())).page.title, 'Files');
    await inline.close();
    await assert.rejects(inline.process(input()), /closed/);
  });
});

describe('chunks crossing threads packed', () => {
  it('unpack gives back every chunk, heading path, vector and term list as they were, vectors views on one moved buffer', () => {
    const markdown = ['# Guide', '', 'Intro text.', '', '## Install', '', 'Run the installer. '.repeat(80), '', '### Linux', '', 'apt-get install x. '.repeat(80), '', '## Use', '', 'Open it. '.repeat(60)].join('\n');
    const page = processPage({ body: markdown, contentType: 'text/markdown', url: 'https://docs.test/guide.md', chunking: { maxChars: 400, overlap: 50 }, lexicalDimension: 64, keywordTerms: true });
    assert.ok(page.chunks.length > 5 && page.chunks.some((c) => c.headingPath.length === 1) && page.chunks.some((c) => c.headingPath.length >= 3), JSON.stringify(page.chunks.map((c) => c.headingPath)));
    const vectors = page.vectors!.map((v) => [...v]);
    const terms = page.terms!.map((t) => [[...t.words], [...t.counts], t.length]);
    const scattered = page.vectors!.map((v) => Float32Array.from(v));
    const { packed, transfer } = packChunks(page);
    assert.equal(packed.vectors!.buffer, page.vectors![0]!.buffer, 'the vectors move as the one buffer they are views on');
    const copy = structuredClone(packed, { transfer });
    const back = unpackChunks(copy);
    assert.deepEqual(back.chunks, page.chunks.map((c) => ({ text: c.text, headingPath: c.headingPath, index: c.index })));
    assert.deepEqual(back.vectors!.map((v) => [...v]), vectors);
    assert.ok(back.vectors!.every((v) => v.buffer === back.vectors![0]!.buffer));
    assert.deepEqual(back.terms!.map((t) => [[...t.words], [...t.counts], t.length]), terms);
    // vectors that are not one buffer's views in order are copied together
    const { packed: p2 } = packChunks({ chunks: page.chunks, vectors: scattered });
    assert.deepEqual(unpackChunks(p2).vectors!.map((v) => [...v]), vectors);
  });
});
