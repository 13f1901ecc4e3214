/** What a local source lists: the files to consider and what was left out, with why. */

export interface LocalFile {
  /** Path relative to the root, with `/` separators. */
  rel: string;
  size: number;
  read(): Promise<Uint8Array>;
}

export interface SkippedFile {
  path: string;
  reason: string;
}

/** Skipped paths: counted by reason, the first {@link SkipLog.KEEP} kept by name (a tree can hold millions). */
export class SkipLog {
  static readonly KEEP = 1000;
  readonly examples: SkippedFile[] = [];
  readonly byReason = new Map<string, number>();
  total = 0;

  add(path: string, reason: string): void {
    this.total++;
    const key = reason.replace(/\s*\(.*\)$/, '');
    this.byReason.set(key, (this.byReason.get(key) ?? 0) + 1);
    if (this.examples.length < SkipLog.KEEP) this.examples.push({ path, reason });
  }
}

export interface TreeListing {
  files: LocalFile[];
  skipped: SkipLog;
}

export interface TreeLimits {
  /** Files larger than this are skipped ("larger than ..."). */
  maxFileBytes: number;
  /** Most files read from one source; more is an error that says how to narrow it. */
  maxFiles: number;
  /** Whether a file name is one Doctor reads; other files are skipped with the reason this returns. */
  unsupported(rel: string): string | undefined;
}

export const mib = (n: number): string => `${(n / 2 ** 20).toFixed(n % 2 ** 20 === 0 ? 0 : 1)} MiB`;

export function tooManyFiles(what: string, max: number): string {
  return `${what} holds more than ${max.toLocaleString('en-US')} files to index: add a narrower directory, or leave parts out with --exclude.`;
}
