/** A crawl progress bar on stderr (plain lines when stderr is not a terminal). */
import cliProgress from 'cli-progress';
import type { JobProgress } from '../service/index.js';

export interface ProgressView {
  update(p: JobProgress): void;
  stop(): void;
}

export interface CrawlProgressOptions {
  /** Where lines go (default stderr). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Least time between two plain lines (default 2000 ms). */
  intervalMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

/**
 * On a terminal: a progress bar. Otherwise (a log file, CI, a pipe): a line when something changed, at most
 * every `intervalMs`, and always a final summary line when the view stops.
 */
export function crawlProgress(opts: CrawlProgressOptions = {}): ProgressView {
  const stream = opts.stream ?? process.stderr;
  if (!stream.isTTY) return plainProgress(stream, opts.intervalMs ?? 2000, opts.now ?? Date.now);
  const bar = new cliProgress.SingleBar(
    {
      format: 'crawling [{bar}] {value}/{total} pages | {found} found | {skipped} skipped | {status}',
      hideCursor: true,
      stream,
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

function plainProgress(stream: NodeJS.WritableStream, intervalMs: number, now: () => number): ProgressView {
  const started = now();
  let lastAt = -Infinity;
  let lastLine = '';
  let latest: JobProgress | undefined;
  return {
    update(p) {
      latest = p;
      if (p.completed) return; // the summary says it
      const line = `${p.status}: ${p.pages_crawled}/${p.max_pages} pages stored, ${p.pages_discovered} found, ${p.pages_skipped} skipped`;
      const t = now();
      if (line === lastLine || t - lastAt < intervalMs) return;
      stream.write(`${line}\n`);
      lastLine = line;
      lastAt = t;
    },
    stop() {
      if (!latest) return;
      const p = latest;
      const seconds = Math.max(0.001, (now() - started) / 1000);
      const rate = p.pages_crawled / seconds;
      stream.write(
        `${p.status}: ${p.pages_crawled} pages stored, ${p.pages_skipped} skipped, ${p.pages_discovered} found in ${seconds.toFixed(1)} s` +
          ` (${rate.toFixed(rate < 10 ? 1 : 0)} pages/s)${p.error_message ? `: ${p.error_message}` : ''}\n`,
      );
    },
  };
}
