/**
 * Chooses the fusion weights of searchDocs on fold A of the evaluation questions (asked with their site's
 * tag) and shows fold B beside them, never used for the choice:
 * 1. PAGE_WEIGHT (whole-page BM25 in the keyword score): the value with the best keyword-mode MRR@10 on A;
 * 2. VECTOR_WEIGHT (vector list in hybrid RRF), with that PAGE_WEIGHT: the best hybrid MRR@10 on A.
 * Ties go to the smaller weight. Writes bench/results/retrieval-tuning.md.
 * Run: `npm run eval:tune [-- --db path --queries file --out file]`
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LexicalEmbedder } from '../../src/embed/lexical.js';
import { PAGE_WEIGHT, VECTOR_WEIGHT_LEXICAL, type Fusion } from '../../src/search/search-docs.js';
import { openStore } from '../../src/store/store.js';
import { machineDescription } from '../machine.js';
import { DEFAULT_CORPUS_PATH, EVAL_DIM, ensureCorpus } from './corpus.js';
import { mrrAt, withFolds, type EvalQuery } from './metrics.js';
import { EvalRunner, type RankRow, type System } from './runner.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: DEFAULT_CORPUS_PATH },
    queries: { type: 'string', default: 'bench/eval/queries.json' },
    out: { type: 'string', default: 'bench/results/retrieval-tuning.md' },
  },
});

export const PAGE_WEIGHTS = [0, 0.25, 0.5, 1, 2];
export const VECTOR_WEIGHTS = [0, 0.25, 0.5, 0.75, 1, 1.5];

const queries = withFolds((JSON.parse(readFileSync(values.queries!, 'utf8')) as { queries: EvalQuery[] }).queries);
const corpus = await ensureCorpus({ path: values.db!, log: (s) => process.stderr.write(s) });
const embedder = new LexicalEmbedder(EVAL_DIM);
const store = await openStore({ path: corpus.path, embedding: embedder });
const runner = await EvalRunner.create(store, embedder);

const mrr = (rows: RankRow[], system: System, keep: (r: RankRow) => boolean) => mrrAt(rows.filter(keep).map((r) => r.ranks[system] ?? 0), 10);
const cells = (rows: RankRow[], system: System) =>
  [
    (r: RankRow) => r.fold === 'A',
    (r: RankRow) => r.fold === 'A' && r.kind === 'exact',
    (r: RankRow) => r.fold === 'A' && r.kind === 'paraphrase',
    (r: RankRow) => r.fold === 'B',
    (r: RankRow) => r.fold === 'B' && r.kind === 'exact',
    (r: RankRow) => r.fold === 'B' && r.kind === 'paraphrase',
  ].map((k) => mrr(rows, system, k));

async function sweep(system: System, grid: number[], fusionOf: (w: number) => Fusion) {
  const out: { w: number; cells: number[] }[] = [];
  for (const w of grid) {
    const rows = await runner.run(queries, { siteFilter: true, systems: [system], fusion: fusionOf(w) });
    out.push({ w, cells: cells(rows, system) });
    process.stderr.write(`${system} ${w}: A ${out.at(-1)!.cells[0]!.toFixed(3)}\n`);
  }
  const best = out.reduce((b, r) => (r.cells[0]! > b.cells[0]! + 1e-12 ? r : b));
  return { out, best: best.w };
}

const page = await sweep('keyword', PAGE_WEIGHTS, (w) => ({ vectorWeight: VECTOR_WEIGHT_LEXICAL, pageWeight: w }));
const vector = await sweep('hybrid', VECTOR_WEIGHTS, (w) => ({ pageWeight: page.best, vectorWeight: w }));
await store.close();

const f = (x: number) => x.toFixed(3);
const table = (name: string, r: { out: { w: number; cells: number[] }[]; best: number }) =>
  `| ${name} | A: all | A: exact | A: paraphrase | B: all | B: exact | B: paraphrase |\n|---|---|---|---|---|---|---|\n` +
  r.out.map((x) => `| ${x.w}${x.w === r.best ? ' (chosen)' : ''} | ${x.cells.map(f).join(' | ')} |`).join('\n');
const md = `# Choosing the fusion weights

${machineDescription()}
- Corpus and questions as in [retrieval.md](retrieval.md) (${queries.length} questions, asked with their site's tag, MRR@10).
- Fold A (${queries.filter((q) => q.fold === 'A').length} questions: every other question of each kind) chooses; fold B is shown for the check only.
- Ties go to the smaller weight. The chosen values are the defaults in src/search/search-docs.ts
  (currently PAGE_WEIGHT ${PAGE_WEIGHT}, VECTOR_WEIGHT_LEXICAL ${VECTOR_WEIGHT_LEXICAL}). The embedder is the
  offline lexical one, so the vector weight applies to it only; with an embedding model hybrid keeps plain
  RRF (weight 1) until it is evaluated the same way.

## 1. PAGE_WEIGHT: keyword score = BM25(best chunk) + w x BM25(whole page); keyword mode

${table('w', page)}

## 2. VECTOR_WEIGHT: hybrid = w / (60 + vector rank) + 1 / (60 + keyword rank), PAGE_WEIGHT ${page.best}; hybrid mode

${table('w', vector)}
`;
writeFileSync(values.out!, md);
console.log(md);
