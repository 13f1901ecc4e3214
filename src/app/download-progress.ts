/**
 * Progress of a model download on stderr: a progress bar on a terminal, otherwise a line per file at
 * every 25% (logs, services, CI).
 */
import cliProgress from 'cli-progress';
import type { DownloadProgress } from '../embed/index.js';

export interface DownloadView {
  update(p: DownloadProgress): void;
  stop(): void;
}

const mb = (n: number) => (n / 2 ** 20).toFixed(1);

export function downloadProgress(what: string, out: NodeJS.WriteStream = process.stderr): DownloadView {
  if (!out.isTTY) {
    const last = new Map<string, number>();
    return {
      update(p) {
        const step = p.total ? Math.floor((p.loaded / p.total) * 4) : 0;
        if (last.get(p.file) === step) return;
        last.set(p.file, step);
        out.write(`downloading ${what}: ${p.file} ${mb(p.loaded)}${p.total ? `/${mb(p.total)}` : ''} MB\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: `downloading ${what} [{bar}] {percentage}% | {file} {done}/{size} MB`, hideCursor: true, stream: out },
    cliProgress.Presets.shades_classic,
  );
  let current = '';
  let started = false;
  return {
    update(p) {
      const payload = { file: p.file, done: mb(p.loaded), size: p.total ? mb(p.total) : '?' };
      if (!started) {
        bar.start(Math.max(1, p.total), p.loaded, payload);
        started = true;
      } else if (p.file !== current) {
        bar.setTotal(Math.max(1, p.total));
      }
      current = p.file;
      bar.update(p.loaded, payload);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
