/**
 * Runs evaluation questions through `searchDocs` (each mode) and the whole-page BM25 baseline, returning
 * the rank of the first expected page per question and system. Shared by retrieval.ts (the report) and
 * tune.ts (choosing the fusion weights on fold A).
 */
import type { Embedder } from '../../src/embed/embedder.js';
import { searchDocs, type Fusion, type SearchMode } from '../../src/search/search-docs.js';
import type { Store } from '../../src/store/store.js';
import { pageRef } from './corpus.js';
import { firstHit, siteOf, type EvalQuery } from './metrics.js';
import { PageBm25 } from './page-bm25.js';

export type System = SearchMode | 'page-bm25';
export const SYSTEMS: System[] = ['hybrid', 'keyword', 'vector', 'page-bm25'];

export interface RankRow {
  id: string;
  kind: string;
  fold: string;
  query: string;
  ranks: Partial<Record<System, number>>;
}

export interface RunOptions {
  /** Ask each question with its site's tag (as a developer searching one library's docs would). */
  siteFilter: boolean;
  systems?: readonly System[];
  fusion?: Fusion;
}

export class EvalRunner {
  private constructor(
    private readonly deps: { store: Store; embedder: Embedder },
    private readonly baselines: Map<string, PageBm25>,
  ) {}

  static async create(store: Store, embedder: Embedder): Promise<EvalRunner> {
    const pages = await store.db.all<{ url: string; title: string | null; raw_text: string | null }>('SELECT url, title, raw_text FROM pages');
    const docs = pages.map((p) => ({ ref: pageRef(p.url) ?? p.url, title: p.title, text: p.raw_text ?? '' }));
    const baselines = new Map<string, PageBm25>([['', new PageBm25(docs)]]);
    for (const site of new Set(docs.map((d) => d.ref.split(':')[0]!))) {
      baselines.set(site, new PageBm25(docs.filter((d) => d.ref.startsWith(`${site}:`))));
    }
    return new EvalRunner({ store, embedder }, baselines);
  }

  async run(queries: readonly Required<EvalQuery>[], o: RunOptions): Promise<RankRow[]> {
    const systems = o.systems ?? SYSTEMS;
    const deps = { ...this.deps, keyword: this.deps.store.keyword, fusion: o.fusion };
    const rows: RankRow[] = [];
    for (const q of queries) {
      const site = siteOf(q);
      const ranks: RankRow['ranks'] = {};
      for (const s of systems) {
        if (s === 'page-bm25') {
          ranks[s] = firstHit(this.baselines.get(o.siteFilter ? site : '')!.search(q.query, 10), q.expected);
          continue;
        }
        const { results } = await searchDocs(deps, { query: q.query, mode: s, max_results: 10, tags: o.siteFilter ? [site] : undefined });
        ranks[s] = firstHit(results.map((r) => pageRef(r.url)), q.expected);
      }
      rows.push({ id: q.id, kind: q.kind, fold: q.fold, query: q.query, ranks });
    }
    return rows;
  }
}
