/**
 * What a walk leaves out before reading anything: hidden files and directories (a name starting with a
 * dot: .git, .venv, .DS_Store), paths matched by a .gitignore of the tree, and paths matched by the user's
 * --exclude patterns (gitignore syntax: `drafts/`, `*.draft.md`, `/CHANGELOG.md`). Matching is done by the
 * `ignore` package, which implements the gitignore rules (git itself uses them the same way).
 *
 * Each .gitignore applies to paths below its directory. A `!pattern` re-includes only within the same
 * file (a deeper .gitignore cannot re-include what a higher one ignores, which git allows in some cases).
 *
 * Also left out: the `_sources/` directory of a Sphinx HTML build (a directory holding searchindex.js or
 * objects.inv), Sphinx's copy of every page's reStructuredText source as .txt, which would index each page twice.
 */
import ignore, { type Ignore } from 'ignore';

export type LeftOut = 'hidden' | 'ignored by .gitignore' | 'excluded by --exclude' | 'the page sources of a Sphinx build (its HTML pages are indexed)';

/** Files that mark a directory as a Sphinx HTML build. */
const SPHINX_BUILD_FILES = new Set(['searchindex.js', 'objects.inv']);

export class IgnoreRules {
  private readonly gitignores = new Map<string, Ignore>();
  private readonly excludes: Ignore;
  /** Directories (posix, relative to the root; '' for the root) that are Sphinx HTML builds. */
  private readonly sphinxBuilds = new Set<string>();

  constructor(excludes: readonly string[] = []) {
    this.excludes = ignore().add([...excludes]);
  }

  /** The rules of the .gitignore in `dir` ('' for the root; posix, relative to the root). */
  addGitignore(dir: string, text: string): void {
    this.gitignores.set(dir, ignore().add(text));
  }

  /** Notes that `dir` holds a file named `name`: a Sphinx build's marker makes its `_sources/` left out. */
  sawFile(dir: string, name: string): void {
    if (SPHINX_BUILD_FILES.has(name)) this.sphinxBuilds.add(dir);
  }

  /** Why `rel` (posix, relative to the root) is left out, or undefined when it is not. */
  reason(rel: string, isDir: boolean): LeftOut | undefined {
    const parts = rel.split('/');
    if (parts.some((s) => s.startsWith('.'))) return 'hidden';
    const sources = parts.indexOf('_sources');
    if (sources >= 0 && this.sphinxBuilds.has(parts.slice(0, sources).join('/'))) return 'the page sources of a Sphinx build (its HTML pages are indexed)';
    const path = isDir ? `${rel}/` : rel;
    if (this.excludes.ignores(path)) return 'excluded by --exclude';
    for (const [dir, rules] of this.gitignores) {
      if (dir === '') {
        if (rules.ignores(path)) return 'ignored by .gitignore';
      } else if (path.startsWith(`${dir}/`) && rules.ignores(path.slice(dir.length + 1))) return 'ignored by .gitignore';
    }
    return undefined;
  }
}
