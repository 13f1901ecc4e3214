/**
 * Keyword search reads a Markdown link as its text: the words of its destination and title (`json1.html#jex`,
 * a Sphinx link's summary) are not words of the chunk, though they still make it longer, so that a page of
 * links (an index, a table of contents) does not outrank the page it links to. A database indexed by the
 * previous tokeniser (kw5) re-indexes on open only the chunks holding a link.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LIST, VARCHAR, listValue } from '../src/db/duckdb.js';
import { setMeta } from '../src/db/meta.js';
import { chunkTerms } from '../src/text/chunk-terms.js';
import { analyze } from '../src/text/tokenize.js';
import { makeContext } from './helpers/context.js';
import { keywordPages, rewriteKeywordRows } from './helpers/keyword-rows.js';
import { addPages, type TestPage } from './helpers/pages.js';
import { tempDir } from './helpers/tmp.js';

const FUNCTIONS = ['json_extract', 'json_array', 'json_object', 'json_remove', 'json_patch', 'json_set', 'json_insert', 'json_replace', 'json_type', 'json_valid'];
const PAGES: TestPage[] = [
  {
    // an index page: every entry a link whose destination names another page and anchor
    id: 'keyword-index',
    title: 'Keyword Index',
    markdown: `# Keyword Index\n\n${FUNCTIONS.map((f, i) => `- [${f}()](https://sqlite.test/json1.html#jex${i} "the ${f} function of the JSON1 extension")`).join('\n')}`,
  },
  {
    id: 'json1',
    title: 'JSON Functions And Operators',
    markdown:
      '# JSON Functions And Operators\n\n## The json_extract() function\n\njson_extract(X,P1,P2,...) extracts and returns one or more values from the well-formed JSON at X. ' +
      'If only a single path P1 is provided, then the SQL datatype of the result is NULL for a JSON null.',
  },
  { id: 'plain', title: 'Database indexes', markdown: '# Database indexes\n\nCreate an index on a table to speed up queries.' },
];

describe('links in keyword search', () => {
  it("a link's destination and title are not its chunk's words, but they count in its length", () => {
    const text = '[json_extract()](https://sqlite.test/json1.html#jex "the JSON1 extension")';
    const withLink = chunkTerms({ text });
    const asText = chunkTerms({ text: 'json_extract()' });
    assert.deepEqual([...withLink.words], [...asText.words], 'the same terms as the link text alone');
    assert.ok(withLink.length > asText.length, `length ${withLink.length} > ${asText.length}`);
  });

  it('a word found only in link destinations and titles finds nothing; the page a link list points to ranks above the list', async () => {
    const ctx = await makeContext({ runner: false });
    try {
      await addPages(ctx, PAGES);
      assert.deepEqual(await keywordPages(ctx, 'jex0'), []);
      assert.deepEqual(await keywordPages(ctx, 'extension'), []);
      assert.deepEqual(await keywordPages(ctx, 'json_extract'), ['json1', 'keyword-index']);
    } finally {
      await ctx.close();
    }
  });

  it('a database indexed by kw5 re-indexes on open only the chunks holding a link', async () => {
    const dbPath = join(tempDir(), 'kw5.duckdb');
    let ctx = await makeContext({ dbPath, runner: false });
    await addPages(ctx, PAGES);
    // kw5 read every word of the Markdown, links' destinations and titles included
    await rewriteKeywordRows(ctx, ['keyword-index'], (t) => analyze(t));
    await ctx.store.db.transaction((tx) =>
      setMeta(tx, 'keyword_tokenizer', 'kw5: words (with their marks, composed; Thai, Lao, Khmer, Burmese by ICU words) + identifier parts + capitalised pairs + CJK bigrams; title x2, heading x2; fnv/mx 64-bit'),
    );
    const rowsOf = (pages: string[]) =>
      ctx.store.db.all<{ rowid: bigint }>(
        'SELECT d.rowid FROM kw_docs d JOIN document_embeddings e ON e.seq = d.doc WHERE list_contains($pages, e.page_id) ORDER BY d.doc',
        { pages: listValue(pages) },
        { pages: LIST(VARCHAR) },
      );
    const unlinked = await rowsOf(['json1', 'plain']);
    await ctx.store.keyword.reload({ fromTable: true });
    assert.deepEqual(await keywordPages(ctx, 'jex0'), ['keyword-index'], 'as kw5 indexed it');
    await ctx.close();
    rmSync(`${dbPath}.keywords`, { force: true });

    ctx = await makeContext({ dbPath, runner: false });
    try {
      assert.deepEqual(await keywordPages(ctx, 'jex0'), [], 're-indexed on open');
      assert.deepEqual(await rowsOf(['json1', 'plain']), unlinked, 'chunks without links kept their rows');
      assert.equal(await ctx.store.keyword.storedCount(), await ctx.store.chunks.count(), 'every chunk indexed once');
      assert.deepEqual(await keywordPages(ctx, 'json_extract'), ['json1', 'keyword-index']);
    } finally {
      await ctx.close();
    }
  });
});
