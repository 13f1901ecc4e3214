/** Progress of a model download on stderr: a bar on a terminal, otherwise a line per file at every 25%. */
import type { DownloadProgress } from '../embed/index.js';
import { progressView, type ProgressView } from './progress-view.js';

const mb = (n: number) => (n / 2 ** 20).toFixed(1);

export function downloadProgress(what: string, out?: NodeJS.WriteStream): ProgressView<DownloadProgress> {
  return progressView<DownloadProgress>({
    format: `downloading ${what} [{bar}] {percentage}% | {file} {done}/{size} MB`,
    value: (p) => p.loaded,
    total: (p) => p.total,
    payload: (p) => ({ file: p.file, done: mb(p.loaded), size: p.total ? mb(p.total) : '?' }),
    line: (p) => `downloading ${what}: ${p.file} ${mb(p.loaded)}${p.total ? `/${mb(p.total)}` : ''} MB`,
    key: (p) => `${p.file} ${p.total ? Math.floor((p.loaded / p.total) * 4) : 0}`,
    out,
  });
}
