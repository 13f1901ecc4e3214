/** `doctor pages` (list), `doctor page <id|url>` (read), `doctor sites` and `doctor tags`. */
import type { Command } from 'commander';
import { withBackend } from './run-with-backend.js';
import { csv, intOption, oneLine, printJson, println } from './output.js';

export function registerPages(program: Command): void {
  program
    .command('pages')
    .description('list indexed pages, newest first, 100 per page')
    .option('--tags <tags>', 'only pages with any of these comma-separated tags')
    .option('--page <n>', 'which page of the listing', intOption('--page'), 1)
    .option('--json', 'print the raw JSON result')
    .action(async (o: { tags?: string; page: number; json?: boolean }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const res = await b.listDocPages({ page: o.page, tags: csv(o.tags) });
        if (o.json) return printJson(res);
        if (res.total_docs === 0) {
          return println(o.tags ? `No pages with tags ${o.tags}: see doctor tags` : 'No pages yet: index some with doctor crawl <url> or doctor add <path>');
        }
        const at = (n: number) => `doctor pages${o.tags ? ` --tags ${o.tags}` : ''} --page ${n}`;
        if (res.doc_pages.length === 0 && res.current_page > res.listing_pages) {
          const many = res.listing_pages === 1 ? '1 page' : `${res.listing_pages} pages`;
          throw new Error(`--page ${res.current_page} is past the end: the listing has ${many} (${res.total_docs} indexed pages, 100 a page); the last is ${at(res.listing_pages)}`);
        }
        for (const p of res.doc_pages) println(`${p.page_id}  ${p.crawl_date.slice(0, 10)}  ${p.url}${p.tags.length ? `  [${p.tags.join(', ')}]` : ''}`);
        println(`page ${res.current_page} of ${res.listing_pages}${res.current_page < res.listing_pages ? `: next, ${at(res.current_page + 1)}` : ''}`);
      });
    });

  program
    .command('page')
    .description("print a page's Markdown (optionally a range of lines, or the section around a search passage)")
    .argument('<page>', 'the page id (from search or pages), or the URL of a stored page')
    .option('--from <line>', 'first line (1-based)', intOption('--from'), 1)
    .option('--to <line>', 'last line (-1 = to the end)', intOption('--to'), -1)
    .option('--chunk <chunk_id>', 'the section around a search passage instead (its chunk id, as doctor search prints it)')
    .option('--json', 'print the raw JSON result')
    .action(async (pageId: string, o: { from: number; to: number; chunk?: string; json?: boolean }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const which = /^[a-z][a-z0-9+.-]*:\/\//i.test(pageId) ? { url: pageId } : { page_id: pageId };
        const res = await b.getDocPage({ ...which, starting_line: o.from, ending_line: o.to, chunk_id: o.chunk });
        if (o.json) return printJson(res);
        if (o.chunk !== undefined) process.stderr.write(`lines ${res.starting_line}-${res.ending_line} of ${res.total_lines}\n`);
        println(res.text);
      }, { flagNames: { starting_line: '--from', ending_line: '--to', chunk_id: '--chunk' } });
    });

  program
    .command('sites')
    .description('list indexed sites (a crawl or a doctor add source) with their pages, chunks, last crawl and the id doctor delete --site takes')
    .option('--json', 'print the raw JSON result')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const res = await b.siteOverview({});
        if (o.json) return printJson(res);
        if (res.sites.length === 0) return println('No sites yet: index some with doctor crawl <url> or doctor add <path>');
        const n = (x: number) => x.toLocaleString('en-US');
        for (const s of res.sites) {
          println(`${s.title ? `${oneLine(s.title)}  ` : ''}${s.url}${s.tags.length ? `  [${s.tags.join(', ')}]` : ''}${s.root_present ? '' : '  (its start page was deleted)'}`);
          println(`  site ${s.root_page_id}  ${n(s.pages)} page${s.pages === 1 ? '' : 's'}, ${n(s.chunks)} chunk${s.chunks === 1 ? '' : 's'}, last crawl ${s.last_crawl.slice(0, 16).replace('T', ' ')} UTC`);
        }
        const { sites, pages, chunks } = res.totals;
        println(`${n(sites)} site${sites === 1 ? '' : 's'}, ${n(pages)} pages, ${n(chunks)} chunks; delete one with doctor delete --site <site id>`);
      });
    });

  program
    .command('tags')
    .description('list tags, optionally those matching a substring')
    .argument('[substring]', 'part of the tag (small typos are tolerated)')
    .option('--json', 'print the raw JSON result')
    .action(async (substring: string | undefined, o: { json?: boolean }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const res = await b.listTags({ search_substring: substring });
        if (o.json) return printJson(res);
        if (res.tags.length === 0) return println(substring ? `No tag matches "${substring}": see doctor tags` : 'No tags yet: give pages tags with doctor crawl <url> --tags a,b or doctor add <path> --tags a,b');
        for (const t of res.tags) println(t);
      });
    });
}
