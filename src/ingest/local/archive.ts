/**
 * Reading an archive (.zip, .tar, .tar.gz / .tgz) as a tree, in memory, without writing anything to disk.
 *
 * Guards: an entry whose name is absolute or climbs out (`..`) is skipped as unsafe, links are never
 * followed (skipped), an entry over the file size limit is skipped without being unpacked, the bytes kept
 * in memory are capped (maxArchiveBytes), and so are the entries listed and the bytes an archive may
 * unpack to in all (a zip or gzip bomb stops with an error, having stored nothing). A zip entry whose data
 * is longer than its header says fails the read (yauzl checks). Then the same .gitignore / --exclude /
 * hidden rules as for a directory apply.
 */
import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import * as yauzl from 'yauzl';
import { ValidationError } from '../../store/validation.js';
import { IgnoreRules } from './ignore-rules.js';
import { mib, SkipLog, tooManyFiles, type LocalFile, type TreeLimits, type TreeListing } from './tree.js';

export interface ArchiveLimits extends TreeLimits {
  /** Most bytes of documents held in memory from one archive. */
  maxArchiveBytes: number;
  /** Most entries an archive may list. */
  maxEntries: number;
  /** Most bytes an archive may unpack to, counting entries that are skipped. */
  maxUnpackedBytes: number;
}

export type ArchiveKind = 'zip' | 'tar';

/** The archive kind of a file name, or undefined for anything else. */
export function archiveKind(path: string): ArchiveKind | undefined {
  const name = path.toLowerCase();
  if (name.endsWith('.zip')) return 'zip';
  if (name.endsWith('.tar') || name.endsWith('.tar.gz') || name.endsWith('.tgz')) return 'tar';
  return undefined;
}

/** A safe relative path for an entry name, or undefined (absolute, a drive letter, or `..`). */
export function safeEntryPath(raw: string): string | undefined {
  const name = raw.replace(/\\/g, '/');
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) return undefined;
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) return undefined;
  return parts.join('/');
}

type RawEntry = { rel: string; size: number; data?: Buffer };

/** What the format readers hand back: regular files with their data when wanted, skips logged. */
interface Collector {
  /** Whether to keep this file's data (and room for it); false: the entry is skipped or not needed. */
  want(rel: string, size: number): boolean;
  file(entry: RawEntry): void;
  skip(path: string, reason: string): void;
  /** Counts bytes unpacked (kept or not); throws past the limit. */
  unpacked(n: number): void;
}

export async function readArchive(file: string, excludes: readonly string[], limits: ArchiveLimits, signal?: AbortSignal): Promise<TreeListing> {
  const kind = archiveKind(file);
  if (!kind) throw new ValidationError(`${file} is not an archive Doctor reads (.zip, .tar, .tar.gz, .tgz)`);
  const skipped = new SkipLog();
  const entries: RawEntry[] = [];
  let held = 0;
  let unpacked = 0;
  let listed = 0;
  const tooBig = (what: string, n: number) =>
    new ValidationError(`${file} ${what} more than ${mib(n)}: unpack it yourself and add the directory, or add a smaller archive.`);
  const rules = new IgnoreRules(excludes);
  const dirOf = (rel: string) => (posix.dirname(rel) === '.' ? '' : posix.dirname(rel));
  const collector: Collector = {
    want(rel, size) {
      signal?.throwIfAborted();
      if (++listed > limits.maxEntries) throw new ValidationError(`${file} lists more than ${limits.maxEntries.toLocaleString('en-US')} entries: unpack it and add the directory.`);
      // every name listed, also those not read (a Sphinx build's searchindex.js marks its _sources/ as left out)
      rules.sawFile(dirOf(rel), posix.basename(rel));
      const isGitignore = posix.basename(rel) === '.gitignore';
      if (!isGitignore) {
        const unsupported = limits.unsupported(rel);
        if (unsupported) return skipped.add(rel, unsupported), false;
      }
      if (size > limits.maxFileBytes) return skipped.add(rel, `larger than ${mib(limits.maxFileBytes)}`), false;
      held += size;
      if (held > limits.maxArchiveBytes) throw tooBig('holds documents of', limits.maxArchiveBytes);
      return true;
    },
    file: (e) => entries.push(e),
    skip: (path, reason) => skipped.add(path, reason),
    unpacked(n) {
      unpacked += n;
      if (unpacked > limits.maxUnpackedBytes) throw tooBig('unpacks to', limits.maxUnpackedBytes);
    },
  };
  try {
    if (kind === 'zip') await readZip(file, limits.maxFileBytes, collector);
    else await readTar(file, limits.maxFileBytes, collector);
  } catch (e) {
    if (e instanceof ValidationError || signal?.aborted) throw e;
    throw new ValidationError(`${file} could not be read as a ${kind === 'zip' ? 'zip' : 'tar'} archive: ${(e as Error).message}`);
  }

  // The .gitignore files first (each applies below its own directory), then every file through the rules.
  for (const e of entries) {
    if (posix.basename(e.rel) === '.gitignore' && e.data) rules.addGitignore(dirOf(e.rel), e.data.toString('utf8'));
  }
  const files: LocalFile[] = [];
  const seen = new Set<string>();
  for (const e of entries.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0))) {
    if (posix.basename(e.rel) === '.gitignore') continue;
    if (seen.has(e.rel)) {
      skipped.add(e.rel, 'listed twice in the archive (the first copy is used)');
      continue;
    }
    seen.add(e.rel);
    const leftOut = rules.reason(e.rel, false);
    if (leftOut) {
      skipped.add(e.rel, leftOut);
      continue;
    }
    if (files.length >= limits.maxFiles) throw new ValidationError(tooManyFiles(file, limits.maxFiles));
    const data = e.data ?? Buffer.alloc(0);
    files.push({ rel: e.rel, size: data.length, read: async () => data });
  }
  return { files, skipped };
}

/** Collects a stream into one buffer, failing past `max` bytes. */
function sink(max: number, onData: (n: number) => void, done: (data: Buffer) => void): Writable {
  const parts: Buffer[] = [];
  let size = 0;
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      try {
        onData(chunk.length);
      } catch (e) {
        return cb(e as Error);
      }
      if (size > max) return cb(new Error(`an entry unpacks to more than ${mib(max)}, more than its header says`));
      parts.push(chunk);
      cb();
    },
    final(cb) {
      done(Buffer.concat(parts));
      cb();
    },
  });
}

async function readZip(file: string, maxFileBytes: number, c: Collector): Promise<void> {
  // Names are decoded and checked here (decodeStrings: false), so that one bad name skips one entry
  // instead of failing the whole archive.
  const zip = await yauzl.openPromise(file, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false });
  try {
    for (;;) {
      const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
        const onEntry = (e: yauzl.Entry) => {
          zip.off('end', onEnd).off('error', onError);
          resolve(e);
        };
        const onEnd = () => {
          zip.off('entry', onEntry).off('error', onError);
          resolve(undefined);
        };
        const onError = (e: Error) => {
          zip.off('entry', onEntry).off('end', onEnd);
          reject(e);
        };
        zip.once('entry', onEntry).once('end', onEnd).once('error', onError);
        zip.readEntry();
      });
      if (!entry) return;
      const rawName = Buffer.isBuffer(entry.fileName) ? entry.fileName : entry.fileNameRaw;
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, rawName, entry.extraFields ?? [], false);
      if (name.endsWith('/')) continue; // a directory
      const rel = safeEntryPath(name);
      if (!rel) {
        c.skip(name, 'unsafe path in the archive (absolute or outside it)');
        continue;
      }
      const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
      if (mode === 0o120000) {
        c.skip(rel, 'link in the archive (not followed)');
        continue;
      }
      if (mode !== 0 && mode !== 0o100000) {
        c.skip(rel, 'not a regular file');
        continue;
      }
      if (entry.isEncrypted()) {
        c.skip(rel, 'encrypted entry');
        continue;
      }
      if (!entry.canDecodeFileData()) {
        c.skip(rel, `unsupported compression method ${entry.compressionMethod}`);
        continue;
      }
      if (!c.want(rel, entry.uncompressedSize)) continue;
      const stream = await zip.openReadStreamPromise(entry);
      await pipeline(stream, sink(maxFileBytes, (n) => c.unpacked(n), (data) => c.file({ rel, size: data.length, data })));
    }
  } finally {
    zip.close();
  }
}

async function readTar(file: string, maxFileBytes: number, c: Collector): Promise<void> {
  const reads: Promise<void>[] = [];
  let failure: unknown;
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      try {
        c.unpacked(entry.size ?? 0); // tar headers give the real size: a bomb is refused before it unpacks
        const rel = safeEntryPath(entry.path);
        const type = entry.type;
        if (type === 'Directory' || rel === '') return entry.resume();
        if (!rel) {
          c.skip(entry.path, 'unsafe path in the archive (absolute or outside it)');
          return entry.resume();
        }
        if (type === 'SymbolicLink' || type === 'Link') {
          c.skip(rel, 'link in the archive (not followed)');
          return entry.resume();
        }
        if (type !== 'File' && type !== 'OldFile' && type !== 'ContiguousFile') {
          c.skip(rel, 'not a regular file');
          return entry.resume();
        }
        if (!c.want(rel, entry.size ?? 0)) return entry.resume();
        const parts: Buffer[] = [];
        entry.on('data', (b: Buffer) => parts.push(b));
        reads.push(
          new Promise<void>((resolve) =>
            entry.on('end', () => {
              const data = Buffer.concat(parts);
              c.file({ rel, size: data.length, data: data.length > maxFileBytes ? undefined : data });
              resolve();
            }),
          ),
        );
      } catch (e) {
        failure ??= e;
        entry.resume();
        parser.abort(e as Error);
      }
    },
  });
  await pipeline(createReadStream(file), parser);
  await Promise.all(reads);
  if (failure) throw failure;
}
