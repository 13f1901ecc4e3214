/** Describes the machine a benchmark ran on, for the committed Markdown results. */
import { cpus, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';

export function machineDescription(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  let duckdb = 'unknown';
  try {
    duckdb = JSON.parse(readFileSync(new URL('../node_modules/@duckdb/node-api/package.json', import.meta.url), 'utf8')).version;
  } catch {
    /* not installed */
  }
  return [
    `- Date: ${new Date().toISOString().slice(0, 10)}`,
    `- Machine: ${cpus().length} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${process.platform}/${process.arch}`,
    `- Node ${process.version}, @duckdb/node-api ${duckdb}`,
  ].join('\n');
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function median(xs: number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 50);
}
