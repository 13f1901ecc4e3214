/** `doctor search "<query>"` */
import type { Command } from 'commander';
import { withBackend } from './run-with-backend.js';
import { csv, intOption, oneLine, printJson, println } from './output.js';

export function registerSearch(program: Command): void {
  program
    .command('search')
    .description('search the indexed documentation')
    .argument('<query>', 'what to look for (words, identifiers, a question)')
    .option('--tags <tags>', 'only pages with any of these comma-separated tags')
    .option('--max-results <n>', 'pages to return, 1..100', intOption('--max-results'), 10)
    .option('--mode <mode>', 'hybrid | vector | keyword', 'hybrid')
    .option('--full', 'print the whole page text of each result')
    .option('--json', 'print the raw JSON result')
    .action(async (query: string, o: { tags?: string; maxResults: number; mode: string; full?: boolean; json?: boolean }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const res = await b.searchDocs({
          query,
          tags: csv(o.tags),
          max_results: o.maxResults,
          mode: o.mode as 'hybrid',
          return_full_document_text: !!o.full,
        });
        if (o.json) return printJson(res);
        if (res.results.length === 0) return println('No results. Crawl some documentation first: doctor crawl <url>');
        res.results.forEach((r, i) => {
          println(`${i + 1}. ${r.title || r.url}  (score ${r.score.toFixed(3)})`);
          println(`   ${r.url}${r.heading_path ? `  > ${r.heading_path}` : ''}`);
          println(`   page ${r.page_id}${r.tags.length ? `  tags: ${r.tags.join(', ')}` : ''}`);
          println(o.full ? r.chunk_text : `   ${oneLine(r.chunk_text, 240)}`);
          println();
        });
      });
    });
}
