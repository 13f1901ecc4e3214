/**
 * The single-file form of an export: a plain (uncompressed) tar of the export directory. The Parquet files
 * inside are already zstd-compressed, so compressing the archive again would cost time and save nothing;
 * any tar tool can open it. Written and read with `tar` (node-tar); only the export's own file names are
 * packed or extracted, as regular files, never links or paths outside the target directory.
 */
import { closeSync, createReadStream, createWriteStream, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { open } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { ValidationError } from '../store/validation.js';
import { DiskFullError } from '../db/database.js';
import { EXPORT_FILES, MANIFEST_NAME } from './manifest.js';

/** Counts bytes flowing through (for progress). */
function counter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
}

/** Packs the export files of `dir` into the tar file `out`. */
export async function packExport(dir: string, out: string, onBytes: (n: number) => void = () => {}): Promise<void> {
  // portable: no owner names or ids, so archives made by different users are byte-identical.
  const pack = tar.c({ cwd: dir, portable: true }, [...EXPORT_FILES]);
  await pipeline(pack, counter(onBytes), createWriteStream(out, { flags: 'wx' }));
}

/**
 * Whether `path` is an archive an export wrote: a tar whose first entry is the manifest (packExport packs it
 * first). Reads one header only, so `--force` can tell an earlier export from any other file at that path.
 */
export function isExportArchive(path: string): boolean {
  const buf = Buffer.alloc(512);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    if (readSync(fd, buf, 0, 512, 0) < 512) return false;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const name = buf.subarray(0, 100).toString('latin1').replace(/\0.*$/s, '').replace(/^\.\//, '');
  return buf.subarray(257, 262).toString('latin1') === 'ustar' && name === MANIFEST_NAME;
}

/** The first bytes of a file. */
async function head(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Extracts an export archive into `dir` (an empty directory). Only the export's own regular files are
 * written; an archive holding anything else (other names, links, directories) is refused.
 */
export async function unpackExport(file: string, dir: string, onBytes: (n: number) => void = () => {}): Promise<void> {
  const start = await head(file, 512);
  // A tar file has the ustar magic at offset 257 of its first header.
  if (start.length < 512 || start.subarray(257, 262).toString('latin1') !== 'ustar') {
    const hint =
      start.subarray(0, 4).toString('latin1') === 'PAR1'
        ? ' It is a single Parquet file; import takes the whole export (its .tar, or its directory with manifest.json).'
        : start[0] === 0x1f && start[1] === 0x8b
          ? ' It is gzip-compressed: unpack it first (gunzip, or tar -xzf into a directory) and import the .tar or the directory.'
          : '';
    throw new ValidationError(`${file} is not a Doctor export archive (not a tar file).${hint}`);
  }
  const wanted = new Set<string>(EXPORT_FILES);
  const refused: string[] = [];
  const extract = tar.x({
    cwd: dir,
    strict: true,
    filter: (path, entry) => {
      const name = path.replace(/^\.\//, '');
      if (name === '' || name === '.') return false;
      const type = 'type' in entry ? entry.type : undefined;
      if (!wanted.has(name) || (type !== undefined && type !== 'File' && type !== 'OldFile')) {
        refused.push(path);
        return false;
      }
      // The archive's permission bits are not ours to keep: a file stored with mode 000 was written unreadable,
      // and the import then failed (as any user but root) with "EACCES: permission denied" on its own file.
      entry.mode = 0o600;
      return true;
    },
  });
  try {
    await pipeline(createReadStream(file), counter(onBytes), extract);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      // writing the unpacked files failed, not reading the archive
      throw new DiskFullError(
        `The disk holding ${dirname(dir)} is full: unpacking ${file} there (beside the database) needs about its size ` +
          `free (${(statSync(file).size / 1048576).toFixed(1)} MiB), and the import's pages room in the database after that. ` +
          'Free space on it, or unpack the archive elsewhere (tar -xf) and import that directory. The database was not changed.',
      );
    }
    throw new ValidationError(`${file} could not be read as a Doctor export archive: ${(e as Error).message}`);
  }
  if (refused.length) {
    throw new ValidationError(
      `${file} holds entries a Doctor export never has (${refused.slice(0, 5).join(', ')}${refused.length > 5 ? ', ...' : ''}): ` +
        `an export archive holds only ${EXPORT_FILES.join(', ')}. It was not made by doctor export, or it was edited.`,
    );
  }
}
