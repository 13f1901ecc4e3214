/**
 * `doctor demo`: the quickstart. Serves the documentation site in examples/site on 127.0.0.1, crawls and
 * indexes it into the data directory (offline, no API key needed), then prints search results.
 */
import type { Command } from 'commander';
import { appPath } from '../app-root.js';
import type { JobRunner } from '../ingest/job-runner.js';
import { startOwnCrawlRunner } from './local-runner.js';
import type { Operations } from '../service/operations.js';
import { withBackend } from './run-with-backend.js';
import { boldOnStdout, passage, println } from './output.js';
import { queryTerms } from '../text/highlight.js';
import { crawlProgress } from './progress.js';
import { serveDirectory } from './static-site.js';

const SITE = appPath('examples', 'site');
const TAGS = ['kettle', 'example'];

/** Pages of the example site stored by an earlier quickstart run (tagged as the demo tags them, served on another port of 127.0.0.1). */
async function earlierRunPages(b: Operations, url: string): Promise<string[]> {
  const ids: string[] = [];
  for (let page = 1; ; page++) {
    const r = await b.listDocPages({ page, tags: [TAGS[0]!] });
    for (const p of r.doc_pages) {
      if (TAGS.every((t) => p.tags.includes(t)) && p.url.startsWith('http://127.0.0.1:') && !p.url.startsWith(url)) ids.push(p.page_id);
    }
    if (page >= r.listing_pages) return ids;
  }
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('quickstart: index the bundled example docs (examples/site) and search them, offline')
    .option('--query <text>', 'what to search for', 'how do retries and backoff work?')
    .action(async (o: { query: string }, cmd: Command) => {
      const { url, server } = await serveDirectory(SITE);
      let runner: JobRunner | undefined;
      try {
        await withBackend(
          cmd,
          async (b) => {
            if (b.kind === 'remote') {
              throw new Error(`a Doctor server is running on ${b.where}: stop it, or run the demo with another --data-dir.`);
            }
            println(`Serving the example documentation on ${url}`);
            // Each run serves the site on a new port, so its pages get new URLs: an earlier run's copy would
            // show up beside this one in every search. Remove it (only the example site's pages, by its tags).
            const earlier = await earlierRunPages(b, url);
            if (earlier.length > 0) {
              const d = await b.deleteDocs({ page_ids: earlier });
              println(`Removed the ${d.deleted_pages} pages of an earlier quickstart run (served on another port)`);
            }
            const { job_id } = await b.fetchUrl({ url: `${url}index.html`, tags: TAGS, max_pages: 50 });
            const view = crawlProgress();
            const final = await runner!.waitFor(job_id).finally(() => view.stop());
            const p = await b.jobProgress({ job_id });
            view.update(p);
            view.stop();
            println(`Crawl ${final.status}: ${p.pages_crawled} pages stored in ${b.where}${final.error_message ? ` (${final.error_message})` : ''}`);
            println(`\nSearch: "${o.query}"\n`);
            const res = await b.searchDocs({ query: o.query, tags: [TAGS[0]!], max_results: 3 });
            const terms = queryTerms(o.query);
            const bold = boldOnStdout();
            res.results.forEach((r, i) => {
              println(`${i + 1}. ${r.title}  (${r.url})  score ${r.score.toPrecision(3)}`);
              process.stdout.write(`   ${passage(r.chunk_text, terms, { bold })}\n\n`);
            });
            println('Next: `npx doctor serve` for the REST API (/docs) and MCP (/mcp); `npx doctor crawl <url>` for real sites.');
          },
          {
            overrides: { allowHosts: '127.0.0.1' },
            prepareLocal: async (ctx) => {
              runner = await startOwnCrawlRunner(ctx);
            },
          },
        );
      } finally {
        await runner?.stop();
        server.close();
      }
    });
}
