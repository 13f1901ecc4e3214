import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { chunkMarkdown, chunkSearchText } from '../src/ingest/extract/chunker.js';
import { searchDocs } from '../src/service/search.js';
import { keywordPages, vectorPages } from '../src/search/page-candidates.js';
import { PAGE_WEIGHT, RRF_K, VECTOR_WEIGHT_LEXICAL, searchDocs as runSearch } from '../src/search/search-docs.js';
import { ValidationError } from '../src/service/errors.js';
import { tokenize } from '../src/text/tokenize.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { addPages } from './helpers/pages.js';
import { cosine } from './helpers/vectors.js';
import { ValidationError as StoreValidationError } from '../src/store/validation.js';

/** Stores a page and its chunks the way the crawler does. */
async function addPage(ctx: TestContext, id: string, title: string, markdown: string, tags: string[]) {
  const chunks = chunkMarkdown(markdown, { maxChars: 300, overlap: 0 });
  const vectors = await ctx.embedder.embed(chunks.map((c) => chunkSearchText(c, title)));
  await ctx.store.db.transaction(async (tx) => {
    await ctx.store.pages.upsert(tx, {
      id, url: `https://docs.test/${id}`, domain: 'docs.test', title, raw_text: markdown, crawl_date: new Date(), tags, job_id: 'j',
      parent_page_id: null, root_page_id: id, depth: 0, path: `/${id}`, content_hash: id,
    });
    await ctx.store.chunks.writeBatch(tx, vectors, chunks.map((c) => ({
      text: c.text, page_id: id, url: `https://docs.test/${id}`, domain: 'docs.test', tags, job_id: 'j', chunk_index: c.index, title,
      heading_path: c.headingPath.join(' > ') || null,
    })));
  });
}

const filler = (topic: string, n: number) => Array.from({ length: n }, (_, i) => `## ${topic} part ${i}\n\nThis section explains ${topic} detail number ${i} with several words about ${topic}.`).join('\n\n');

describe('tokenizer', () => {
  it('case-folds and splits code identifiers while keeping them whole', () => {
    assert.deepEqual(tokenize('readFileSync'), ['readfilesync', 'read', 'file', 'sync']);
    assert.deepEqual(tokenize('read_file_sync'), ['read_file_sync', 'read', 'file', 'sync']);
    assert.deepEqual(tokenize('os.path.join()'), ['os.path.join', 'os', 'path', 'join']);
    assert.deepEqual(tokenize('The HTTPServer and the café'), ['httpserver', 'http', 'server', 'café']);
  });
});

describe('searchDocs', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await makeContext({ runner: false, embedder: new LexicalEmbedder(512) });
    await addPage(ctx, 'fs', 'File system', '# File system\n\n## Reading files\n\nUse `readFileSync(path)` to read a whole file at once.\n\n## Writing files\n\nUse `writeFile` to write data.\n\n' + filler('streams', 6), ['node']);
    await addPage(ctx, 'retries', 'Retries', '# Retries\n\nFailed tasks are retried with exponential backoff and jitter.\n\n' + filler('backoff', 8), ['kettle']);
    await addPage(ctx, 'quotes', "It's 100%", '# Odd\n\nA page tagged with odd characters about quoting.', ["it's", '100%_']);
    for (let i = 0; i < 30; i++) await addPage(ctx, `many-${i}`, `Widgets ${i}`, `# Widgets ${i}\n\n` + filler('widgets', 3), ['widgets']);
    // a page whose only distinctive content is a rare identifier
    await addPage(ctx, 'frob', 'Misc', '# Misc\n\nSet zqxFrobnicateLimit to cap frobnication.\n\n' + filler('widgets', 2), ['widgets']);
  });
  after(() => ctx.close());

  it('returns one result per page, keeping the best chunk, and fills max_results pages', async () => {
    const { results } = await searchDocs(ctx, { query: 'widgets detail', max_results: 20 });
    assert.equal(results.length, 20);
    assert.equal(new Set(results.map((r) => r.page_id)).size, 20);
    const all = await searchDocs(ctx, { query: 'widgets detail', max_results: 100 });
    assert.ok(all.results.length >= 31, 'every matching page, even when each has many chunks');
  });

  it('the kept chunk is the page best chunk (vector mode: highest cosine of that page)', async () => {
    const query = 'read a whole file at once';
    const { results } = await searchDocs(ctx, { query, mode: 'vector', max_results: 5 });
    const top = results.find((r) => r.page_id === 'fs')!;
    const [q] = await ctx.embedder.embed([query]);
    const chunkIds = (await ctx.store.db.all<{ id: string }>("SELECT id FROM document_embeddings WHERE page_id = 'fs'")).map((r) => r.id);
    const payloads = await ctx.store.chunks.payloads(chunkIds);
    let best = -1;
    for (const p of payloads.values()) {
      const [v] = await ctx.embedder.embed([chunkSearchText({ text: p.text, headingPath: p.heading_path ? p.heading_path.split(' > ') : [], index: 0 }, p.title)]);
      best = Math.max(best, cosine(q!, v!));
    }
    assert.ok(Math.abs(top.score - best) < 1e-4, `score ${top.score} is the best chunk's cosine ${best}`);
    assert.match(top.chunk_text, /readFileSync/);
    assert.equal(top.heading_path, 'File system > Reading files');
  });

  it('finds identifiers by their parts and by the whole', async () => {
    const a = await searchDocs(ctx, { query: 'read file sync', mode: 'keyword', max_results: 3 });
    assert.equal(a.results[0]!.page_id, 'fs');
    const b = await searchDocs(ctx, { query: 'readFileSync', mode: 'keyword', max_results: 3 });
    assert.equal(b.results[0]!.page_id, 'fs');
  });

  it('hybrid search finds a keyword-only term', async () => {
    const { results } = await searchDocs(ctx, { query: 'zqxFrobnicateLimit', max_results: 3 });
    assert.equal(results[0]!.page_id, 'frob');
  });

  it('tag filters keep only matching pages; odd tags are plain values', async () => {
    const { results } = await searchDocs(ctx, { query: 'backoff retries', tags: ['node'], max_results: 10 });
    assert.ok(results.length > 0 && results.every((r) => r.tags.includes('node')));
    const odd = await searchDocs(ctx, { query: 'quoting', tags: ["it's"] });
    assert.deepEqual(odd.results.map((r) => r.page_id), ['quotes']);
    assert.deepEqual((await searchDocs(ctx, { query: 'quoting', tags: ['100%'] })).results, []);
    assert.deepEqual((await searchDocs(ctx, { query: 'quoting', tags: ['%'] })).results, []);
  });

  it('return_full_document_text returns the whole page', async () => {
    const { results } = await searchDocs(ctx, { query: 'exponential backoff jitter', max_results: 1, return_full_document_text: true });
    const page = await ctx.store.pages.get('retries');
    assert.equal(results[0]!.page_id, 'retries');
    assert.equal(results[0]!.chunk_text, page!.raw_text);
    assert.ok(results[0]!.chunk_text.split('\n').length > 30);
  });

  it('keeps the keyword index in step with deletes', async () => {
    await addPage(ctx, 'temp', 'Temporary', '# Temporary\n\nThe word xylophonique appears only here.', ['tmp']);
    assert.equal((await searchDocs(ctx, { query: 'xylophonique', mode: 'keyword' })).results[0]?.page_id, 'temp');
    await ctx.store.pages.delete({ ids: ['temp'] });
    assert.deepEqual((await searchDocs(ctx, { query: 'xylophonique', mode: 'keyword' })).results, []);
    const [orphans] = await ctx.store.db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM kw_docs WHERE doc NOT IN (SELECT seq FROM document_embeddings)');
    assert.equal(orphans!.n, 0);
  });

  it('validates input with readable messages', async () => {
    const bad: [object, RegExp][] = [
      [{ query: '' }, /query must not be empty/],
      [{}, /query is required/],
      [{ query: 'x', max_results: 0 }, /max_results/],
      [{ query: 'x', max_results: 101 }, /max_results/],
      [{ query: 'x', mode: 'fuzzy' }, /mode/],
    ];
    for (const [input, re] of bad) await assert.rejects(searchDocs(ctx, input as never), (e: Error) => e instanceof ValidationError && re.test(e.message));
  });

  it('hybrid score is the weighted RRF sum of the page ranks in the vector and keyword rankings', async () => {
    const query = 'exponential backoff';
    const deps = { store: ctx.store, embedder: ctx.embedder, keyword: ctx.store.keyword };
    // the two page rankings before fusion (and before pages repeating a passage of a page above them are left out)
    const [q] = await ctx.embedder.embed([query], { input: 'query' });
    const vec = (await vectorPages(ctx.store, q!, 50)).map((c) => c.pageKey);
    const prepared = await ctx.store.keyword.prepare(query);
    const kw = (await keywordPages(ctx.store.keyword, prepared, { limit: 50, depth: 50, pageWeight: PAGE_WEIGHT })).map((c) => c.pageKey);
    const rrf = (page: string, wv: number) =>
      [vec, kw].reduce((sum, list, l) => sum + (list.includes(page) ? (l === 0 ? wv : 1) / (RRF_K + list.indexOf(page) + 1) : 0), 0);
    for (const wv of [1, 0.5]) {
      const { results } = await runSearch({ ...deps, fusion: { pageWeight: PAGE_WEIGHT, vectorWeight: wv } }, { query, max_results: 5 });
      assert.equal(results[0]!.page_id, 'retries');
      for (const r of results) assert.ok(Math.abs(r.score - rrf(r.page_id, wv)) < 1e-12, `${r.page_id}: ${r.score} = ${rrf(r.page_id, wv)}`);
      assert.ok(results[0]!.score <= (1 + wv) / (RRF_K + 1));
    }
    // The lexical embedder's default vector weight (chosen on the evaluation set) applies when none is given.
    const { results } = await searchDocs(ctx, { query, max_results: 5 });
    for (const r of results) assert.ok(Math.abs(r.score - rrf(r.page_id, VECTOR_WEIGHT_LEXICAL)) < 1e-12);
    const kwOnly = await searchDocs(ctx, { query, mode: 'keyword', max_results: 1 });
    assert.ok(kwOnly.results[0]!.score > 1, 'keyword mode reports BM25');
  });

  it('keyword score = BM25 of the best chunk + PAGE_WEIGHT x BM25 of the whole page', async () => {
    const query = 'streams detail backoff';
    const { results } = await searchDocs(ctx, { query, mode: 'keyword', max_results: 10 });
    const q = await ctx.store.keyword.prepare(query);
    const scored = new Map((await ctx.store.keyword.scorePages(q, results.map((r) => r.page_id))).map((s) => [s.pageKey, s]));
    for (const r of results) {
      const s = scored.get(r.page_id)!;
      assert.ok(Math.abs(r.score - (s.score + PAGE_WEIGHT * s.pageScore)) < 1e-9, r.page_id);
      assert.equal(r.chunk_id, s.chunkId, 'the chunk shown is the page best chunk');
    }
    assert.deepEqual(results.map((r) => r.score), [...results.map((r) => r.score)].sort((a, b) => b - a));
  });

  it('page-level evidence: a page covering the query across its sections can beat a page with one matching chunk', async () => {
    await addPage(ctx, 'ap-guide', 'Appliance handbook', '# Appliance handbook\n\n## Kettle\n\nThe kettle heats water. A kettle has a lid.\n\n## Scale\n\nDescaling removes scale; descaling monthly helps.\n\n## Cleaning agents\n\nVinegar works; white vinegar is cheap.', ['ap']);
    await addPage(ctx, 'ap-notes', 'Notes', '# Notes\n\nKettle descaling with vinegar is one of many chores.\n\n' + filler('chores', 4), ['ap']);
    const deps = { store: ctx.store, embedder: ctx.embedder, keyword: ctx.store.keyword };
    const ask = (pageWeight: number) => runSearch({ ...deps, fusion: { pageWeight, vectorWeight: 1 } }, { query: 'kettle descaling vinegar', mode: 'keyword', tags: ['ap'] });
    assert.equal((await ask(0)).results[0]!.page_id, 'ap-notes', 'by its best chunk alone, the notes page wins');
    assert.equal((await ask(2)).results[0]!.page_id, 'ap-guide', 'with page evidence weighing enough, the handbook wins');
    await ctx.store.pages.delete({ ids: ['ap-guide', 'ap-notes'] });
  });

  it('a query made only of stop words still returns results, in every mode', async () => {
    for (const mode of ['hybrid', 'keyword', 'vector'] as const) {
      const { results } = await searchDocs(ctx, { query: 'how to do it with the', mode });
      assert.ok(results.length > 0, mode);
    }
  });

  it('says which words of the query no page holds, so an agent can tell that the results may not answer it', async () => {
    // one word missing: the results match the others
    const partly = await searchDocs(ctx, { query: 'What is sargable exponential backoff?' });
    assert.equal(partly.results[0]!.page_id, 'retries');
    assert.equal(partly.note, 'No indexed page contains "sargable": the results match the query\'s other words or its meaning, and may not answer it.');
    // every word missing: hybrid still answers by meaning, and says so; keyword mode finds nothing, and says why
    const none = await searchDocs(ctx, { query: 'sargable quuxified' });
    assert.ok(none.results.length > 0);
    assert.match(none.note ?? '', /^No indexed page contains "sargable", "quuxified": the results are only the nearest by meaning and may be unrelated\. Try other words/);
    const kw = await searchDocs(ctx, { query: 'sargable', mode: 'keyword' });
    assert.deepEqual(kw.results, []);
    assert.equal(kw.note, 'No indexed page contains "sargable". Try other words, or index documentation that covers it.');
    // a word is present when one of its parts is (identifiers), and stop words are never named
    assert.equal((await searchDocs(ctx, { query: 'how to readFileAsync the zqxFrobnicateLimit' })).note, undefined);
    assert.equal((await searchDocs(ctx, { query: 'the backoff of it' })).note, undefined);
    assert.equal((await searchDocs(ctx, { query: 'sargable', mode: 'vector' })).note, undefined, 'vector mode does not consult the keyword index');
    // a query of common words only
    assert.match((await searchDocs(ctx, { query: 'how to do it with the' })).note ?? '', /^The query holds only common words/);
    // no results (a tag filter): the words no page holds, without speaking of results
    const tagged = await searchDocs(ctx, { query: 'sargable widgets', tags: ['no-such-tag'] });
    assert.deepEqual(tagged, { results: [], note: 'No indexed page contains "sargable". Try other words, or index documentation that covers it.' });
    // nothing indexed at all: that, not a word missing
    const empty = await makeContext({ runner: false });
    try {
      assert.deepEqual(await searchDocs(empty, { query: 'how to upsert' }), { results: [], note: 'Nothing is indexed yet: index some documentation first.' });
    } finally {
      await empty.close();
    }
  });

  it('validates input in searchDocs itself (not only in the service layer)', async () => {
    const deps = { store: ctx.store, embedder: ctx.embedder, keyword: ctx.store.keyword };
    const bad: [object, RegExp][] = [
      [{ query: '   ' }, /query must not be empty/],
      [{}, /query is required/],
      [{ query: 'x', max_results: 0 }, /max_results must be an integer from 1 to 100 \(got 0\)/],
      [{ query: 'x', max_results: 2.5 }, /max_results must be an integer from 1 to 100/],
      [{ query: 'x', mode: 'fuzzy' }, /mode must be one of hybrid, vector, keyword \(got "fuzzy"\)/],
      [{ query: 'x', tags: 'node' }, /tags must be a list of strings/],
    ];
    for (const [input, re] of bad) await assert.rejects(runSearch(deps, input as never), (e: Error) => e instanceof StoreValidationError && re.test(e.message));
  });
});

describe('searchDocs with pages of hundreds of chunks', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await makeContext({ runner: false, embedder: new LexicalEmbedder(128) });
    const write = async (pageId: string, texts: string[]) => {
      const vectors = await ctx.embedder.embed(texts);
      await ctx.store.chunks.indexBatch(vectors, texts.map((text, i) => ({ text, page_id: pageId, url: `https://docs.test/${pageId}`, title: pageId, chunk_index: i, tags: ['big'] })));
    };
    // Two pages whose 600 chunks each all sit closer to the query than any chunk of the small pages:
    // the vector engine's 1,000 nearest chunks hold only these two pages.
    for (const p of ['big-a', 'big-b']) await write(p, Array.from({ length: 600 }, (_, i) => `lantern glow settings ${p} ${i}`));
    for (let i = 0; i < 5; i++) await write(`small-${i}`, [`lantern maintenance and cleaning guide ${i}, unrelated words here`]);
  });
  after(() => ctx.close());

  it('still returns max_results pages, each with its best chunk', async () => {
    const [query] = await ctx.embedder.embed(['lantern glow settings']);
    const nearest = await ctx.store.chunks.search(query!, 1000);
    assert.deepEqual([...new Set(nearest.map((h) => h.payload.page_id))].sort(), ['big-a', 'big-b'], 'over-fetching alone cannot fill 6 pages');
    for (const mode of ['vector', 'hybrid', 'keyword'] as const) {
      const { results } = await searchDocs(ctx, { query: 'lantern glow settings', mode, max_results: 6 });
      assert.equal(results.length, 6, mode);
      assert.equal(new Set(results.map((r) => r.page_id)).size, 6, mode);
    }
    const { results } = await searchDocs(ctx, { query: 'lantern glow settings', mode: 'vector', max_results: 7 });
    assert.deepEqual(results.slice(0, 2).map((r) => r.page_id).sort(), ['big-a', 'big-b']);
    const [q] = await ctx.embedder.embed(['lantern glow settings']);
    for (const r of results) {
      const [v] = await ctx.embedder.embed([r.chunk_text]);
      assert.ok(Math.abs(r.score - cosine(q!, v!)) < 1e-5, 'score = 1 - cosine distance of the chunk shown');
    }
    const all = await searchDocs(ctx, { query: 'lantern', mode: 'vector', max_results: 100, tags: ['big'] });
    assert.equal(all.results.length, 7, 'every page, no more');
  });
});

describe('pages that publish the same passage at several URLs (rustdoc re-exports)', () => {
  let ctx: TestContext;
  const rustdoc = (url: string) =>
    `# Struct HashMap\n\nA hash map.\n\n## [Entry API](${url}#entry)\n\nUse [entry](${url}#method.entry) to insert a value or update the existing value in place: ` +
    'the entry API looks the key up once.';
  const A = 'https://doc.test/std/collections/struct.HashMap.html';
  const B = 'https://doc.test/std/collections/hash_map/struct.HashMap.html';
  before(async () => {
    ctx = await makeContext({ runner: false });
    await addPages(ctx, [
      { id: 'a', title: 'HashMap in std::collections', url: A, markdown: rustdoc(A) },
      { id: 'b', title: 'HashMap in std::collections::hash_map', url: B, markdown: rustdoc(B) },
      ...['BTreeMap', 'Vec', 'Option'].map((t) => ({
        id: t, title: t, url: `https://doc.test/std/${t}.html`, markdown: `# ${t}\n\n## Insert\n\nHow ${t} can insert a value, or update the existing value.`,
      })),
    ]);
  });
  after(() => ctx.close());

  for (const mode of ['hybrid', 'keyword', 'vector'] as const) {
    it(`${mode}: one result for the passage, naming the other URL, and max_results still filled with other pages`, async () => {
      const res = await searchDocs(ctx, { query: 'insert a value or update the existing value', max_results: 4, mode });
      const urls = res.results.map((r) => r.url);
      assert.equal(res.results.length, 4, urls.join(' '));
      const copies = res.results.filter((r) => r.url === A || r.url === B);
      assert.equal(copies.length, 1, urls.join(' '));
      assert.deepEqual(copies[0]!.same_text_urls, [copies[0]!.url === A ? B : A]);
      assert.ok(res.results.filter((r) => r !== copies[0]).every((r) => r.same_text_urls === undefined));
    });
  }
});
