/**
 * The usearch index file's sidecar (`<db>.usearch.json`): what the index holds (watermark: row count and
 * largest seq), how it was built (parameters), and the file's size and SHA-1. Start-up trusts the index
 * file only when all of these agree with the table and the configuration. The checksum matters: usearch
 * crashes the whole process when asked to load a truncated file, so a file is never loaded unchecked.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { IndexParams } from './usearch-protocol.js';

/**
 * 2: with `removed`. Format 1 did not say how many removed entries the file holds, and usearch aborts the process
 * (heap corruption) loading a file in which they pass about a third: such files are rebuilt, not loaded.
 */
export const SIDECAR_FORMAT = 2;

export interface Sidecar {
  format: number;
  params: IndexParams;
  /** Vectors in the index file. */
  rows: number;
  /** Largest seq added to the index when it was saved. */
  maxSeq: number;
  /** Entries removed from the index since it was built, which the file still holds (usearch only marks them). */
  removed: number;
  bytes: number;
  sha1: string;
  savedAt: string;
}

export const indexPathOf = (dbPath: string): string => `${dbPath}.usearch`;
export const sidecarPathOf = (dbPath: string): string => `${dbPath}.usearch.json`;

export function readSidecar(path: string): Sidecar | undefined {
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as Sidecar;
    if (s.format !== SIDECAR_FORMAT || typeof s.rows !== 'number' || typeof s.removed !== 'number' || typeof s.sha1 !== 'string') return undefined;
    return s;
  } catch {
    return undefined;
  }
}

export function writeSidecar(path: string, s: Sidecar): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, JSON.stringify(s, null, 2));
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true }); // a full disk: no half-written file left behind
    throw e;
  }
}

/** SHA-1 of a file, streamed (the event loop keeps running between 64 KB reads). */
export function fileSha1(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha1');
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (b) => h.update(b))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

export function fileSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

/** Parameters fixed when an index is built; expansionSearch is a search-time setting and needs no rebuild. */
const BUILD_PARAMS = ['dimension', 'quantization', 'connectivity', 'expansionAdd'] as const;

/** What differs between the parameters a file was built with and the configured ones, e.g. "quantization f16, now bf16". */
export function buildParamsChange(built: IndexParams, configured: IndexParams): string {
  return BUILD_PARAMS.filter((k) => built[k] !== configured[k])
    .map((k) => `${k} ${built[k]}, now ${configured[k]}`)
    .join('; ');
}

export function sameBuildParams(a: IndexParams, b: IndexParams): boolean {
  return BUILD_PARAMS.every((k) => a[k] === b[k]);
}
