/**
 * Keyword search beyond Latin and CJK text: combining marks (the vowel signs of Devanagari, the harakat of
 * Arabic) stay inside their word, a word written decomposed (`cafe` + U+0301, as macOS writes it) is the same
 * term as the word written composed, and Thai, Lao, Khmer and Burmese, written without spaces, are cut into
 * words. A database indexed by the previous tokeniser (kw4) re-indexes only the chunks these change on open.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LIST, VARCHAR, listValue } from '../src/db/duckdb.js';
import { setMeta } from '../src/db/meta.js';
import { markTerms, queryTerms as highlightTerms } from '../src/text/highlight.js';
import { analyze } from '../src/text/tokenize.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { keywordPages, rewriteKeywordRows } from './helpers/keyword-rows.js';
import { addPages, type TestPage } from './helpers/pages.js';
import { tempDir } from './helpers/tmp.js';

const NFD_TEXT = 'Le re\u0301sume\u0301 du projet, servi avec un cafe\u0301.';
const PAGES: TestPage[] = [
  // written decomposed, as a Markdown file saved on macOS may be
  { id: 'nfd', title: 'Projet', markdown: `# Projet\n\n${NFD_TEXT}` },
  { id: 'hi', title: 'हिन्दी', markdown: '# हिन्दी\n\nहिन्दी भाषा में दस्तावेज़ खोजें।' },
  // the letters of हिन्दी (ह, न, द) in other words, which the old tokeniser's fragments matched
  { id: 'hi-other', title: 'नदी', markdown: '# नदी\n\nहाथ नदी के पास दिन भर।' },
  { id: 'ar', title: 'كتابة', markdown: '# كتابة\n\nكَتَبَ الطالب الدرس.' },
  // Thai: "a guide to installing the database for beginners", and "naval base" (ฐาน, base, without ข้อมูล, data)
  { id: 'th', title: 'คู่มือ', markdown: '# คู่มือ\n\nคู่มือการติดตั้งฐานข้อมูลสำหรับผู้เริ่มต้น' },
  { id: 'th-other', title: 'ทหารเรือ', markdown: '# ทหารเรือ\n\nฐานทัพเรืออยู่ใกล้ทะเล' },
  { id: 'en', title: 'Database indexes', markdown: '# Database indexes\n\nCreate an index on a table to speed up queries with readFileSync.' },
];


describe('tokenising words with combining marks', () => {
  it('keeps marks inside their word and reads a decomposed word as the composed one', () => {
    assert.deepEqual(analyze(NFD_TEXT), analyze(NFD_TEXT.normalize('NFC')));
    assert.ok(analyze(NFD_TEXT).includes('résumé'));
    assert.deepEqual(analyze('हिन्दी भाषा'), ['हिन्दी', 'भाषा'], 'Devanagari vowel signs and virama stay in the word');
    assert.deepEqual(analyze('كَتَبَ'), ['كَتَبَ'], 'Arabic harakat stay in the word');
    assert.deepEqual(analyze('a \u0301 b'), ['a', 'b'], 'a mark belonging to no letter is no term');
    assert.deepEqual(analyze('\u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165'), analyze('한국어'), 'Korean written as Jamo');
    // U+0323 (dot below) lists Katakana among its scripts: it must not make a Latin word CJK bigrams
    assert.deepEqual(analyze('q\u0323uick'), ['q\u0323uick']);
    // a kana mark without a composed form stays in its run's bigrams
    assert.deepEqual(analyze('か\u309aな'), ['か\u309a', '\u309aな']);
  });
});

describe('keyword search in text with combining marks, and in Thai', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await makeContext({ runner: false });
    await addPages(ctx, PAGES);
  });
  after(() => ctx.close());

  it('a composed query finds a page written decomposed, and the page view marks the word', async () => {
    assert.deepEqual(await keywordPages(ctx, 'résumé'), ['nfd']);
    assert.deepEqual(await keywordPages(ctx, 'cafe\u0301'), ['nfd'], 'and a decomposed query too');
    const marked = markTerms(NFD_TEXT, highlightTerms('résumé café')).filter((s) => s.hit).map((s) => s.text);
    assert.deepEqual(marked, ['re\u0301sume\u0301', 'cafe\u0301'], 'the whole decomposed words are marked');
  });

  it('a Hindi word finds the page holding it, not pages holding its letters in other words', async () => {
    assert.deepEqual(await keywordPages(ctx, 'हिन्दी'), ['hi']);
    assert.deepEqual(await keywordPages(ctx, 'नदी'), ['hi-other']);
    assert.deepEqual(await keywordPages(ctx, 'كَتَبَ'), ['ar']);
    const marked = markTerms('हिन्दी भाषा में', highlightTerms('हिन्दी')).filter((s) => s.hit).map((s) => s.text);
    assert.deepEqual(marked, ['हिन्दी']);
  });

  it('a Thai word is found inside a run written without spaces, and marked alone', async () => {
    assert.deepEqual(analyze('การติดตั้งฐานข้อมูล'), ['การ', 'ติด', 'ตั้ง', 'ฐาน', 'ข้อมูล'], "ICU's Thai words");
    assert.ok(analyze('ကျွန်တော်မြန်မာစကားပြောတတ်ပါတယ်').includes('မြန်မာ'), 'Burmese likewise');
    assert.ok(analyze('ខ្ញុំស្រឡាញ់ភាសាខ្មែរ').includes('ស្រឡាញ់'), 'and Khmer');
    assert.equal((await keywordPages(ctx, 'ฐานข้อมูล'))[0], 'th', 'the page holding the whole word first');
    assert.deepEqual(await keywordPages(ctx, 'ติดตั้ง'), ['th']);
    const marked = markTerms('คู่มือการติดตั้งฐานข้อมูลสำหรับผู้เริ่มต้น', highlightTerms('ฐานข้อมูล')).filter((s) => s.hit).map((s) => s.text);
    assert.deepEqual(marked, ['ฐาน', 'ข้อมูล']);
  });
});

/** Terms as the previous tokeniser (kw4) gave them for these pages: marks split words, nothing was composed. */
const kw4Terms = (text: string) => analyze(text.replace(/\p{M}/gu, ' '));

describe('a database indexed by kw4 (words split at marks, Thai runs whole)', () => {
  it('re-indexes on open only the chunks holding marks or Thai; then their words are found and other rows are left as they are', async () => {
    const dbPath = join(tempDir(), 'kw4.duckdb');
    let ctx = await makeContext({ dbPath, runner: false });
    await addPages(ctx, PAGES);
    const rowsOf = (pages: string[]) =>
      ctx.store.db.all<{ rowid: bigint; doc: bigint }>(
        'SELECT d.rowid, d.doc FROM kw_docs d JOIN document_embeddings e ON e.seq = d.doc WHERE list_contains($pages, e.page_id) ORDER BY d.doc',
        { pages: listValue(pages) },
        { pages: LIST(VARCHAR) },
      );
    const marked = ['nfd', 'hi', 'hi-other', 'ar', 'th', 'th-other'];
    await rewriteKeywordRows(ctx, marked, kw4Terms);
    await ctx.store.db.transaction((tx) => setMeta(tx, 'keyword_tokenizer', 'kw4: words + identifier parts + capitalised pairs + CJK bigrams; title x2, heading x2; fnv/mx 64-bit'));
    const english = await rowsOf(['en']);
    const oldMarked = new Set((await rowsOf(marked)).map((r) => r.rowid));
    assert.ok(english.length > 0 && oldMarked.size > 0);
    await ctx.close();
    rmSync(`${dbPath}.keywords`, { force: true });
    ctx = await makeContext({ dbPath, runner: false });
    try {
      assert.deepEqual(await keywordPages(ctx, 'résumé'), ['nfd'], 're-indexed on open');
      assert.deepEqual(await keywordPages(ctx, 'हिन्दी'), ['hi']);
      assert.deepEqual(await keywordPages(ctx, 'ติดตั้ง'), ['th']);
      assert.equal(await ctx.store.keyword.storedCount(), await ctx.store.chunks.count(), 'every chunk indexed once');
      assert.deepEqual(await rowsOf(['en']), english, 'the English chunk kept its rows (not deleted and written again)');
      const newMarked = await rowsOf(marked);
      assert.equal(newMarked.length, oldMarked.size);
      assert.ok(newMarked.every((r) => !oldMarked.has(r.rowid)), 'the chunks holding marks were indexed again');
      assert.deepEqual(await keywordPages(ctx, 'create an index on a table'), ['en']);
    } finally {
      await ctx.close();
    }
  });
});
