/** `doctor export` and `doctor import`: the index as Parquet files + manifest, to hand around. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { ExportSummary, ImportSummary } from '../service/index.js';
import { withBackend } from './run-with-backend.js';
import { csv, nonEmptyPath, oneLine, printJson, println } from './output.js';
import { humanBytes, stepProgress } from './portable-progress.js';

export function registerPortable(program: Command): void {
  program
    .command('export')
    .description('write pages, chunks and vectors (Parquet) with a manifest to a .tar file or a directory, to import elsewhere')
    .requiredOption('-o, --output <path>', 'a file ending in .tar (one archive), or a directory', nonEmptyPath('--output'))
    .option('--tags <tags>', 'only pages with any of these comma-separated tags')
    .option('--domain <domain>', 'only pages of this domain (e.g. docs.python.org)')
    .option('--force', 'replace an earlier export at that path (never any other file, nor a directory holding anything else)')
    .option('--json', 'print the summary as JSON')
    .action(async (o: { output: string; tags?: string; domain?: string; force?: boolean; json?: boolean }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const view = stepProgress();
        let summary: ExportSummary;
        try {
          // Resolved here: a server runs in a directory of its own.
          summary = await b.exportIndex({ path: resolve(o.output), tags: csv(o.tags), domain: o.domain, force: o.force }, (p) => view.update(p));
        } finally {
          view.stop();
        }
        if (o.json) return printJson(summary);
        const e = summary.manifest.embedding;
        println(
          `exported ${summary.pages} page(s) and ${summary.chunks} chunk(s) to ${summary.path} ` +
            `(${summary.format === 'tar' ? 'archive' : 'directory'}, ${humanBytes(summary.bytes)}, ${summary.seconds.toFixed(1)} s)`,
        );
        println(`vectors: ${e.provider}/${e.model}, ${e.dimension} dimensions; import with: doctor import ${summary.path}`);
        if (summary.pages === 0 && (o.tags || o.domain)) println('no page matched the filters (doctor tags lists the tags, doctor pages the pages)');
      });
    });

  program
    .command('import')
    .description('merge an export (.tar or directory) into this database: newer crawls win, one transaction, repeatable')
    .argument('<path>', 'the .tar file or directory written by doctor export', nonEmptyPath('<path>'))
    .option('--json', 'print the summary as JSON')
    .action(async (path: string, o: { json?: boolean }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const view = stepProgress();
        let s: ImportSummary;
        try {
          s = await b.importIndex({ path: resolve(path) }, (p) => view.update(p));
        } finally {
          view.stop();
        }
        if (o.json) return printJson(s);
        println(`imported ${s.source} (${humanBytes(s.bytes)}, ${s.seconds.toFixed(1)} s; exported ${s.manifest.created_at} by Doctor ${s.manifest.doctor_version})`);
        println(
          `  pages:  ${s.pages.added} added, ${s.pages.replaced} replaced (newer crawl), ${s.pages.kept} kept (stored copy as new or newer), ${s.pages.skipped} skipped`,
        );
        println(`  chunks: ${s.chunks.added} added, ${s.chunks.removed} removed with replaced pages, ${s.chunks.unchanged} not needed`);
        for (const k of s.skipped) println(`  skipped ${k.url}: ${k.reason}`);
        if (s.detached.pages) println(`  ${detachedLine(s.detached)}`);
      });
    });
}

/**
 * One line on the imported pages whose root or parent link was dropped: how many, why, and one of them
 * (its page id, and the page id it named).
 */
export function detachedLine(d: ImportSummary['detached']): string {
  const why = [
    d.other_domain ? `${d.other_domain} named a root or parent page on another domain` : '',
    d.missing ? `${d.missing} one neither in the export nor stored here` : '',
  ].filter(Boolean).join(', ');
  const e = d.example;
  const example = e ? `; e.g. page ${e.page_id} (${oneLine(e.url, 200)}) named ${e.link} ${e.target_id}${e.target_url ? ` (${oneLine(e.target_url, 200)})` : ''}` : '';
  return `detached: ${d.pages} page(s) imported without their root or parent link (${why}), so no stored site lists them${example}`;
}
