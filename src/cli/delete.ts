/** `doctor delete` */
import type { Command } from 'commander';
import { withBackend } from './run-with-backend.js';
import { csv, printJson, println } from './output.js';

export function registerDelete(program: Command): void {
  program
    .command('delete')
    .description('delete pages (and their chunks) by tags, domain, page ids or site')
    .option('--tags <tags>', 'pages with any of these comma-separated tags')
    .option('--domain <domain>', 'pages of this domain (e.g. docs.python.org)')
    .option('--page-ids <ids>', 'comma-separated page ids')
    .option('--site <root_page_id>', 'every page of a site (its root page id, from `doctor pages --json` or GET /sites)')
    .option('--json', 'print the raw JSON result')
    .action(async (o: { tags?: string; domain?: string; pageIds?: string; site?: string; json?: boolean }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const res = await b.deleteDocs({ tags: csv(o.tags), domain: o.domain, page_ids: csv(o.pageIds), root_page_id: o.site });
        if (o.json) return printJson(res);
        if (res.deleted_pages === 0 && res.deleted_chunks === 0) {
          return println('deleted nothing: no page matched (doctor tags lists the tags, doctor pages the pages and their ids)');
        }
        println(`deleted ${res.deleted_pages} page(s) and ${res.deleted_chunks} chunk(s)`);
        // a crawl storing pages of what was deleted would have stored them again (service/pages.ts deleteDocs)
        for (const id of res.cancelled_jobs ?? []) println(`cancelled crawl job ${id}: it was storing these pages`);
      }, { flagNames: { tags: '--tags', domain: '--domain', root_page_id: '--site' } });
    });
}
