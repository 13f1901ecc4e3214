import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { setMeta } from '../src/db/meta.js';
import { chunkTermCounts, chunkTerms } from '../src/text/chunk-terms.js';
import { analyze, isStopword, queryTerms, tokenize } from '../src/text/tokenize.js';
import type { ChunkPayload } from '../src/store/embeddings.js';
import { openStore, type Store } from '../src/store/store.js';
import { tempDir } from './helpers/tmp.js';

const embedder = new LexicalEmbedder(64);
const identity = { provider: embedder.provider, model: embedder.model, dimension: embedder.dimension };

async function add(store: Store, chunks: (Partial<ChunkPayload> & { id: string; text: string })[]) {
  const vectors = await embedder.embed(chunks.map((c) => c.text));
  await store.chunks.indexBatch(vectors, chunks.map(({ id: _id, ...c }) => ({ page_id: _id.split('#')[0], tags: [], ...c })), chunks.map((c) => c.id));
}

const ids = async (store: Store, query: string, opts: Parameters<Store['keyword']['search']>[2] = {}, limit = 10) =>
  (await store.keyword.search(query, limit, opts)).map((h) => h.id);

/** BM25 (k1 1.2, b 0.75) computed from scratch over chunk texts, the way the index documents it. */
function referenceBm25(chunks: { id: string; text: string; title?: string | null; heading_path?: string | null }[], query: string): Map<string, number> {
  const docs = chunks.map((c) => {
    const tf = chunkTermCounts(c);
    let len = 0;
    for (const [t, n] of tf) if (!isStopword(t) && !t.includes(' ')) len += n;
    return { id: c.id, tf, len };
  });
  const avg = docs.reduce((a, d) => a + d.len, 0) / docs.length;
  const scores = new Map<string, number>();
  for (const term of queryTerms(query)) {
    const df = docs.filter((d) => d.tf.has(term)).length;
    if (df === 0) continue;
    const idf = Math.log(1 + (docs.length - df + 0.5) / (df + 0.5));
    for (const d of docs) {
      const tf = d.tf.get(term);
      if (!tf) continue;
      scores.set(d.id, (scores.get(d.id) ?? 0) + (idf * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * d.len) / avg)));
    }
  }
  return scores;
}

describe('tokeniser', () => {
  it('splits exactly as the stored keyword rows were split (a change must re-index)', () => {
    // digests of the terms for varied texts: stored kw_docs rows and snapshot files hold hashes of these
    // terms, so any change here must come with a re-index of stored chunks (TOKENIZER_VERSION)
    const digest = (texts: string[]) => {
      const h = createHash('sha256');
      for (const t of texts) h.update(JSON.stringify([analyze(t), analyze(t, 'all'), analyze(t, 'none'), queryTerms(t)]));
      return h.digest('hex');
    };
    // Text without CJK letters: the terms of the first implementation (kw3), unchanged by CJK bigrams; kw5 kept
    // combining marks inside words and composed them (B́ below), and added the Devanagari and decomposed text.
    const texts = [
      '', 'ON CONFLICT DO NOTHING; GROUP BY x IS DISTINCT FROM y', 'readFileSync os.path.join read_file_sync HTTPServer x86_64 AB1 A1 Abc12 getHTTPResponseCode',
      'ÀB́C Ǆemal שלוםabc ʰmod café', 'SELECT  *\tFROM\nT WHERE A_B = 1 AND\u00a0NOT NULL', 'std::vector foo::bar-baz.qux a..b --x',
      'The quick brown fox jumps over the lazy dog. ' + 'x'.repeat(80) + ' tail', 'हिन्दी भाषा re\u0301sume\u0301 \u0301 كَتَبَ',
    ];
    assert.equal(digest(texts), '6522775f88b7277e21d680a07962c9f1f68906e0947c603e0989e1aa50f335f1');
    // CJK text (character bigrams, kw4; kw5: the B́ above)
    const cjk = [
      'ÀB́C Ǆemal שלוםabc 日本語のテキスト ʰmod café', 'Python3の使い方 APIキー foo.日本.bar_baz readFileSyncを呼ぶ', 'SELECT 文 ON CONFLICT 句 GROUP BY',
      '数据库索引：本文介绍如何为数据库表创建索引。', '데이터베이스를 사용합니다', 'データベース 𠀋 々 〇',
    ];
    assert.equal(digest(cjk), 'ff884fbac0325f3d6feaea3b11cfca921b54b3f81f54d50d9b81f5653310d242');
    // Thai, Lao, Khmer and Burmese words come from ICU's dictionaries (kw5): a Node with another ICU may cut them elsewhere,
    // which stored rows would not match (bump TOKENIZER_VERSION then)
    assert.equal(digest(['การติดตั้งฐานข้อมูลสำหรับผู้เริ่มต้น ภาษาไทย2024.x', 'ພາສາລາວ readFile 日本ภาษา', 'ខ្ញុំស្រឡាញ់ភាសាខ្មែរ ကျွန်တော်မြန်မာစကားပြောတတ်ပါတယ်']), 'a7207e8c9f8c22f77ba6c9187a79a92011ebe5f9cc378461b5f5417829570f50');
  });

  it('case-folds, keeps identifiers whole and splits them, drops stop words from plain tokenize', () => {
    assert.deepEqual(tokenize('readFileSync'), ['readfilesync', 'read', 'file', 'sync']);
    assert.deepEqual(tokenize('read_file_sync'), ['read_file_sync', 'read', 'file', 'sync']);
    assert.deepEqual(tokenize('os.path.join(a, b)'), ['os.path.join', 'os', 'path', 'join', 'b']);
    assert.deepEqual(tokenize('array_agg(x ORDER BY y)'), ['array_agg', 'array', 'agg', 'x', 'order', 'y']);
    assert.deepEqual(tokenize('The parseHTTPResponse of Größe 42'), ['parsehttpresponse', 'parse', 'http', 'response', 'größe', '42']);
  });

  it('keeps capitalised keyword phrases (ON CONFLICT) whole as word pairs, besides the words', () => {
    const terms = analyze('INSERT INTO t VALUES (1) ON CONFLICT (id) DO NOTHING; then on conflict in prose');
    for (const t of ['insert into', 'on conflict', 'do nothing', 'on', 'conflict', 'insert']) assert.ok(terms.includes(t), t);
    assert.equal(terms.filter((t) => t === 'on conflict').length, 1, 'only the capitalised phrase makes a pair');
    assert.ok(!terms.includes('t values') && !terms.includes('conflict do'), 'pairs need plain spaces between two capitalised words');
  });

  it('queries: stop words dropped unless nothing else is left, every adjacent pair as a phrase', () => {
    assert.deepEqual(queryTerms('how do I use ON CONFLICT'), ['use', 'conflict', 'how do', 'do i', 'i use', 'use on', 'on conflict']);
    assert.deepEqual(queryTerms('on conflict'), ['conflict', 'on conflict']);
    assert.deepEqual(queryTerms('WITH'), ['with'], 'a query of stop words keeps them');
    assert.deepEqual(queryTerms('is it'), ['is', 'it', 'is it']);
  });

  it('chunkTerms: weighted counts, the length leaves out stop words and phrases', () => {
    const t = chunkTerms({ text: 'The ON CONFLICT clause of INSERT', title: 'Insert', heading_path: null });
    const counts = chunkTermCounts({ text: 'The ON CONFLICT clause of INSERT', title: 'Insert', heading_path: null });
    assert.equal(counts.get('insert'), 3, 'title counts twice');
    assert.equal(t.counts.length, counts.size);
    assert.equal(t.words.length, 2 * counts.size);
    assert.equal(t.length, 2 + 1 + 1 + 1, 'insert x3 (title twice), conflict, clause; not the, on, of, phrases');
  });
});

describe('KeywordIndex', () => {
  let store: Store;
  let path: string;
  const corpus = [
    { id: 'fs#1', text: 'Use readFileSync(path) to read a whole file at once.', title: 'File system', heading_path: 'File system > Reading' },
    { id: 'fs#2', text: 'Use writeFile to write data asynchronously.', title: 'File system', heading_path: 'File system > Writing' },
    { id: 'py#1', text: 'Call read file sync helpers such as read_file_sync from Python.', title: 'Python helpers' },
    { id: 'os#1', text: 'Join paths with os.path.join and split them with os.path.split.', title: 'Paths' },
    { id: 'bm#1', text: 'kettle kettle kettle boils water.', title: 'Kitchen' },
    { id: 'bm#2', text: 'kettle boils water, and tea is made.', title: 'Kitchen' },
    { id: 'rare#1', text: 'A common word and the rare word zanzibarite.', title: 'Common' },
    { id: 'rare#2', text: 'A common word and another common word.', title: 'Common' },
    { id: 'rare#3', text: 'common common sense.', title: 'Common' },
    { id: 'odd#1', text: 'tagged oddly', tags: ["it's"] },
    { id: 'odd#2', text: 'tagged oddly', tags: ['100%_'] },
    { id: 'title#1', text: 'Nothing about the topic in this text.', title: 'Quaternion rotations' },
    { id: 'sql#1', text: 'INSERT INTO t VALUES (1) ON CONFLICT (id) DO NOTHING skips the row.', title: 'INSERT' },
    { id: 'sql#2', text: 'A conflict between two sessions: the one that commits first wins, the other waits on it.', title: 'Locks' },
  ];
  before(async () => {
    path = join(tempDir(), 'kw.duckdb');
    store = await openStore({ path, embedding: identity });
    await add(store, corpus);
  });
  after(() => store.close());

  it('finds identifiers from their parts and parts from the identifier', async () => {
    const parts = await ids(store, 'read file sync');
    assert.ok(parts.includes('fs#1') && parts.includes('py#1'), `both spellings match: ${parts}`);
    assert.equal((await ids(store, 'readFileSync'))[0], 'fs#1', 'the exact identifier ranks first');
    assert.equal((await ids(store, 'read_file_sync'))[0], 'py#1');
    assert.ok((await ids(store, 'READFILESYNC')).includes('fs#1'), 'case-folded');
    assert.equal((await ids(store, 'os.path.join'))[0], 'os#1');
    assert.deepEqual(await ids(store, 'join'), ['os#1']);
  });

  it('scores are BM25 over the chunk, its title and heading path, as a from-scratch computation gives', async () => {
    for (const query of ['kettle', 'common zanzibarite', 'file system reading', 'read file sync', 'on conflict']) {
      const want = referenceBm25(corpus, query);
      const got = await store.keyword.search(query, 50);
      assert.equal(got.length, want.size, query);
      for (const h of got) assert.ok(Math.abs(h.score - want.get(h.id)!) < 1e-9, `${query}: ${h.id} ${h.score} vs ${want.get(h.id)}`);
    }
    const kettle = await store.keyword.search('kettle', 10);
    assert.deepEqual(kettle.map((h) => h.id), ['bm#1', 'bm#2'], 'more occurrences rank higher');
    assert.equal((await ids(store, 'common zanzibarite'))[0], 'rare#1', 'the rare term decides');
  });

  it('indexes page title and heading path with the chunk', async () => {
    assert.deepEqual(await ids(store, 'quaternion'), ['title#1']);
    assert.equal((await ids(store, 'writing'))[0], 'fs#2');
  });

  it('a capitalised phrase in the query (any case) ranks the chunk holding it first', async () => {
    assert.equal((await ids(store, 'on conflict'))[0], 'sql#1');
    assert.equal((await ids(store, 'ON CONFLICT'))[0], 'sql#1');
    assert.ok((await ids(store, 'conflict')).includes('sql#2'));
  });

  it('a query made only of stop words still finds chunks', async () => {
    const hits = await ids(store, 'the of and');
    assert.ok(hits.length > 0, 'results for stop words only');
    assert.ok(hits.includes('rare#1'));
    assert.deepEqual(await ids(store, 'zzzunknownword'), [], 'an unknown word finds nothing');
  });

  it('filters by tags as plain values (quotes, %, _ are not patterns)', async () => {
    assert.deepEqual(await ids(store, 'tagged oddly', { tags: ["it's"] }), ['odd#1']);
    assert.deepEqual(await ids(store, 'tagged oddly', { tags: ['100%_'] }), ['odd#2']);
    assert.deepEqual(await ids(store, 'tagged oddly', { tags: ['100%'] }), []);
    assert.deepEqual(await ids(store, 'tagged oddly', { tags: ['%'] }), []);
    assert.deepEqual(await ids(store, 'tagged oddly', { tags: ["it''s"] }), []);
  });

  it('per page: one chunk per page, the best one, and the limit counts pages', async () => {
    const chunks = await ids(store, 'kettle common', {}, 10);
    assert.ok(chunks.length >= 4);
    const pages = await store.keyword.search('kettle common', 2, { perPage: true });
    assert.deepEqual(pages.map((h) => h.page_id).sort(), ['bm', 'rare']);
    assert.ok(pages.some((h) => h.id === 'bm#1'), 'the kettle page is represented by its best chunk');
  });

  it('page scores: the best chunk and BM25 of the whole page', async () => {
    const q = await store.keyword.prepare('kettle water tea');
    const [kitchen] = await store.keyword.scorePages(q, ['bm', 'nope']);
    assert.equal(kitchen!.pageKey, 'bm');
    assert.equal(kitchen!.chunkId, 'bm#2', 'bm#2 has all three words');
    assert.ok(kitchen!.pageScore > 0);
    assert.equal((await store.keyword.scorePages(q, ['nope'])).length, 0, 'unknown pages are left out');
  });

  it('follows inserts, deletes, rollbacks and replacements, with exact document frequencies', async () => {
    await add(store, [{ id: 'tmp#1', text: 'xylophonique appears here only, with kettle' }]);
    assert.deepEqual(await ids(store, 'xylophonique'), ['tmp#1']);
    await store.db.transaction((tx) => store.chunks.deleteByPageIds(tx, ['tmp']));
    assert.deepEqual(await ids(store, 'xylophonique'), []);
    const [rows] = await store.db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM kw_docs WHERE doc NOT IN (SELECT seq FROM document_embeddings)');
    assert.equal(rows!.n, 0, 'no keyword row outlives its chunk');
    // after the delete, kettle's scores are those of a corpus without tmp#1
    const kettle = await store.keyword.search('kettle', 10);
    const want = referenceBm25(corpus, 'kettle');
    for (const h of kettle) assert.ok(Math.abs(h.score - want.get(h.id)!) < 1e-9, 'df and average length forget the deleted chunk');
    // a rolled-back insert leaves nothing in the index either
    await assert.rejects(
      store.db.transaction(async (tx) => {
        const [v] = await embedder.embed(['phantasmagorical']);
        await store.chunks.writeBatch(tx, [v!], [{ text: 'phantasmagorical', page_id: 'ghost' }]);
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.deepEqual(await ids(store, 'phantasmagorical'), []);
    // inserted and deleted in one transaction: nothing
    await store.db.transaction(async (tx) => {
      const [v] = await embedder.embed(['evanescent']);
      await store.chunks.writeBatch(tx, [v!], [{ text: 'evanescent', page_id: 'brief' }], ['brief#1']);
      await store.chunks.deleteByIds(tx, ['brief#1']);
    });
    assert.deepEqual(await ids(store, 'evanescent'), []);
    // replacing a chunk re-indexes it
    await store.chunks.indexBatch(await embedder.embed(['now about lighthouses']), [{ text: 'now about lighthouses', page_id: 'fs' }], ['fs#2'], { replace: true });
    assert.deepEqual(await ids(store, 'lighthouses'), ['fs#2']);
    assert.deepEqual(await ids(store, 'asynchronously'), []);
    await store.chunks.indexBatch(await embedder.embed([corpus[1]!.text]), [{ ...corpus[1]!, page_id: 'fs' }], ['fs#2'], { replace: true });
  });

  it('uses pre-computed terms when the write path is handed them, and refuses malformed ones', async () => {
    const terms = chunkTerms({ text: 'computed elsewhere: quokka', title: null, heading_path: null });
    const [v] = await embedder.embed(['text that differs']);
    await store.chunks.indexBatch([v!], [{ text: 'text that differs', page_id: 'pre', keyword_terms: terms }], ['pre#1']);
    assert.deepEqual(await ids(store, 'quokka'), ['pre#1'], 'indexed from the given terms');
    assert.deepEqual(await ids(store, 'differs'), []);
    await assert.rejects(
      store.chunks.indexBatch([v!], [{ text: 'x', page_id: 'pre', keyword_terms: { words: new Int32Array(3), counts: new Uint16Array(1), length: 1 } }], ['pre#2']),
      /chunk terms must be/,
    );
    assert.deepEqual(await ids(store, 'x'), [], 'the failed batch wrote nothing');
    await store.db.transaction((tx) => store.chunks.deleteByPageIds(tx, ['pre']));
  });

  it('compaction changes no result', async () => {
    const before = await store.keyword.search('kettle common file', 20);
    await store.keyword.compact();
    assert.deepEqual(await store.keyword.search('kettle common file', 20), before);
  });

  it('a commit of 5,000 chunks is applied to the memory in slices with other work between them; a search right after it finds its last chunk, and a reload meanwhile counts every chunk once', async () => {
    const kw = store.keyword as unknown as { index: { liveDocs: number } };
    const start = await store.keyword.count();
    const bulk = (tag: string) => Array.from({ length: 5000 }, (_, i) => ({ id: `${tag}#${i}`, text: `${tag} chunk ${i} ${i === 4999 ? `${tag}xylophonist` : 'filler'}` }));
    await add(store, bulk('bulka'));
    const between = await new Promise<number>((resolve) => setImmediate(() => resolve(kw.index.liveDocs)));
    assert.ok(between < start + 5000, `other work ran before the whole commit was applied (${between - start} of 5000 in)`);
    assert.deepEqual(await ids(store, 'bulkaxylophonist'), ['bulka#4999'], 'the search waited for the rest');
    assert.equal(await store.keyword.count(), start + 5000);

    await add(store, bulk('bulkb'));
    await store.keyword.reload(); // reads the table, this commit included: the slices still to apply are dropped
    assert.equal(await store.keyword.count(), start + 10_000);
    assert.deepEqual(await ids(store, 'bulkbxylophonist'), ['bulkb#4999']);
    await store.db.transaction((tx) => store.chunks.deleteByPageIds(tx, ['bulka', 'bulkb']));
    assert.equal(await store.keyword.count(), start);
  });

  it('an update that fails after commit marks the memory stale; the next search reloads it from DuckDB', async () => {
    const kw = store.keyword as unknown as { index: { add: (...a: unknown[]) => void } };
    const original = kw.index.add;
    kw.index.add = () => {
      throw new Error('simulated failure');
    };
    try {
      await add(store, [{ id: 'late#1', text: 'gazpacho recipe' }]);
    } finally {
      kw.index.add = original;
    }
    assert.deepEqual(await ids(store, 'gazpacho'), ['late#1'], 'reloaded with the committed chunk');
    await store.db.transaction((tx) => store.chunks.deleteByPageIds(tx, ['late']));
  });

  it('is saved beside the database and read back on open; a damaged file is ignored', async () => {
    const before = await store.keyword.search('kettle common file', 20);
    await store.close();
    assert.ok(existsSync(`${path}.keywords`), 'saved on close');
    store = await openStore({ path, embedding: identity });
    assert.match((await store.keyword.stats()).loadedFrom, /loaded from .*keywords, 0 chunks added and 0 removed/);
    assert.deepEqual(await store.keyword.search('kettle common file', 20), before);
    await store.close();
    const file = readFileSync(`${path}.keywords`);
    file[file.length - 5] ^= 0xff;
    writeFileSync(`${path}.keywords`, file);
    store = await openStore({ path, embedding: identity });
    assert.match((await store.keyword.stats()).loadedFrom, /checksum mismatch/);
    assert.deepEqual(await store.keyword.search('kettle common file', 20), before);
  });

  it('is rebuilt from the chunks when the keyword rows are missing or the tokeniser changed', async () => {
    const before = await store.keyword.search('kettle common', 10);
    await store.db.transaction((tx) => tx.run('DELETE FROM kw_docs'));
    await store.close();
    store = await openStore({ path, embedding: identity });
    assert.equal(await store.keyword.count(), await store.chunks.count());
    assert.deepEqual(await store.keyword.search('kettle common', 10), before);
    await store.db.transaction((tx) => setMeta(tx, 'keyword_tokenizer', 'an older tokeniser'));
    await store.close();
    store = await openStore({ path, embedding: identity });
    assert.equal(await store.keyword.storedCount(), await store.chunks.count(), 'every chunk indexed once');
    assert.deepEqual(await store.keyword.search('kettle common', 10), before);
    assert.equal(await store.keyword.rebuild(), await store.chunks.count());
    assert.deepEqual(await store.keyword.search('kettle common', 10), before);
  });
});

describe('KeywordIndex pruning', () => {
  it('returns exactly the exhaustive top k (per chunk and per page, with and without a tag filter)', async () => {
    const store = await openStore({ path: join(tempDir(), 'prune.duckdb'), embedding: identity });
    try {
      // Documentation-like text: Zipf-distributed words from a small vocabulary, so that query words are
      // common and the pruning has work to do; pages of 1..8 chunks, two tags.
      let seed = 7;
      const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
      const vocab = Array.from({ length: 400 }, (_, i) => `w${i.toString(36)}x`);
      const word = () => vocab[Math.min(vocab.length - 1, Math.floor(Math.exp(rand() * Math.log(vocab.length + 1))) - 1)]!;
      const chunks: { id: string; text: string; title: string; tags: string[] }[] = [];
      for (let p = 0; chunks.length < 3000; p++) {
        const n = 1 + Math.floor(rand() * 8);
        for (let i = 0; i < n; i++) {
          chunks.push({ id: `p${p}#${i}`, text: Array.from({ length: 20 + Math.floor(rand() * 120) }, word).join(' '), title: `${word()} ${word()}`, tags: [p % 3 ? 'a' : 'b'] });
        }
      }
      for (let i = 0; i < chunks.length; i += 1000) await add(store, chunks.slice(i, i + 1000));
      // delete some, so that dead postings are skipped, then add a few more (tail after a compaction)
      await store.db.transaction((tx) => store.chunks.deleteByIds(tx, chunks.filter((_, i) => i % 7 === 0).map((c) => c.id)));
      const live = chunks.filter((_, i) => i % 7 !== 0);
      for (const round of ['before compaction', 'after compaction']) {
        for (const query of ['w0x w1x', 'w0x w1x w2x w3x', 'w5x w40x', 'w1x w77x w150x', 'w2x']) {
          const want = referenceBm25(live, query);
          for (const k of [1, 5, 30]) {
            for (const tags of [undefined, ['b']]) {
              const keep = (id: string) => !tags || live.find((c) => c.id === id)!.tags.includes(tags[0]!);
              const byChunk = [...want].filter(([id]) => keep(id)).sort((a, b) => b[1] - a[1]);
              const got = await store.keyword.search(query, k, { tags });
              assert.deepEqual(got.map((h) => h.score.toFixed(9)), byChunk.slice(0, k).map(([, s]) => s.toFixed(9)), `${round} ${query} k=${k} ${tags}`);
              const byPage = new Map<string, number>();
              for (const [id, s] of byChunk) byPage.set(id.split('#')[0]!, Math.max(byPage.get(id.split('#')[0]!) ?? 0, s));
              const pages = await store.keyword.search(query, k, { tags, perPage: true });
              assert.deepEqual(pages.map((h) => h.score.toFixed(9)), [...byPage.values()].sort((a, b) => b - a).slice(0, k).map((s) => s.toFixed(9)), `${round} per page ${query} k=${k}`);
              assert.equal(new Set(pages.map((h) => h.page_id)).size, pages.length);
            }
          }
        }
        await store.keyword.compact();
      }
    } finally {
      await store.close();
    }
  });
});

describe('KeywordIndex crash safety', () => {
  it('SIGKILL between the DuckDB commit and the in-memory update: reopened, the index has every committed chunk once', async () => {
    const dir = tempDir();
    const dbPath = join(dir, 'crash.duckdb');
    const script = join(dir, 'writer.mts');
    const src = new URL('../src/', import.meta.url).href;
    // Commits batches; the last one kills the process from a commit hook that runs before the keyword
    // index's own (the memory update never happens).
    writeFileSync(
      script,
      `import { openStore } from '${src}store/store.ts';
       import { LexicalEmbedder } from '${src}embed/lexical.ts';
       const e = new LexicalEmbedder(64);
       const store = await openStore({ path: ${JSON.stringify(dbPath)}, embedding: { provider: e.provider, model: e.model, dimension: 64 } });
       for (let b = 0; b < 5; b++) {
         if (b === 3) await store.keyword.save();
         const texts = Array.from({ length: 50 }, (_, i) => 'batch' + b + 'word chunk ' + i + ' of the crash test');
         const vs = await e.embed(texts);
         await store.db.transaction(async (tx) => {
           if (b === 4) tx.onCommit(() => process.kill(process.pid, 'SIGKILL'));
           await store.chunks.writeBatch(tx, vs, texts.map((text, i) => ({ text, page_id: 'p' + b + '-' + (i % 5) })));
           if (b === 3) await store.chunks.deleteByPageIds(tx, ['p0-0', 'p0-1']);
         });
       }
       process.stdout.write('not killed');`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const signal = await new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, sig) => r(sig)));
    assert.equal(signal, 'SIGKILL', `the writer was killed in its commit hook (${out})`);
    const store = await openStore({ path: dbPath, embedding: identity });
    try {
      assert.equal(await store.chunks.count(), 5 * 50 - 20, 'the killed batch was committed');
      assert.equal(await store.keyword.storedCount(), await store.chunks.count());
      assert.equal(await store.keyword.count(), await store.chunks.count());
      const last = await store.keyword.search('batch4word', 100);
      assert.equal(last.length, 50, 'the batch committed just before the kill is searchable');
      assert.equal(new Set(last.map((h) => h.id)).size, 50, 'once each');
      assert.equal((await store.keyword.search('batch0word', 100)).length, 30, 'deleted chunks stay deleted');
      assert.match((await store.keyword.stats()).loadedFrom, /100 chunks added and 20 removed since it was saved/, 'the saved file was caught up');
      const want = referenceBm25(
        (await store.db.all<{ id: string; text: string }>('SELECT id, text_chunk AS text FROM document_embeddings')).map((r) => ({ ...r, title: null, heading_path: null })),
        'crash test chunk',
      );
      for (const h of await store.keyword.search('crash test chunk', 20)) assert.ok(Math.abs(h.score - want.get(h.id)!) < 1e-9, `exact BM25 after the catch-up: ${h.id} ${h.score} vs ${want.get(h.id)} ${JSON.stringify(await store.keyword.stats())}`);
    } finally {
      await store.close();
    }
  });
});
