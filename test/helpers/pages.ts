/** Writes pages (and their chunks) the way the crawler does, for tests. */
import { chunkMarkdown, chunkSearchText } from '../../src/ingest/extract/chunker.js';
import type { DoctorContext } from '../../src/service/context.js';

export interface TestPage {
  id: string;
  title: string;
  markdown: string;
  tags?: string[];
  parent?: string | null;
  root?: string;
  depth?: number;
  url?: string;
  domain?: string;
  /** When the page was crawled (default: now). */
  crawlDate?: Date;
}

export async function addPages(ctx: DoctorContext, pages: TestPage[]): Promise<void> {
  for (const p of pages) {
    const url = p.url ?? `https://docs.test/${p.id}.html`;
    const domain = p.domain ?? new URL(url).hostname;
    const tags = p.tags ?? [];
    const chunks = chunkMarkdown(p.markdown, { maxChars: 400, overlap: 0 });
    const vectors = await ctx.embedder.embed(chunks.map((c) => chunkSearchText(c, p.title)));
    await ctx.store.db.transaction(async (tx) => {
      await ctx.store.pages.upsert(tx, {
        id: p.id, url, domain, title: p.title, raw_text: p.markdown, crawl_date: p.crawlDate ?? new Date(), tags, job_id: 'job-test',
        parent_page_id: p.parent ?? null, root_page_id: p.root ?? p.id, depth: p.depth ?? 0, path: new URL(url).pathname, content_hash: p.id,
      });
      await ctx.store.chunks.writeBatch(tx, vectors, chunks.map((c) => ({
        text: c.text, page_id: p.id, url, domain, tags, job_id: 'job-test', chunk_index: c.index, title: p.title,
        heading_path: c.headingPath.join(' > ') || null,
      })));
    });
  }
}
