/**
 * Indexing a local source (a directory tree, an archive, or one file) into the same tables as a crawl,
 * through the same page writer (src/ingest/page-writer.ts).
 *
 * A source is known by its real path: every page of it has the same root_page_id (derived from that path),
 * which is the id of its root page (index.md, README.md, index.html... at the top, else the first file), so
 * it shows as a site and can be deleted as one. Running it again compares with the pages stored under that
 * root: the pages of files that are gone (or now ignored) are deleted first, files whose text is unchanged
 * are not written at all, changed and new files are stored (and embedded) again. A file that cannot be read
 * this time keeps its stored page. A file that cannot be embedded is skipped with the reason; when the
 * embeddings API keeps failing, the run stops as a crawl does (../embed-failures.ts), keeping the files stored.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { posix } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Embedder } from '../../embed/embedder.js';
import type { Logger } from '../../log.js';
import type { PageRecord, PageSummary } from '../../store/pages.js';
import type { Store } from '../../store/store.js';
import { GroupWriter } from '../group-writer.js';
import { EmbedFailureStreak } from '../embed-failures.js';
import { writePage } from '../page-writer.js';
import { chunkWorkFor } from '../process-page.js';
import type { ReadResult } from './read-worker.js';
import { archiveKind, readArchive, type ArchiveLimits } from './archive.js';
import { LocalFileReader } from './file-reader.js';
import { formatOf, UnreadableFile, type LocalFormat } from './formats.js';
import { mib, SkipLog, type LocalFile, type TreeListing } from './tree.js';
import { walkDirectory } from './walk.js';

export interface LocalIndexHost {
  store: Store;
  embedder: Embedder;
  log: Logger;
  chunking: { maxChars: number; overlap: number };
}

/** Progress as export/import report it (step, done, total), with the counts so far. */
export interface LocalProgress {
  step: string;
  done: number;
  total: number;
  unit: 'files';
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
  skipped: number;
}

export interface LocalIndexOptions {
  /** The real (symlink-free) absolute path of the directory, archive or file. */
  path: string;
  tags: readonly string[];
  /** Page URLs under this URL instead of file:// URLs. */
  baseUrl?: string;
  exclude: readonly string[];
  limits: Omit<ArchiveLimits, 'unsupported'>;
  /** Files read and stored at the same time. */
  concurrency?: number;
  onProgress?: (p: LocalProgress) => void;
  signal?: AbortSignal;
  /** Longest time one file may take to read (default READ_DEADLINE_MS, ./file-reader.ts). */
  readDeadlineMs?: number;
}

export interface LocalIndexSummary {
  source: string;
  kind: 'directory' | 'archive' | 'file';
  /** Where the pages' URLs start. */
  url: string;
  root_page_id: string;
  tags: string[];
  files: number;
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
  skipped: number;
  skipped_by_reason: Record<string, number>;
  /** The first 1,000 skipped paths with their reasons. */
  skipped_files: { path: string; reason: string }[];
  seconds: number;
}

/** Files whose page becomes the source's root page, in order of preference (top level only). */
const ROOT_NAMES = ['index.md', 'index.mdx', 'readme.md', 'index.html', 'index.htm', 'index.rst', 'readme.rst', 'index.adoc', 'readme.adoc', 'readme.txt'];

/** The root page id of a source: the same for the same real path, whatever the base URL. */
export function sourceRootId(realPath: string): string {
  const h = createHash('sha256').update(`doctor-local-source\0${realPath}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const encodePath = (rel: string) => rel.split('/').map(encodeURIComponent).join('/');

/** Where the page of `rel` lives: under the base URL, or the file's own file:// URL (inside an archive: below it). */
export function pageUrlOf(kind: LocalIndexSummary['kind'], path: string, rel: string, baseUrl: string | undefined): string {
  if (baseUrl) return new URL(encodePath(rel), baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).href;
  if (kind === 'file') return pathToFileURL(path).href;
  const root = pathToFileURL(path).href.replace(/\/$/, '');
  return `${root}/${encodePath(rel)}`;
}

export async function indexLocalSource(host: LocalIndexHost, opts: LocalIndexOptions): Promise<LocalIndexSummary> {
  const started = performance.now();
  const { store, log } = host;
  const st = await stat(opts.path);
  const kind: LocalIndexSummary['kind'] = st.isDirectory() ? 'directory' : archiveKind(opts.path) ? 'archive' : 'file';
  const rootId = sourceRootId(opts.path);
  const counts = { added: 0, updated: 0, unchanged: 0, removed: 0, skipped: 0 };
  const report = (step: string, done: number, total: number) => opts.onProgress?.({ step, done, total, unit: 'files', ...counts });
  const unsupported = (rel: string) => (formatOf(rel) ? undefined : `unsupported file type (${posix.extname(rel) || 'no extension'})`);
  const limits = { ...opts.limits, unsupported };

  report(`listing ${kind === 'archive' ? 'the archive' : 'files'}`, 0, 0);
  let listing: TreeListing;
  if (kind === 'directory') listing = await walkDirectory(opts.path, opts.exclude, limits, opts.signal);
  else if (kind === 'archive') listing = await readArchive(opts.path, opts.exclude, limits, opts.signal);
  else listing = singleFile(opts.path, st.size, limits);
  const { files, skipped } = listing;
  counts.skipped = skipped.total;

  const urls = new Map(files.map((f) => [f.rel, pageUrlOf(kind, opts.path, f.rel, opts.baseUrl)]));
  const stored = new Map<string, PageSummary>();
  for (const p of await store.pages.underRoot(rootId)) stored.set(p.url, p);
  // A page another source (or a crawl) already holds stays with it: this source adds its tags and keeps the
  // text current, but does not take it over (two overlapping sources, a directory and then its parent, took
  // each other's pages and tags in turn, and the shared root page was deleted and re-created under a new id).
  const heldElsewhere = async (file: LocalFile) => {
    const p = await store.pages.getByUrl(urls.get(file.rel)!);
    return !!p && p.id !== rootId && !!p.root_page_id && p.root_page_id !== rootId;
  };
  // The root page: the file that already is, if it is still there; else the preferred name; else the first
  // file; not one held by another source.
  const wanted = new Set(urls.values());
  const currentRoot = [...stored.values()].find((p) => p.id === rootId && wanted.has(p.url));
  let rootFile: LocalFile | undefined = currentRoot && files.find((f) => urls.get(f.rel) === currentRoot.url);
  // "at the top": of the tree, or of the one directory every file is in (an archive usually wraps its
  // files in one, libfoo-2.1/index.html: its first file, whatever it was, was the root)
  const first = files[0]?.rel.split('/')[0];
  const top = first !== undefined && files.every((f) => f.rel.startsWith(`${first}/`)) ? `${first}/` : '';
  const atTop = (f: LocalFile, name: string) =>
    f.rel.startsWith(top) && !f.rel.slice(top.length).includes('/') && f.rel.slice(top.length).toLowerCase() === name;
  for (const candidate of [...ROOT_NAMES.map((n) => files.find((f) => atTop(f, n))), files[0]]) {
    if (rootFile) break;
    if (candidate && !(await heldElsewhere(candidate))) rootFile = candidate;
  }

  // Pages of files that are gone (deleted, now ignored or excluded, or a base URL that changed).
  const gone = [...stored.values()].filter((p) => !wanted.has(p.url)).map((p) => p.id);
  if (gone.length) {
    report(`removing ${gone.length} page(s) of files no longer there`, 0, gone.length);
    counts.removed = (await store.pages.delete({ ids: gone })).pages;
  }

  const writer = new GroupWriter(store.db);
  // Files are read in worker threads with a deadline and a heap limit (./file-reader.ts), not on this thread.
  const reader = new LocalFileReader({ work: chunkWorkFor(host.embedder, host.chunking), deadlineMs: opts.readDeadlineMs });
  // Files in a row that failed to embed: too many stop the run. On the first error that ends it, `halt` stops
  // the files in flight (their embedding requests too) and no further file starts.
  const embedFailures = new EmbedFailureStreak(host.embedder, {
    run: `indexing ${opts.path}`,
    items: 'files',
    again: `add ${opts.path} again: the files stored so far are kept and not embedded again`,
  });
  const halt = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, halt.signal]) : halt.signal;
  const total = files.length;
  let done = 0;
  const step = `indexing ${kind === 'archive' ? basename(opts.path) : kind === 'file' ? basename(opts.path) : 'files'}`;
  report(step, 0, total);
  const one = async (file: LocalFile): Promise<'added' | 'updated' | 'unchanged' | 'skipped'> => {
    const url = urls.get(file.rel)!;
    const format = formatOf(file.rel) as LocalFormat;
    const isRoot = file === rootFile;
    let existing: PageRecord | undefined = await store.pages.getByUrl(url);
    const elsewhere = !isRoot && !!existing && existing.id !== rootId && !!existing.root_page_id && existing.root_page_id !== rootId;
    const tags = elsewhere ? [...new Set([...existing!.tags, ...opts.tags])] : opts.tags;
    let id = isRoot ? rootId : existing?.id ?? randomUUID();
    if (isRoot && existing && existing.id !== rootId) {
      // This file becomes the root: its page moves to the root id.
      await store.pages.delete({ ids: [existing.id] });
      existing = undefined;
    } else if (!isRoot && existing?.id === rootId) {
      id = randomUUID(); // cannot happen while the root file is chosen as above; kept safe anyway
      existing = undefined;
    }
    let read: ReadResult;
    try {
      const stored = existing?.id === id ? { hash: existing.content_hash, title: existing.title } : undefined;
      read = await reader.read(format, await file.read(), url, posix.basename(file.rel).replace(/\.[^.]+$/, ''), stored, signal);
    } catch (e) {
      if (signal.aborted) throw e;
      if (!(e instanceof UnreadableFile)) log.warn({ file: file.rel, err: (e as Error).message }, 'could not read a local file');
      skipped.add(file.rel, (e as Error).message);
      return 'skipped';
    }
    const { page, hash } = read;
    if (!page.markdown.trim()) {
      skipped.add(file.rel, 'no text content');
      return 'skipped';
    }
    if (
      existing &&
      existing.id === id &&
      existing.content_hash === hash &&
      existing.title === page.title &&
      (elsewhere || existing.root_page_id === rootId) &&
      opts.tags.every((t) => existing!.tags.includes(t))
    ) {
      return 'unchanged';
    }
    let embedFailed = false;
    try {
      await writePage(
        { store, embedder: host.embedder, writer, chunking: host.chunking },
        {
          id,
          url,
          page,
          hash,
          chunks: read.chunked?.chunks,
          vectors: read.chunked?.vectors,
          terms: read.chunked?.terms,
          existing,
          tags,
          job_id: elsewhere ? existing!.job_id : null,
          parent_page_id: elsewhere ? existing!.parent_page_id : isRoot ? null : rootId,
          root_page_id: elsewhere ? existing!.root_page_id! : rootId,
          depth: elsewhere ? existing!.depth : isRoot ? 0 : file.rel.split('/').length,
          signal,
          onEmbed: (outcome) => {
            if (outcome.ok) embedFailures.succeeded();
            else embedFailed = true;
          },
        },
      );
    } catch (e) {
      if (!embedFailed || signal.aborted) throw e; // not the embedder's failure, or stopping anyway
      const fatal = embedFailures.failed(e);
      if (fatal) throw fatal;
      const reason = (e as Error).message;
      log.warn({ file: file.rel, err: reason }, 'could not embed a local file; skipped');
      skipped.add(file.rel, `could not be embedded (${reason})`);
      return 'skipped';
    }
    return existing ? 'updated' : 'added';
  };
  const run = async (file: LocalFile) => {
    signal.throwIfAborted();
    let outcome;
    try {
      outcome = await one(file);
    } catch (e) {
      if (!signal.aborted) halt.abort(e);
      throw signal.reason;
    }
    // counted with `done` in one step: counted inside one(), a file of another lane finishing in between
    // showed in the counts before it showed in `done` (411/1027 files, 412 added)
    counts[outcome]++;
    report(step, ++done, total);
    return outcome;
  };
  // The root page first (the others name it as their root and parent), then the rest a few at a time, so
  // that embedding one file overlaps with reading the next and commits are grouped. A root file that gives
  // no page (binary, no text, unreadable) hands its part to the next file: else no page had the source's
  // root id (its site showed as "root page deleted", and the summary named a page that did not exist). A
  // root page stored by an earlier run is kept when its file cannot be read this time, so it stays the root.
  try {
    const tried = new Set<LocalFile>();
    let cursor = 0;
    while (rootFile) {
      tried.add(rootFile);
      if ((await run(rootFile)) !== 'skipped' || currentRoot) break;
      rootFile = undefined;
      while (!rootFile && cursor < files.length) {
        const f = files[cursor++]!;
        if (!tried.has(f) && !(await heldElsewhere(f))) rootFile = f;
      }
    }
    const rest = files.filter((f) => !tried.has(f));
    let next = 0;
    const lane = async () => {
      while (next < rest.length) await run(rest[next++]!);
    };
    // every lane ends before the run does (a failed one stops the others): nothing goes on after it returns
    const lanes = await Promise.allSettled(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, lane));
    // a cancel that came once every file was done changes nothing: the summary is true
    if (lanes.some((l) => l.status === 'rejected')) throw signal.reason;
  } finally {
    await reader.close();
  }
  const summary: LocalIndexSummary = {
    source: opts.path,
    kind,
    url: opts.baseUrl ?? (kind === 'file' ? pathToFileURL(dirname(opts.path)).href : pathToFileURL(opts.path).href),
    root_page_id: rootId,
    tags: [...opts.tags],
    files: total,
    ...counts,
    skipped_by_reason: Object.fromEntries(skipped.byReason),
    skipped_files: skipped.examples,
    seconds: (performance.now() - started) / 1000,
  };
  log.info({ source: opts.path, files: total, ...counts }, 'indexed a local source');
  return summary;
}

function singleFile(path: string, size: number, limits: Omit<ArchiveLimits, 'unsupported'> & { unsupported(rel: string): string | undefined }): TreeListing {
  const skipped = new SkipLog();
  const rel = basename(path);
  const why = limits.unsupported(rel) ?? (size > limits.maxFileBytes ? `larger than ${mib(limits.maxFileBytes)}` : undefined);
  if (why) {
    skipped.add(rel, why);
    return { files: [], skipped };
  }
  return { files: [{ rel, size, read: () => readFile(path) }], skipped };
}
