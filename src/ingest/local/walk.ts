/**
 * Walking a directory tree: .gitignore files and --exclude patterns honoured (ignored directories are not
 * entered), hidden entries left out, files over the size limit skipped. A symbolic link to a file is
 * followed only when it resolves (realpath) to a file inside the tree; a link out of the tree, a broken link
 * and a link to a directory (whose target, inside the tree, is walked under its own path: no loops, no
 * double walks) are skipped with their reason.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isInside } from './inside.js';
import { ValidationError } from '../../store/validation.js';
import { IgnoreRules } from './ignore-rules.js';
import { mib, SkipLog, tooManyFiles, type LocalFile, type TreeLimits, type TreeListing } from './tree.js';

export async function walkDirectory(root: string, excludes: readonly string[], limits: TreeLimits, signal?: AbortSignal): Promise<TreeListing> {
  const realRoot = await realpath(root);
  const rules = new IgnoreRules(excludes);
  const files: LocalFile[] = [];
  const skipped = new SkipLog();
  // Directories to walk: their path relative to the root and where they really are.
  const stack: { rel: string; real: string }[] = [{ rel: '', real: realRoot }];
  while (stack.length) {
    signal?.throwIfAborted();
    const dir = stack.pop()!;
    const gitignore = await readFile(join(dir.real, '.gitignore'), 'utf8').catch(() => undefined);
    if (gitignore !== undefined) rules.addGitignore(dir.rel, gitignore);
    let entries: (Dirent<Buffer> & { text: string })[] = [];
    try {
      // Names as bytes: one that is not UTF-8 read as a string would name another file (its bytes replaced).
      for (const entry of await readdir(dir.real, { withFileTypes: true, encoding: 'buffer' })) {
        const text = utf8Name(entry.name);
        if (text !== undefined) entries.push(Object.assign(entry, { text }));
        else skipped.add(join(dir.rel, entry.name.toString('utf8')), 'its name is not valid UTF-8 (rename it to index it)');
      }
      entries = entries.sort((a, b) => (a.text < b.text ? 1 : -1));
    } catch (e) {
      if (dir.rel === '') throw e;
      // A directory this process may not read is skipped; the rest of the tree is still indexed.
      skipped.add(`${dir.rel}/`, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      continue;
    }
    for (const entry of entries) rules.sawFile(dir.rel, entry.text);
    for (const entry of entries) {
      const rel = dir.rel ? `${dir.rel}/${entry.text}` : entry.text;
      let path = join(dir.real, entry.text);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        let target: string;
        try {
          target = await realpath(path);
        } catch {
          skipped.add(rel, 'broken symbolic link');
          continue;
        }
        if (!isInside(realRoot, target)) {
          skipped.add(rel, 'symbolic link pointing outside the tree');
          continue;
        }
        const st = await stat(target);
        if (st.isDirectory()) {
          // Its target is in the tree and is walked under its own path (following it would index it twice,
          // or loop).
          skipped.add(rel, 'symbolic link to a directory in the tree (walked under its own path)');
          continue;
        }
        path = target;
        isDir = false;
        isFile = st.isFile();
      }
      const leftOut = rules.reason(rel, isDir);
      if (leftOut) {
        // .gitignore files themselves are read above, not reported
        if (entry.text !== '.gitignore') skipped.add(isDir ? `${rel}/` : rel, isDir ? `${leftOut} (directory)` : leftOut);
        continue;
      }
      if (isDir) {
        stack.push({ rel, real: path });
        continue;
      }
      if (!isFile) {
        skipped.add(rel, 'not a regular file');
        continue;
      }
      const unsupported = limits.unsupported(rel);
      if (unsupported) {
        skipped.add(rel, unsupported);
        continue;
      }
      const { size } = await lstat(path);
      if (size > limits.maxFileBytes) {
        skipped.add(rel, `larger than ${mib(limits.maxFileBytes)}`);
        continue;
      }
      if (files.length >= limits.maxFiles) throw new ValidationError(tooManyFiles(root, limits.maxFiles));
      const file = path;
      files.push({ rel, size, read: () => readFile(file) });
    }
  }
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { files, skipped };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A file name's bytes as text, or undefined when they are not UTF-8. */
function utf8Name(bytes: Buffer): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}
