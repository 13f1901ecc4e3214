import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GroupWriter } from '../src/ingest/group-writer.js';
import { FrontierStore } from '../src/store/frontier.js';
import type { PageRecord } from '../src/store/pages.js';
import { openStore } from '../src/store/store.js';
import { tempDir } from './helpers/tmp.js';
import { randomVectors } from './helpers/vectors.js';

const identity = { provider: 'lexical', model: 'lexical-hash-v1', dimension: 16 };

function page(id: string, text: string): PageRecord {
  return {
    id, url: `https://docs.test/${id}`, domain: 'docs.test', title: `Title ${id}`, raw_text: text,
    crawl_date: new Date('2026-01-02T03:04:05Z'), tags: ['docs'], job_id: 'job-1', parent_page_id: null,
    root_page_id: id, depth: 0, path: `/${id}`, content_hash: id,
  };
}

describe('group commits (batched transactions)', () => {
  it('stores every page of a group with its chunks, keyword rows and frontier marks; a bad write fails alone', async () => {
    const store = await openStore({ path: join(tempDir(), 'g.duckdb'), embedding: identity });
    const frontier = new FrontierStore(store.db);
    const urls = ['a', 'b', 'c', 'd'].map((id) => `https://docs.test/${id}`);
    await frontier.add('job-1', urls.map((url) => ({ url, depth: 0, parent_page_id: null })));
    const writer = new GroupWriter(store.db);
    const write = (id: string, words: string, chunkIds?: string[]) =>
      writer.write(async (tx) => {
        await store.pages.upsert(tx, page(id, words), { isNew: true });
        await store.chunks.writeBatch(tx, randomVectors(2, 16), [{ text: `${words} one`, page_id: id }, { text: `${words} two`, page_id: id }], chunkIds);
        await frontier.mark('job-1', `https://docs.test/${id}`, 'done', { page_id: id }, tx);
      });
    // queued together: one transaction for all of them; 'c' reuses chunk ids of 'a' (a duplicate key that
    // only shows when the group's rows are appended before COMMIT)
    const results = await Promise.allSettled([
      write('a', 'zebrafish', ['x1', 'x2']),
      write('b', 'quokka'),
      write('c', 'platypus', ['x1', 'x3']),
      write('d', 'axolotl'),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    assert.match(String((results[2] as PromiseRejectedResult).reason), /already exists/);

    assert.equal(await store.pages.count(), 3, 'the failed page is not stored, its neighbours are');
    assert.equal(await store.chunks.count(), 6);
    for (const [word, id] of [['zebrafish', 'a'], ['quokka', 'b'], ['axolotl', 'd']]) {
      const hits = await store.keyword.search(word!, 5);
      assert.equal(hits.length, 2, `${word}: both chunks found by keyword search`);
      assert.ok(hits.every((h) => h.page_id === id));
    }
    assert.equal((await store.keyword.search('platypus', 5)).length, 0);
    const counts = await frontier.counts('job-1');
    assert.deepEqual([counts.done, counts.queued], [3, 1], 'marks commit with their pages only');

    // re-writing a stored page in a group replaces it: one row, its new chunks only
    await writer.write(async (tx) => {
      await store.chunks.deleteByPageIds(tx, ['b']);
      await store.pages.upsert(tx, page('b', 'wombat'));
      await store.chunks.writeBatch(tx, randomVectors(1, 16), [{ text: 'wombat', page_id: 'b' }]);
    });
    assert.equal(await store.pages.count(), 3);
    assert.equal((await store.pages.get('b'))!.raw_text, 'wombat');
    assert.equal(await store.chunks.count(), 5);
    assert.equal((await store.keyword.search('quokka', 5)).length, 0);
    assert.equal((await store.keyword.search('wombat', 5)).length, 1);
    await store.close();
  });
});
