/** `doctor search "<query>"` */
import type { Command } from 'commander';
import { queryTerms } from '../text/highlight.js';
import { withBackend } from './run-with-backend.js';
import { boldOnStdout, csv, intOption, oneLine, passage, printJson, println } from './output.js';

export function registerSearch(program: Command): void {
  program
    .command('search')
    .description('search the indexed documentation')
    .argument('<query>', 'what to look for (words, identifiers, a question)')
    .option('--tags <tags>', 'only pages with any of these comma-separated tags')
    .option('-n, --max-results <n>', 'pages to return, 1..100', intOption('--max-results'), 10)
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
        if (res.results.length === 0) {
          // "crawl something first" only when nothing is indexed: a tag that matches no page, or words no page
          // holds (keyword mode), say so instead
          if (o.tags) return println(`No results among pages with tags ${o.tags}: see doctor tags for the tags there are`);
          if ((await b.listDocPages({})).total_docs === 0) return println('No results: nothing is indexed yet. Index documentation with doctor crawl <url> or doctor add <path>');
          if (res.note) return println(`No results for "${oneLine(query, 80)}": ${res.note.charAt(0).toLowerCase()}${res.note.slice(1)}`);
          return println(`No results for "${oneLine(query, 80)}"${o.mode === 'keyword' ? ' (keyword mode finds pages holding these words: try other words, or --mode hybrid)' : ''}`);
        }
        if (res.note && !o.full) println(`note: ${res.note}\n`);
        const terms = queryTerms(query);
        const bold = boldOnStdout();
        res.results.forEach((r, i) => {
          println(`${i + 1}. ${r.title || r.url}  (score ${r.score.toPrecision(3)})`);
          println(`   ${r.url}${r.heading_path ? `  > ${r.heading_path}` : ''}`);
          // `doctor page <page> --chunk <chunk>` prints the section around this passage
          println(`   page ${r.page_id}  chunk ${r.chunk_id}${r.tags.length ? `  tags: ${r.tags.join(', ')}` : ''}`);
          if (r.same_text_urls?.length) println(`   same text at: ${r.same_text_urls.join('  ')}`);
          if (o.full) println(r.chunk_text);
          else process.stdout.write(`   ${passage(r.chunk_text, terms, { bold })}\n`);
          println();
        });
        if (res.note && o.full) println(`note: ${res.note}`);
      });
    });
}
