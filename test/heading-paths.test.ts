/**
 * Heading paths that Doctor before 2026-12-05 stored cut at a link's parenthesis (a Sphinx module page's
 * heading links the module with its summary as the link's title: `optparse") — Parser for command line
 * options`), seen where a user sees them, in search results: repaired when the database is opened, and
 * when an export made by that Doctor is imported.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { exportIndex, importIndex, searchDocs } from '../src/service/index.js';
import { chunkMarkdown } from '../src/ingest/extract/chunker.js';
import { headingRepairs } from '../src/store/heading-paths.js';
import { headingTitle, MAX_HEADING_CHARS } from '../src/text/markdown-heading.js';
import { linksToText } from '../src/text/markdown-links.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { addPages } from './helpers/pages.js';
import { tempDir } from './helpers/tmp.js';

const MODULE = 'optparse — Parser for command line options';
/** What the old chunker made of that heading: the link ended at the first ")", inside its title. */
const MODULE_OLD = 'optparse") — Parser for command line options';
const OPTPARSE = [
  '# [`optparse`](https://docs.test/optparse.html#module-optparse "optparse: Command-line option parsing library. (deprecated)") — Parser for command line options',
  '',
  'optparse is a more convenient, flexible, and powerful library for parsing command-line options than the old getopt module.',
  '',
  '## Background',
  '',
  'optparse was explicitly designed to encourage the creation of programs with straightforward command-line interfaces.',
].join('\n');
/** A heading whose text holds `")` of its own, and no link: nothing to repair. */
const QUOTES = '# Say "hi") twice\n\nA heading that ends a quote in a parenthesis, written so by its author.\n\n## retry(n)\n\nRetries the request n times.';

/**
 * rustdoc links every type in a method's signature: this heading is 412 characters of Markdown, and Doctor before
 * this fix read only the first 400, leaving the last link as markup in the path.
 */
const TRY_INTO_LINE =
  '#### fn [try_into](https://doc.rust-lang.org/std/convert/trait.TryInto.html#tymethod.try_into)(self) -> [Result](https://doc.rust-lang.org/std/result/enum.Result.html "enum std::result::Result")\\<U, \\<U as [TryFrom](https://doc.rust-lang.org/std/convert/trait.TryFrom.html "trait std::convert::TryFrom")\\<T>>::[Error](https://doc.rust-lang.org/std/convert/trait.TryFrom.html#associatedtype.Error "type std::convert::TryFrom::Error")>';
const TRY_INTO = 'fn try_into(self) -> Result<U, <U as TryFrom<T>>::Error>';
const VEC = ['# Struct [std](https://doc.rust-lang.org/std/index.html)::[vec](https://doc.rust-lang.org/std/vec/index.html)::[Vec](https://doc.rust-lang.org/std/vec/struct.Vec.html)', '', 'A contiguous growable array type.', '', TRY_INTO_LINE, '', 'Performs the conversion into a fixed-size array.'].join('\n');
/** What Doctor between the two fixes made of that heading. */
const TRY_INTO_OLD = headingTitle(TRY_INTO_LINE.slice(5), MAX_HEADING_CHARS, { links: linksToText, readChars: 400, cutLinks: false });

/** Stores the two pages, then their chunks' paths as the old chunker wrote them, as a file the old Doctor wrote has them. */
async function oldDatabase(dbPath?: string): Promise<TestContext> {
  const ctx = await makeContext({ dbPath, runner: false });
  await addPages(ctx, [
    { id: 'optparse', title: MODULE, markdown: OPTPARSE },
    { id: 'quotes', title: 'Say "hi") twice', markdown: QUOTES },
  ]);
  await ctx.store.db.run('UPDATE document_embeddings SET heading_path = replace(heading_path, ?, ?)', [MODULE, MODULE_OLD]);
  await ctx.store.db.run("DELETE FROM meta WHERE key = 'heading_paths'");
  return ctx;
}

const paths = async (ctx: TestContext) =>
  (await ctx.store.db.all<{ page_id: string; heading_path: string }>('SELECT page_id, heading_path FROM document_embeddings ORDER BY page_id, chunk_index')).map(
    (r) => `${r.page_id}: ${r.heading_path}`,
  );
const EXPECTED = [`optparse: ${MODULE}`, `optparse: ${MODULE} > Background`, 'quotes: Say "hi") twice', 'quotes: Say "hi") twice > retry(n)'];

describe('heading paths cut at a link title by an earlier Doctor', () => {
  it('the old and current reading of each heading line of a page with links', () => {
    assert.deepEqual([...headingRepairs(OPTPARSE)], [[MODULE_OLD, MODULE]]);
    assert.equal(headingRepairs(QUOTES).size, 0);
  });

  it('are repaired when the database is opened; search results show the heading, other paths holding ")" stay', async () => {
    const dbPath = join(tempDir(), 'doctor.duckdb');
    const old = await oldDatabase(dbPath);
    assert.ok((await paths(old)).includes(`optparse: ${MODULE_OLD} > Background`), 'the old path is stored');
    await old.close();

    const ctx = await makeContext({ dbPath, runner: false });
    try {
      assert.deepEqual(await paths(ctx), EXPECTED);
      const res = await searchDocs(ctx, { query: 'optparse straightforward command-line interfaces', max_results: 1 });
      assert.equal(res.results[0]?.heading_path, `${MODULE} > Background`);
    } finally {
      await ctx.close();
    }
  });

  it('a heading read past 400 characters: whole, without link markup, and repaired from the version before', async () => {
    assert.ok(TRY_INTO_LINE.length > 405 && TRY_INTO_OLD.includes(']('), TRY_INTO_OLD);
    const chunk = chunkMarkdown(VEC).find((c) => c.text.includes('Performs the conversion'));
    assert.deepEqual(chunk?.headingPath, ['Struct std::vec::Vec', TRY_INTO]);

    const dbPath = join(tempDir(), 'doctor.duckdb');
    const old = await makeContext({ dbPath, runner: false });
    await addPages(old, [{ id: 'vec', title: 'Vec in std::vec - Rust', markdown: VEC }]);
    await old.store.db.run('UPDATE document_embeddings SET heading_path = replace(heading_path, ?, ?)', [TRY_INTO, TRY_INTO_OLD]);
    await old.store.db.run("UPDATE meta SET value = '1' WHERE key = 'heading_paths'");
    assert.ok((await paths(old)).includes(`vec: Struct std::vec::Vec > ${TRY_INTO_OLD}`), 'the old path is stored');
    await old.close();

    const ctx = await makeContext({ dbPath, runner: false });
    try {
      assert.deepEqual([...new Set(await paths(ctx))], ['vec: Struct std::vec::Vec', `vec: Struct std::vec::Vec > ${TRY_INTO}`]);
      const res = await searchDocs(ctx, { query: 'conversion into a fixed-size array', max_results: 1 });
      assert.equal(res.results[0]?.heading_path, `Struct std::vec::Vec > ${TRY_INTO}`);
    } finally {
      await ctx.close();
    }
  });

  it('are repaired when an export made by that Doctor is imported', async () => {
    const archive = join(tempDir(), 'old.tar.gz');
    const old = await oldDatabase();
    await exportIndex(old, { path: archive });
    await old.close();

    const ctx = await makeContext({ runner: false });
    try {
      await importIndex(ctx, { path: archive });
      assert.deepEqual(await paths(ctx), EXPECTED);
      const res = await searchDocs(ctx, { query: 'optparse straightforward command-line interfaces', max_results: 1 });
      assert.equal(res.results[0]?.heading_path, `${MODULE} > Background`);
    } finally {
      await ctx.close();
    }
  });
});
