/** Evaluation helpers: folds, ranks, MRR@k and hit@k. */

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

/** The site a question is for (the site of its expected pages: `postgresql`, `sqlite`). */
export const siteOf = (q: EvalQuery): string => q.expected[0]!.split(':')[0]!;
