/** search_docs: hybrid (vector + BM25 keyword, fused), vector-only or keyword-only search over chunks. */
import { searchDocs as runSearch } from '../search/search-docs.js';
import type { DoctorContext } from './context.js';
import { parseInput, searchDocsInput, type SearchDocsInput } from './inputs.js';

export async function searchDocs(ctx: DoctorContext, input: SearchDocsInput) {
  const p = parseInput(searchDocsInput, input);
  // Shared with other searches; a re-embedding switching models waits for it (and holds new ones back).
  return ctx.store.vectorSpace.shared(() => runSearch({ store: ctx.store, embedder: ctx.embedder, keyword: ctx.store.keyword }, p));
}
