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
import { openStore } from '../../src/store/store.js';
import { machineDescription } from '../machine.js';
import { DEFAULT_CORPUS_PATH, EVAL_DIM, ensureCorpus } from './corpus.js';
import { hitAt, mrrAt, withFolds, type EvalQuery } from './metrics.js';
import { EvalRunner, SYSTEMS, type RankRow } from './runner.js';

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

const queries = withFolds((JSON.parse(readFileSync(values.queries!, 'utf8')) as { queries: EvalQuery[] }).queries);
const corpus = await ensureCorpus({ path: values.db!, fresh: values.fresh, log: (s) => process.stderr.write(s) });
const embedder = new LexicalEmbedder(EVAL_DIM);
const t0 = performance.now();
const store = await openStore({ path: corpus.path, embedding: embedder });
const openMs = performance.now() - t0;
const runner = await EvalRunner.create(store, embedder);
const filtered = await runner.run(queries, { siteFilter: true });
const unfiltered = await runner.run(queries, { siteFilter: false });
await store.close();
type Row = RankRow;
const systems = SYSTEMS;
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
const table = (rows: Row[], metric: (ranks: number[]) => number) =>
  groups
    .map(([name, keep]) => {
      const sel = rows.filter(keep);
      const vals = systems.map((s) => metric(sel.map((r) => r.ranks[s] ?? 0)));
      const margin = vals[0]! - vals[3]!;
      return `| ${name} | ${sel.length} | ${vals.map(f3).join(' | ')} | ${margin >= 0 ? '+' : ''}${f3(margin)} |`;
    })
    .join('\n');
const header = `| questions | n | ${systems.join(' | ')} | hybrid - page-bm25 |\n|---|---|${systems.map(() => '---|').join('')}---|`;
const md = `# Retrieval quality${values.label ? ` (${values.label})` : ''}

${machineDescription()}
- Corpus: Debian's postgresql-doc-15 and sqlite3-doc HTML served on 127.0.0.1 and crawled by Doctor
  (${corpus.pages.toLocaleString('en')} pages, ${corpus.chunks.toLocaleString('en')} chunks), lexical embedder (${EVAL_DIM}-d), exact vector search.
- Questions: ${queries.length} from \`${values.queries}\` (${filtered.filter((r) => r.kind === 'exact').length} with the API's own words, ${filtered.filter((r) => r.kind === 'paraphrase').length} paraphrased);
  folds alternate within each kind (A: where fusion weights were chosen, B: the check).
- Systems: \`searchDocs\` in each mode (max_results 10, one result per page), and \`page-bm25\`: BM25 (k1 1.2, b 0.75)
  over whole pages (title + text) with the same tokeniser, computed by this harness on the same stored pages.

Each question is asked twice: with its site's tag (\`tags: ["postgresql"]\` or \`["sqlite"]\`, as a developer searching
one library's documentation would; the baseline then ranks that site's pages only), and without a filter
(both sites compete: some questions, e.g. "WITH RECURSIVE query", are answered by a page of each).

## With the site's tag

### MRR@10

${header}
${table(filtered, (r) => mrrAt(r, 10))}

### hit@5

${header}
${table(filtered, (r) => hitAt(r, 5))}

## Without a filter (both sites)

### MRR@10

${header}
${table(unfiltered, (r) => mrrAt(r, 10))}

### hit@5

${header}
${table(unfiltered, (r) => hitAt(r, 5))}

Opening the database (keyword index loaded from DuckDB): ${openMs.toFixed(0)} ms.

## Per question (rank of the first expected page; 0 = not in the top 10), with the site's tag / without

| id | kind | fold | query | ${systems.join(' | ')} |
|---|---|---|---|${systems.map(() => '---|').join('')}
${filtered.map((r, i) => `| ${r.id} | ${r.kind} | ${r.fold} | ${r.query.replace(/\|/g, '\\|')} | ${systems.map((s) => `${r.ranks[s]} / ${unfiltered[i]!.ranks[s]}`).join(' | ')} |`).join('\n')}
`;
writeFileSync(values.out!, md);
if (values.json) writeFileSync(values.json, JSON.stringify({ filtered, unfiltered }, null, 1));
console.log(md.split('## Per question')[0]);
