/** Keyword search and stored keyword rows, for the tokeniser tests (a database indexed by an earlier tokeniser). */
import { BIGINT, LIST, USMALLINT, VARCHAR, listValue } from '../../src/db/duckdb.js';
import { searchDocs } from '../../src/service/search.js';
import { termHash } from '../../src/text/chunk-terms.js';
import { isStopword } from '../../src/text/tokenize.js';
import type { TestContext } from './context.js';

/** The pages a keyword search finds, best first. */
export const keywordPages = async (ctx: TestContext, query: string): Promise<(string | null)[]> =>
  (await searchDocs(ctx, { query, mode: 'keyword', max_results: 10 })).results.map((r) => r.page_id);

interface StoredChunk {
  seq: bigint;
  text: string;
  title: string | null;
  heading_path: string | null;
}

/** A chunk's keyword row as a tokeniser (`terms` of a text) gave it: title and heading path count twice. */
function rowOf(c: StoredChunk, terms: (text: string) => Iterable<string>) {
  const tf = new Map<string, number>();
  const add = (text: string | null, w: number) => {
    for (const t of terms(text ?? '')) tf.set(t, (tf.get(t) ?? 0) + w);
  };
  add(c.title, 2);
  add(c.heading_path, 2);
  add(c.text, 1);
  let len = 0;
  for (const [t, n] of tf) if (!isStopword(t)) len += n;
  return { terms: [...tf.keys()].map(termHash), tfs: [...tf.values()], len };
}

/** Rewrites the keyword rows of these pages' chunks as an earlier tokeniser (`terms`) stored them. */
export async function rewriteKeywordRows(ctx: TestContext, pageIds: string[], terms: (text: string) => Iterable<string>): Promise<void> {
  const chunks = await ctx.store.db.all<StoredChunk>(
    'SELECT seq, text_chunk AS text, title, heading_path FROM document_embeddings WHERE list_contains($pages, page_id)',
    { pages: listValue(pageIds) },
    { pages: LIST(VARCHAR) },
  );
  await ctx.store.db.transaction(async (tx) => {
    for (const c of chunks) {
      const old = rowOf(c, terms);
      await tx.run('UPDATE kw_docs SET len = $len, terms = $terms, tfs = $tfs WHERE doc = $doc', { len: old.len, terms: listValue(old.terms), tfs: listValue(old.tfs), doc: c.seq }, {
        terms: LIST(BIGINT),
        tfs: LIST(USMALLINT),
        doc: BIGINT,
      });
    }
  });
}
