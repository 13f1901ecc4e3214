import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { tokenize } from '../src/text/tokenize.js';
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

describe('tokenize', () => {
  it('case-folds, keeps identifiers whole and splits them, drops stopwords', () => {
    assert.deepEqual(tokenize('readFileSync'), ['readfilesync', 'read', 'file', 'sync']);
    assert.deepEqual(tokenize('read_file_sync'), ['read_file_sync', 'read', 'file', 'sync']);
    assert.deepEqual(tokenize('os.path.join(a, b)'), ['os.path.join', 'os', 'path', 'join', 'b']);
    assert.deepEqual(tokenize('The parseHTTPResponse of Größe 42'), ['parsehttpresponse', 'parse', 'http', 'response', 'größe', '42']);
  });
});

describe('KeywordIndex', () => {
  let store: Store;
  let path: string;
  before(async () => {
    path = join(tempDir(), 'kw.duckdb');
    store = await openStore({ path, embedding: identity });
    await add(store, [
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
    ]);
  });
  after(() => store.close());

  it('finds identifiers from their parts and parts from the identifier', async () => {
    const parts = await ids(store, 'read file sync');
    assert.ok(parts.includes('fs#1') && parts.includes('py#1'), `both spellings match: ${parts}`);
    assert.equal((await ids(store, 'readFileSync'))[0], 'fs#1', 'the exact identifier ranks first');
    assert.equal((await ids(store, 'read_file_sync'))[0], 'py#1');
    assert.ok((await ids(store, 'readfilesync')).includes('fs#1'), 'case-folded');
    assert.equal((await ids(store, 'os.path.join'))[0], 'os#1');
    assert.deepEqual(await ids(store, 'join'), ['os#1']);
  });

  it('ranks more occurrences and rarer terms higher (BM25)', async () => {
    const kettle = await store.keyword.search('kettle', 10);
    assert.deepEqual(kettle.map((h) => h.id), ['bm#1', 'bm#2']);
    assert.ok(kettle[0]!.score > kettle[1]!.score);
    // "zanzibarite" is in one chunk, "common" in three: the rare term decides.
    assert.equal((await ids(store, 'common zanzibarite'))[0], 'rare#1');
  });

  it('indexes page title and heading path with the chunk', async () => {
    assert.deepEqual(await ids(store, 'quaternion'), ['title#1']);
    assert.equal((await ids(store, 'writing'))[0], 'fs#2');
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

  it('follows deletes in the same transaction: deleted chunks no longer match, nothing is left behind', async () => {
    await add(store, [{ id: 'tmp#1', text: 'xylophonique appears here only' }]);
    assert.deepEqual(await ids(store, 'xylophonique'), ['tmp#1']);
    const res = await store.pages.delete({ ids: ['tmp'] });
    assert.equal(res.pages, 0, 'no page row, but its chunks are deleted by page id');
    await store.db.transaction((tx) => store.chunks.deleteByPageIds(tx, ['tmp']));
    assert.deepEqual(await ids(store, 'xylophonique'), []);
    const [left] = await store.db.all<{ docs: number; postings: number }>(
      `SELECT (SELECT count(*) FROM kw_docs WHERE doc NOT IN (SELECT seq FROM document_embeddings))::INTEGER AS docs,
              (SELECT count(*) FROM kw_postings WHERE doc NOT IN (SELECT seq FROM document_embeddings))::INTEGER AS postings`,
    );
    assert.deepEqual(left, { docs: 0, postings: 0 });
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
    // replacing a chunk re-indexes it
    await store.chunks.indexBatch((await embedder.embed(['now about lighthouses'])), [{ text: 'now about lighthouses', page_id: 'fs' }], ['fs#2'], { replace: true });
    assert.deepEqual(await ids(store, 'lighthouses'), ['fs#2']);
    assert.deepEqual(await ids(store, 'asynchronously'), []);
  });

  it('is rebuilt on open for chunks stored without it (e.g. written by an older version)', async () => {
    const before = await store.keyword.search('kettle common', 10);
    await store.db.transaction(async (tx) => {
      await tx.run('DELETE FROM kw_postings');
      await tx.run('DELETE FROM kw_docs');
    });
    assert.deepEqual(await ids(store, 'kettle'), []);
    await store.close();
    store = await openStore({ path, embedding: identity });
    assert.equal(await store.keyword.count(), await store.chunks.count());
    assert.deepEqual(await store.keyword.search('kettle common', 10), before);
    assert.equal(await store.keyword.rebuild(), await store.chunks.count());
    assert.deepEqual(await store.keyword.search('kettle common', 10), before);
  });
});
