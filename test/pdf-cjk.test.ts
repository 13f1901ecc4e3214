/**
 * PDFs in Chinese, Japanese and Korean whose fonts are not embedded: the text is drawn in one of Adobe's
 * predefined CJK fonts through a predefined CMap (`90ms-RKSJ-H`, `UniJIS-UCS2-H`, `UniGB-UCS2-H`,
 * `UniKS-UCS2-H`), so pdf.js finds it only with the CMap files that pdfjs-dist ships. Read directly and through `doctor add` of a
 * folder (the local-sources service), then found by keyword search. Real pdf.js, a real DuckDB file.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { pdfJsData, readPdf } from '../src/ingest/local/pdf.js';
import { addLocal, listDocPages, searchDocs, type LocalIndexSummary } from '../src/service/index.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { makeCjkPdf } from './helpers/pdf.js';
import { tempDir } from './helpers/tmp.js';

const JAPANESE = ['日本語のテキスト。', '設定ファイルを編集します。'];
const CHINESE = ['这是一个中文句子。', '配置文件的说明。'];
const KOREAN = ['한국어 문장입니다.'];

/** Runs `fn` with console output captured: what a user would see printed while files are read. */
async function quietly<T>(fn: () => Promise<T>): Promise<{ value: T; printed: string[] }> {
  const printed: string[] = [];
  const saved = { log: console.log, info: console.info, warn: console.warn, error: console.error };
  for (const k of Object.keys(saved) as (keyof typeof saved)[]) console[k] = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
  try {
    return { value: await fn(), printed };
  } finally {
    Object.assign(console, saved);
  }
}

describe('PDFs with non-embedded CJK fonts (predefined CMaps)', () => {
  it('readPdf returns their text, and pdf.js prints nothing', async () => {
    const { value, printed } = await quietly(async () => ({
      ja: await readPdf(makeCjkPdf({ title: 'Handbuch', font: 'japanese-sjis', pages: [JAPANESE] })),
      jaUcs2: await readPdf(makeCjkPdf({ font: 'japanese', pages: [JAPANESE] })),
      zh: await readPdf(makeCjkPdf({ font: 'chinese', pages: [CHINESE, ['第二页。']] })),
      ko: await readPdf(makeCjkPdf({ font: 'korean', pages: [KOREAN] })),
    }));
    assert.deepEqual(value.ja, { title: 'Handbuch', pages: [JAPANESE.join('\n')] }, 'Shift-JIS codes through 90ms-RKSJ-H and Adobe-Japan1');
    assert.deepEqual(value.jaUcs2.pages, [JAPANESE.join('\n')], 'UCS-2 codes through UniJIS-UCS2-H and Adobe-Japan1');
    assert.deepEqual(value.zh.pages, [CHINESE.join('\n'), '第二页。'], 'UCS-2 codes through UniGB-UCS2-H and Adobe-GB1');
    assert.deepEqual(value.ko.pages, KOREAN, 'UCS-2 codes through UniKS-UCS2-H and Adobe-Korea1');
    assert.deepEqual(printed, []);
  });

  it('the CMaps and standard font data are pdfjs-dist\'s own directories; without them none is passed', () => {
    const root = join(tempDir(), 'pdfjs-dist');
    mkdirSync(root);
    assert.deepEqual(pdfJsData(root), {}, 'nothing to pass: pdf.js reads PDFs as before, without these fonts\' text');
    mkdirSync(join(root, 'cmaps'));
    assert.deepEqual(pdfJsData(root), { cMapUrl: join(root, 'cmaps') + '/', cMapPacked: true });
    mkdirSync(join(root, 'standard_fonts'));
    assert.equal(pdfJsData(root).standardFontDataUrl, join(root, 'standard_fonts') + '/');
  });

  describe('doctor add of a folder', () => {
    let ctx: TestContext;
    const root = join(tempDir(), 'cjk-docs');
    let summary: LocalIndexSummary;
    const f = (rel: string) => pathToFileURL(join(root, rel)).href;

    before(async () => {
      mkdirSync(root);
      writeFileSync(join(root, 'ja.pdf'), makeCjkPdf({ title: '利用者ガイド', font: 'japanese-sjis', pages: [JAPANESE] }));
      writeFileSync(join(root, 'zh.pdf'), makeCjkPdf({ font: 'chinese', pages: [CHINESE] }));
      writeFileSync(join(root, 'ko.pdf'), makeCjkPdf({ font: 'korean', pages: [KOREAN] }));
      ctx = await makeContext({ runner: false });
      summary = await addLocal(ctx, { path: root });
    });
    after(() => ctx.close());

    it('indexes every PDF (none skipped as "without text") with its text', async () => {
      assert.deepEqual(summary.skipped_files, []);
      assert.equal(summary.added, 3);
      const pages = (await listDocPages(ctx, {})).doc_pages;
      assert.deepEqual(pages.map((p) => p.url).sort(), [f('ja.pdf'), f('ko.pdf'), f('zh.pdf')]);
      assert.equal(pages.find((p) => p.url === f('ja.pdf'))?.title, '利用者ガイド');
    });

    it('keyword search finds each page by a CJK word', async () => {
      // The tokeniser splits on punctuation and spaces, not inside a run of CJK characters: a query is a
      // whole run between punctuation ("日本語のテキスト"), not a word inside it ("日本語").
      const top = async (query: string) => (await searchDocs(ctx, { query, mode: 'keyword', return_full_document_text: true })).results[0];
      const ja = await top('日本語のテキスト');
      assert.equal(ja?.url, f('ja.pdf'));
      assert.match(ja?.chunk_text ?? '', /設定ファイルを編集します/);
      assert.equal((await top('配置文件的说明'))?.url, f('zh.pdf'));
      assert.equal((await top('문장입니다'))?.url, f('ko.pdf'));
    });
  });
});
