/** `doctor add`: index a local directory tree, archive or file (Markdown, HTML, RST, AsciiDoc, text, PDF). */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { progressView } from '../app/progress-view.js';
import type { LocalIndexSummary, LocalProgress } from '../service/index.js';
import { withBackend } from './run-with-backend.js';
import { csv, intOption, nonEmptyPath, printJson, println } from './output.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/**
 * A path as the server will read it: file:// URLs pass, anything else is made absolute here; another URL
 * (https://...) passes too, for the service to say how to index a website.
 */
const absolute = (p: string) => (/^(file:|[a-z][a-z0-9+.-]*:\/\/)/i.test(p) ? p : resolve(p));

export function registerAdd(program: Command): void {
  program
    .command('add')
    .description(
      'index a local directory, archive (.zip, .tar, .tar.gz) or file: Markdown/MDX, HTML, reStructuredText, AsciiDoc, text and PDF; ' +
        'run it again to update changed files and remove the pages of deleted ones',
    )
    .argument('<path>', 'a directory, an archive or a file (a path or a file:// URL)', nonEmptyPath('<path>'))
    .option('--tags <tags>', 'comma-separated tags stored on every page (to filter searches)')
    .option('--base-url <url>', 'where the files are published (e.g. https://docs.example.com/): page URLs become this + the path in the tree')
    .option('--exclude <pattern>', 'leave out paths matching this .gitignore-style pattern (e.g. "drafts/", "*.draft.md"); repeatable', collect)
    .option('--max-file-mb <n>', 'skip files larger than this many MiB, 1..1024 (default 20)', intOption('--max-file-mb', 1, 1024))
    .option('--json', 'print the summary as JSON')
    .action(async (path: string, o: { tags?: string; baseUrl?: string; exclude?: string[]; maxFileMb?: number; json?: boolean }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const view = progressView<LocalProgress>({
          format: '{step} [{bar}] {value}/{total} files | {added} added, {updated} updated, {unchanged} unchanged, {skipped} skipped | {eta_formatted} left',
          value: (p) => p.done,
          total: (p) => p.total,
          payload: (p) => ({ ...p }),
          line: (p) => `${p.step}: ${p.done}/${p.total} files (${p.added} added, ${p.updated} updated, ${p.unchanged} unchanged, ${p.removed} removed, ${p.skipped} skipped)`,
          // Without a terminal: a line per step and per 10% of it
          key: (p) => `${p.step} ${p.total ? Math.floor((p.done / p.total) * 10) : 0}`,
        });
        let s: LocalIndexSummary;
        try {
          s = await b.addLocal(
            {
              path: absolute(path),
              tags: csv(o.tags),
              base_url: o.baseUrl,
              exclude: o.exclude,
              max_file_bytes: o.maxFileMb === undefined ? undefined : o.maxFileMb * 2 ** 20,
            },
            { onProgress: (p) => view.update(p) },
          );
        } finally {
          view.stop();
        }
        if (o.json) return printJson(s);
        println(`indexed ${s.source} (${s.kind}, ${s.seconds.toFixed(1)} s): ${s.files} file(s) read`);
        println(`  pages: ${s.added} added, ${s.updated} updated, ${s.unchanged} unchanged, ${s.removed} removed (files gone)`);
        const reasons = Object.entries(s.skipped_by_reason).sort((a, b) => b[1] - a[1]);
        if (s.skipped) println(`  skipped: ${s.skipped} (${reasons.map(([r, n]) => `${n} ${r}`).join('; ')})`);
        const notable = s.skipped_files.filter((f) => !/^(hidden|ignored by \.gitignore|excluded by --exclude|unsupported file type)/.test(f.reason));
        for (const f of notable.slice(0, 20)) println(`    ${f.path}: ${f.reason}`);
        if (notable.length > 20) println(`    ... and ${notable.length - 20} more (--json lists up to 1,000)`);
        println(`  pages at ${s.url}${s.tags.length ? `, tags ${s.tags.join(', ')}` : ''}; root page ${s.root_page_id}`);
      });
    });
}
