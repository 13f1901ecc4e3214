/**
 * Keyword search in Chinese, Japanese and Korean text (indexed as character bigrams, see src/text/tokenize.ts):
 * sub-words are found, the page holding the whole word ranks first, results are highlighted, English is
 * unchanged, and a database indexed by the previous tokeniser is re-indexed on open.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildHttpApp } from '../src/http/app.js';
import { setMeta } from '../src/db/meta.js';
import { markTerms, queryTerms as highlightTerms } from '../src/text/highlight.js';
import { TOKEN_RE, analyze, queryTerms } from '../src/text/tokenize.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { keywordPages, rewriteKeywordRows } from './helpers/keyword-rows.js';
import { addPages, type TestPage } from './helpers/pages.js';
import { tempDir } from './helpers/tmp.js';

const PAGES: TestPage[] = [
  { id: 'ja', title: '日本語のテキスト', markdown: '# 日本語のテキスト\n\n日本語のテキストを全文検索するには、文章を二文字ずつ区切ります。APIキーの設定も説明します。' },
  // one bigram of each Japanese query (日本, テキ), more often than the page above holds them
  { id: 'ja-travel', title: '旅行', markdown: '# 日本の旅行\n\n日本の首都は東京です。日本の夏は暑い。テキサス州から日本へ行く。' },
  { id: 'zh', title: '数据库', markdown: '# 数据库索引\n\n本文介绍如何为数据库表创建索引，以加快查询速度。' },
  { id: 'zh-search', title: '搜索结果', markdown: '# 搜索结果\n\n搜索结果可以导出为表格，引用时请注明来源。' },
  { id: 'en', title: 'Database indexes', markdown: '# Database indexes\n\nCreate an index on a table to speed up queries with readFileSync.' },
  { id: 'en-travel', title: 'Travel', markdown: '# Travel\n\nThe capital of Japan is Tokyo; summers are hot.' },
];


describe('CJK tokenisation', () => {
  it('gives overlapping character bigrams; mixed tokens keep their other letters as words', () => {
    assert.deepEqual(analyze('日本語のテキスト'), ['日本', '本語', '語の', 'のテ', 'テキ', 'キス', 'スト']);
    assert.deepEqual(analyze('Python3の使い方'), ['python3', 'の使', '使い', 'い方']);
    assert.deepEqual(analyze('APIキー'), ['api', 'キー']);
    assert.deepEqual(analyze('readFileSyncを呼ぶ'), ['readfilesync', 'read', 'file', 'sync', 'を呼', '呼ぶ']);
    assert.deepEqual(analyze('データベース'), ['デー', 'ータ', 'タベ', 'ベー', 'ース'], 'the prolonged sound mark stays in the run');
    assert.deepEqual(analyze('데이터베이스를'), ['데이', '이터', '터베', '베이', '이스', '스를'], 'Hangul too');
    assert.deepEqual(analyze('文 𠀋'), ['文', '𠀋'], 'a lone character (also outside the BMP) is its own term');
  });

  it('makes no phrase pairs with CJK text', () => {
    assert.deepEqual(queryTerms('SELECT 文 ON CONFLICT'), ['select', '文', 'conflict', 'on conflict']);
    assert.deepEqual(analyze('GROUP 句 BY'), ['group', '句', 'by']);
  });
});

describe('keyword search in CJK text', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await makeContext({ runner: false });
    await addPages(ctx, PAGES);
  });
  after(() => ctx.close());

  it('a Japanese sub-word finds its page first, above a page holding only one of its bigrams', async () => {
    const pages = await keywordPages(ctx, '日本語');
    assert.equal(pages[0], 'ja', `${pages}`);
    assert.ok(pages.includes('ja-travel'), 'the page with 日本 alone matches too, below');
  });

  it('a katakana word finds its page first', async () => {
    const pages = await keywordPages(ctx, 'テキスト');
    assert.equal(pages[0], 'ja', `${pages}`);
  });

  it('a Chinese two-character word inside a sentence finds its page first', async () => {
    const pages = await keywordPages(ctx, '索引');
    assert.deepEqual(pages, ['zh'], 'only the page with 索 and 引 adjacent');
    assert.equal((await keywordPages(ctx, '查询速度'))[0], 'zh');
  });

  it('the ASCII part of a mixed token is a word of its own', async () => {
    assert.deepEqual(await keywordPages(ctx, 'API'), ['ja']);
  });

  it('English queries are unaffected', async () => {
    assert.deepEqual(await keywordPages(ctx, 'create an index on a table'), ['en']);
    assert.deepEqual(await keywordPages(ctx, 'read file sync'), ['en']);
  });

  it('highlights the matched characters, not the whole run', async () => {
    const app = await buildHttpApp(ctx, {});
    try {
      const res = await app.inject({ method: 'GET', url: `/?query=${encodeURIComponent('日本語')}&mode=keyword` });
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /<mark>日本語<\/mark>のテキストを全文検索/);
      assert.doesNotMatch(res.body, /<mark>日本語のテキスト/);
    } finally {
      await app.close();
    }
    const marked = (text: string, query: string) => markTerms(text, highlightTerms(query)).filter((s) => s.hit).map((s) => s.text);
    assert.deepEqual(marked('本文介绍如何为数据库表创建索引，以加快查询速度。', '数据库 索引'), ['数据库', '索引']);
    assert.deepEqual(marked('これはAPIキーです', 'APIキー'), ['API', 'キー']);
    assert.deepEqual(marked('文章 と 文', '文'), ['文'], 'a lone character matches a lone character, not inside a run');
  });
});

/** The terms the previous tokeniser (kw3) gave: a CJK run was one word. Enough for these pages. */
function* kw3Terms(text: string): Iterable<string> {
  for (const m of text.matchAll(TOKEN_RE)) {
    if (/[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}]/u.test(m[0])) yield m[0].toLowerCase();
    else yield* analyze(m[0]);
  }
}

describe('a database indexed by the previous tokeniser', () => {
  it('is re-indexed on open, after which CJK sub-words are found and English rows are unchanged', async () => {
    const dbPath = join(tempDir(), 'old.duckdb');
    let ctx = await makeContext({ dbPath, runner: false });
    await addPages(ctx, [PAGES[0]!, PAGES[4]!]);
    const rowsOf = async (page: string) =>
      ctx.store.db.all<{ doc: bigint; len: number; terms: string; tfs: string }>(
        `SELECT d.doc, d.len, d.terms::VARCHAR AS terms, d.tfs::VARCHAR AS tfs FROM kw_docs d JOIN document_embeddings e ON e.seq = d.doc
         WHERE e.page_id = ? ORDER BY d.doc`,
        [page],
      );
    const english = await rowsOf('en');
    assert.ok(english.length > 0);
    // Rewrite the Japanese page's rows as the previous tokeniser stored them.
    await rewriteKeywordRows(ctx, ['ja'], kw3Terms);
    const reopen = async () => {
      await ctx.close();
      rmSync(`${dbPath}.keywords`, { force: true }); // the saved index of an old database carries the old version: not used
      ctx = await makeContext({ dbPath, runner: false });
    };
    await reopen();
    assert.deepEqual(await keywordPages(ctx, '日本語'), [], 'the old rows hold the run as one word: no sub-word match');
    await ctx.store.db.transaction((tx) => setMeta(tx, 'keyword_tokenizer', 'kw3: words + identifier parts + capitalised pairs; title x2, heading x2; fnv/mx 64-bit'));
    await reopen();
    try {
      assert.deepEqual(await keywordPages(ctx, '日本語'), ['ja'], 're-indexed on open');
      assert.equal(await ctx.store.keyword.storedCount(), await ctx.store.chunks.count(), 'every chunk indexed once');
      assert.deepEqual(await rowsOf('en'), english, 'English rows are byte for byte the same');
      assert.deepEqual(await keywordPages(ctx, 'create an index on a table'), ['en']);
    } finally {
      await ctx.close();
    }
  });
});
