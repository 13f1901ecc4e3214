/**
 * get_doc_page around a search passage (chunk_id): the section holding it, from its heading to the next heading
 * of the same level, so that an agent reads what surrounds a result in one call instead of paging from line 1.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { searchDocs } from '../src/service/search.js';
import { getDocPage } from '../src/service/pages.js';
import { AROUND_MAX_LINES, locateChunk, sectionAround } from '../src/service/page-window.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { addPages } from './helpers/pages.js';

const filler = (topic: string, n: number) => Array.from({ length: n }, (_, i) => `The ${topic} paragraph ${i} says something about ${topic} and more.`).join('\n\n');

const GUIDE = [
  '# Storage guide',
  '',
  filler('overview', 6),
  '',
  '## Write-ahead log',
  '',
  filler('journal', 4),
  '',
  '### Checkpoints',
  '',
  'A checkpoint moves the pages of the zorblax log back into the database file.',
  '',
  '```sh',
  '# not a heading: a comment in a shell block',
  'doctor checkpoint --now',
  '```',
  '',
  filler('checkpoint', 3),
  '',
  '### Readers',
  '',
  filler('reader', 3),
  '',
  '## Vacuum',
  '',
  filler('vacuum', 5),
].join('\n');

describe('get_doc_page around a passage (chunk_id)', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await makeContext({ runner: false });
    await addPages(ctx, [
      { id: 'guide', title: 'Storage guide', markdown: GUIDE },
      { id: 'other', title: 'Other', markdown: '# Other\n\nNothing about logs here.' },
    ]);
  });
  after(() => ctx.close());

  const lineOf = (text: string) => GUIDE.split('\n').indexOf(text) + 1;

  it('gives the section of the passage: from its heading to the next heading of the same level, fenced code included', async () => {
    const hit = (await searchDocs(ctx, { query: 'zorblax', max_results: 1 })).results[0]!;
    assert.equal(hit.page_id, 'guide');
    const around = await getDocPage(ctx, { page_id: 'guide', chunk_id: hit.chunk_id });
    assert.equal(around.starting_line, lineOf('### Checkpoints'));
    assert.equal(around.ending_line, lineOf('### Readers') - 1, 'the "# " line inside the code block is no heading');
    assert.ok(around.text.startsWith('### Checkpoints\n\nA checkpoint moves'));
    assert.match(around.text, /doctor checkpoint --now\n```/);
    assert.equal(around.total_lines, GUIDE.split('\n').length);
    // the same lines as a range read
    const range = await getDocPage(ctx, { page_id: 'guide', starting_line: around.starting_line, ending_line: around.ending_line });
    assert.equal(range.text, around.text);
  });

  it('refuses a chunk of another page, and an unknown one, saying what to do', async () => {
    const hit = (await searchDocs(ctx, { query: 'zorblax', max_results: 1 })).results[0]!;
    await assert.rejects(getDocPage(ctx, { page_id: 'other', chunk_id: hit.chunk_id }), /is a passage of page "guide", not of page "other": pass the page_id search_docs gave with it/);
    await assert.rejects(getDocPage(ctx, { page_id: 'guide', chunk_id: 'nope' }), /no passage with chunk_id "nope" .*search again with search_docs/);
  });

  it('finds a repeated first line where the passage goes on, and cuts long sections around it', () => {
    const lines = ['# A', '', 'Same line.', '', 'first copy', '', '## B', '', 'Same line.', '', 'second copy', ...Array.from({ length: 600 }, (_, i) => `row ${i}`)];
    const span = locateChunk(lines, 'Same line.\n\nsecond copy')!;
    assert.deepEqual(span, { start: 8, end: 10 });
    const cut = sectionAround(lines, { start: 300, end: 305 });
    assert.equal(cut.end - cut.start + 1, AROUND_MAX_LINES);
    assert.equal(cut.start, 280, '20 lines before the passage');
    assert.deepEqual(sectionAround(['intro', 'text', '## H', 'x'], { start: 1, end: 1 }), { start: 0, end: 1 }, 'no heading above: the top of the page to the next heading');
    assert.equal(locateChunk(lines, 'not in the page'), undefined);
  });
});
