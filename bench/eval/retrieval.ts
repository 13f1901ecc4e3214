/**
 * Retrieval evaluation: runs the questions of bench/eval/queries.json through `searchDocs` in every mode over
 * Debian's postgresql-doc-15 and sqlite3-doc (crawled from 127.0.0.1 with the lexical embedder, see corpus.ts),
 * and a whole-page BM25 baseline over the same stored pages, and reports MRR@10 and hit@5 per mode, per kind
 * of question (exact API words / paraphrased) and per fold (A: where fusion weights were chosen, B: the check).
 *
 * Run: `npm run eval:retrieval [-- --fresh] [--db path] [--queries file] [--out bench/results/retrieval.md] [--json file]`
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LexicalEmbedder } from '../../src/embed/lexical.js';
import { searchDocs, type SearchMode } from '../../src/search/search-docs.js';
import { openStore } from '../../src/store/store.js';
import { machineDescription } from '../machine.js';
import { DEFAULT_CORPUS_PATH, EVAL_DIM, ensureCorpus, pageRef } from './corpus.js';
import { PageBm25 } from './page-bm25.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: DEFAULT_CORPUS_PATH },
    fresh: { type: 'boolean', default: false },
    queries: { type: 'string', default: 'bench/eval/queries.json' },
    out: { type: 'string', default: 'bench/results/retrieval.md' },
    json: { type: 'string' },
    label: { type: 'string', default: '' },
  },
});

export interface EvalQuery {
  id: string;
  kind: 'exact' | 'paraphrase';
  query: string;
  expected: string[];
  fold?: 'A' | 'B';
}

/** Folds: within each kind, questions alternate A, B in file order. */
export function withFolds(queries: readonly EvalQuery[]): Required<EvalQuery>[] {
  const seen = { exact: 0, paraphrase: 0 };
  return queries.map((q) => ({ ...q, fold: seen[q.kind]++ % 2 === 0 ? 'A' : 'B' }));
}

/** 1-based rank of the first expected page in `refs`, or 0. */
export function firstHit(refs: readonly (string | undefined)[], expected: readonly string[]): number {
  const i = refs.findIndex((r) => r !== undefined && expected.includes(r));
  return i < 0 ? 0 : i + 1;
}

export const mrrAt = (ranks: readonly number[], k: number) => ranks.reduce((s, r) => s + (r > 0 && r <= k ? 1 / r : 0), 0) / Math.max(1, ranks.length);
export const hitAt = (ranks: readonly number[], k: number) => ranks.filter((r) => r > 0 && r <= k).length / Math.max(1, ranks.length);

const MODES: SearchMode[] = ['hybrid', 'keyword', 'vector'];
const queries = withFolds((JSON.parse(readFileSync(values.queries!, 'utf8')) as { queries: EvalQuery[] }).queries);
const corpus = await ensureCorpus({ path: values.db!, fresh: values.fresh, log: (s) => process.stderr.write(s) });
const embedder = new LexicalEmbedder(EVAL_DIM);
const store = await openStore({ path: corpus.path, embedding: embedder });
const deps = { store, embedder, keyword: store.keyword };

const pages = await store.db.all<{ url: string; title: string | null; raw_text: string | null }>('SELECT url, title, raw_text FROM pages');
const baseline = new PageBm25(pages.map((p) => ({ ref: pageRef(p.url) ?? p.url, title: p.title, text: p.raw_text ?? '' })));

type Row = { id: string; kind: string; fold: string; query: string; ranks: Record<string, number> };
const rows: Row[] = [];
for (const q of queries) {
  const ranks: Record<string, number> = {};
  for (const mode of MODES) {
    const { results } = await searchDocs(deps, { query: q.query, mode, max_results: 10 });
    ranks[mode] = firstHit(results.map((r) => pageRef(r.url)), q.expected);
  }
  ranks['page-bm25'] = firstHit(baseline.search(q.query, 10), q.expected);
  rows.push({ id: q.id, kind: q.kind, fold: q.fold, query: q.query, ranks });
}
await store.close();

const systems = [...MODES, 'page-bm25'];
const groups: [string, (r: Row) => boolean][] = [
  ['exact, fold A', (r) => r.kind === 'exact' && r.fold === 'A'],
  ['exact, fold B', (r) => r.kind === 'exact' && r.fold === 'B'],
  ['paraphrase, fold A', (r) => r.kind === 'paraphrase' && r.fold === 'A'],
  ['paraphrase, fold B', (r) => r.kind === 'paraphrase' && r.fold === 'B'],
  ['**exact (all)**', (r) => r.kind === 'exact'],
  ['**paraphrase (all)**', (r) => r.kind === 'paraphrase'],
  ['fold A (all)', (r) => r.fold === 'A'],
  ['fold B (all)', (r) => r.fold === 'B'],
  ['**all**', () => true],
];
const f3 = (x: number) => x.toFixed(3);
const table = (metric: (ranks: number[]) => number) =>
  groups
    .map(([name, keep]) => {
      const sel = rows.filter(keep);
      const vals = systems.map((s) => metric(sel.map((r) => r.ranks[s]!)));
      const margin = vals[0]! - vals[3]!;
      return `| ${name} | ${sel.length} | ${vals.map(f3).join(' | ')} | ${margin >= 0 ? '+' : ''}${f3(margin)} |`;
    })
    .join('\n');
const header = `| questions | n | ${systems.join(' | ')} | hybrid - page-bm25 |\n|---|---|${systems.map(() => '---|').join('')}---|`;
const md = `# Retrieval quality${values.label ? ` (${values.label})` : ''}

${machineDescription()}
- Corpus: Debian's postgresql-doc-15 and sqlite3-doc HTML served on 127.0.0.1 and crawled by Doctor
  (${corpus.pages.toLocaleString('en')} pages, ${corpus.chunks.toLocaleString('en')} chunks), lexical embedder (${EVAL_DIM}-d), exact vector search.
- Questions: ${queries.length} from \`${values.queries}\` (${rows.filter((r) => r.kind === 'exact').length} with the API's own words, ${rows.filter((r) => r.kind === 'paraphrase').length} paraphrased);
  folds alternate within each kind (A: where fusion weights were chosen, B: the check).
- Systems: \`searchDocs\` in each mode (max_results 10, one result per page), and \`page-bm25\`: BM25 (k1 1.2, b 0.75)
  over whole pages (title + text) with the same tokeniser, computed by this harness on the same stored pages.

## MRR@10

${header}
${table((r) => mrrAt(r, 10))}

## hit@5

${header}
${table((r) => hitAt(r, 5))}

## Per question (rank of the first expected page; 0 = not in the top 10)

| id | kind | fold | query | ${systems.join(' | ')} |
|---|---|---|---|${systems.map(() => '---|').join('')}
${rows.map((r) => `| ${r.id} | ${r.kind} | ${r.fold} | ${r.query.replace(/\|/g, '\\|')} | ${systems.map((s) => r.ranks[s]).join(' | ')} |`).join('\n')}
`;
writeFileSync(values.out!, md);
if (values.json) writeFileSync(values.json, JSON.stringify(rows, null, 1));
console.log(md.split('## Per question')[0]);
