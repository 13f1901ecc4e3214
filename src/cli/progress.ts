/** A crawl progress bar on stderr (plain lines when stderr is not a terminal). */
import cliProgress from 'cli-progress';
import type { JobProgress } from '../service/index.js';

export interface ProgressView {
  update(p: JobProgress): void;
  stop(): void;
}

export function crawlProgress(): ProgressView {
  if (!process.stderr.isTTY) {
    let last = '';
    return {
      update(p) {
        const line = `${p.status}: ${p.pages_crawled}/${p.max_pages} pages stored, ${p.pages_discovered} found, ${p.pages_skipped} skipped`;
        if (line !== last) process.stderr.write(line + '\n');
        last = line;
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: 'crawling [{bar}] {value}/{total} pages | {found} found | {skipped} skipped | {status}',
      hideCursor: true,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      const total = Math.max(1, Math.min(p.max_pages, Math.max(p.pages_discovered, p.pages_crawled)));
      const payload = { found: p.pages_discovered, skipped: p.pages_skipped, status: p.status };
      if (!started) {
        bar.start(total, p.pages_crawled, payload);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(p.pages_crawled, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
