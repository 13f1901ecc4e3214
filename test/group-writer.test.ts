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

  describe('a group that stays open while a fast crawl keeps writing', () => {
    /** Writes of `rows` chunks each; resolves with when each write committed (ms since the start). */
    async function feed(opts: { writes: number; rows: number; everyMs: number; bad?: number; more?: () => boolean }) {
      const store = await openStore({ path: join(tempDir(), 'open.duckdb'), embedding: identity });
      let left = opts.writes;
      const writer = new GroupWriter(store.db, {
        targetRows: store.db.rowGroupSize ?? 0,
        maxOpenMs: 2000,
        moreComing: opts.more ?? (() => left > 0),
      });
      const t0 = performance.now();
      const done: Promise<number>[] = [];
      for (let i = 0; i < opts.writes; i++) {
        const id = `p${i}`;
        const chunkIds = Array.from({ length: opts.rows }, (_, k) => (i === opts.bad ? `p0-${k}` : `${id}-${k}`));
        left--;
        const committed = writer
          .write(async (tx) => {
            await store.pages.upsert(tx, page(id, `page ${i}`), { isNew: true });
            await store.chunks.writeBatch(tx, randomVectors(opts.rows, 16), chunkIds.map((_, k) => ({ text: `chunk ${k} of ${id}`, page_id: id })), chunkIds);
          }, opts.rows)
          .then(() => performance.now() - t0);
        // settled below, after the last write; the bad one may fail while later ones are still being fed
        committed.catch(() => undefined);
        done.push(committed);
        await new Promise((r) => setTimeout(r, opts.everyMs));
      }
      const settled = await Promise.allSettled(done);
      const pages = await store.pages.count();
      const chunks = await store.chunks.count();
      await store.close();
      return { settled, pages, chunks };
    }
    const committedAt = (s: PromiseSettledResult<number>[]) => s.map((r) => (r.status === 'fulfilled' ? r.value : -1));
    /** Sizes of the commits: writes resolved by one commit settle within microseconds of each other. */
    const commitSizes = (at: number[]) => {
      const sorted = [...at].sort((a, b) => a - b);
      const sizes = [1];
      for (let i = 1; i < sorted.length; i++) {
        if (sorted[i]! - sorted[i - 1]! > 1) sizes.push(1);
        else sizes[sizes.length - 1]!++;
      }
      return sizes;
    };

    it('fast writes commit together once a row group of chunks is in (not one by one)', async () => {
      // 30 pages of 100 chunks, one every 10 ms: ~10,000 rows/s, so the first 2,048 rows come in ~0.2 s
      const { settled, pages, chunks } = await feed({ writes: 30, rows: 100, everyMs: 10 });
      const at = committedAt(settled);
      assert.ok(at.every((t) => t >= 0));
      assert.equal(pages, 30);
      assert.equal(chunks, 3000);
      // pages wait for those after them: one transaction holds a row group's worth (21 pages of 100 chunks)
      const sizes = commitSizes(at);
      const largest = Math.max(...sizes);
      assert.ok(largest >= 21, `the largest commit held ${largest} pages; commits: ${sizes.join(', ')}`);
    });

    it('slow writes commit one by one, as they come', async () => {
      const { settled, pages } = await feed({ writes: 5, rows: 10, everyMs: 150 });
      const at = committedAt(settled);
      assert.equal(pages, 5);
      assert.deepEqual(commitSizes(at), [1, 1, 1, 1, 1], `each page committed on its own (${at.map((t) => Math.round(t)).join(', ')} ms)`);
      for (let i = 0; i < 4; i++) assert.ok(at[i]! < at[i + 1]!, 'in order');
    });

    it('a bad write in an open group fails alone; nothing waits once no more pages are coming', async () => {
      const { settled, pages, chunks } = await feed({ writes: 12, rows: 100, everyMs: 5, bad: 6, more: () => false });
      assert.deepEqual(
        settled.map((r) => r.status),
        settled.map((_, i) => (i === 6 ? 'rejected' : 'fulfilled')),
      );
      assert.equal(pages, 11);
      assert.equal(chunks, 1100);
    });
  });
});
