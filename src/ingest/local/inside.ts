/** Containment of real paths (symlinks resolved), for symlinks in a tree and for --allow-local. */
import { relative, sep } from 'node:path';

/** `child` is `root` or below it (both real, absolute paths). */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel));
}
