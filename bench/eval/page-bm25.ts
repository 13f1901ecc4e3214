/**
 * The whole-page BM25 baseline: every page (title + Markdown text) is one document, scored with BM25
 * (k1 1.2, b 0.75) over the project's tokeniser, exhaustively. What a 60-line search over whole pages
 * achieves; the evaluation reports Doctor's modes against it.
 */
import { queryTerms, tokenize } from '../../src/text/tokenize.js';

export interface PageDoc {
  ref: string;
  title: string | null;
  text: string;
}

export class PageBm25 {
  private readonly postings = new Map<string, { doc: number; tf: number }[]>();
  private readonly lens: number[] = [];
  private readonly refs: string[] = [];
  private avgdl = 1;

  constructor(docs: readonly PageDoc[]) {
    for (const d of docs) {
      const doc = this.refs.length;
      this.refs.push(d.ref);
      const tf = new Map<string, number>();
      for (const t of tokenize(`${d.title ?? ''}\n${d.text}`)) tf.set(t, (tf.get(t) ?? 0) + 1);
      let len = 0;
      for (const [t, n] of tf) {
        let list = this.postings.get(t);
        if (!list) this.postings.set(t, (list = []));
        list.push({ doc, tf: n });
        len += n;
      }
      this.lens.push(len);
    }
    this.avgdl = this.lens.reduce((a, b) => a + b, 0) / Math.max(1, this.lens.length);
  }

  /** Page refs, best first (at most `limit`). */
  search(query: string, limit: number): string[] {
    const k1 = 1.2;
    const b = 0.75;
    const n = this.refs.length;
    const scores = new Map<number, number>();
    for (const t of new Set(queryTerms(query))) {
      const list = this.postings.get(t);
      if (!list) continue;
      const idf = Math.log(1 + (n - list.length + 0.5) / (list.length + 0.5));
      for (const p of list) {
        const norm = p.tf + k1 * (1 - b + (b * this.lens[p.doc]!) / this.avgdl);
        scores.set(p.doc, (scores.get(p.doc) ?? 0) + (idf * p.tf * (k1 + 1)) / norm);
      }
    }
    return [...scores.entries()]
      .sort((x, y) => y[1] - x[1] || x[0] - y[0])
      .slice(0, limit)
      .map(([doc]) => this.refs[doc]!);
  }
}
