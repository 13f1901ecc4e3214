/** Page operations: list, read (by lines), tags, delete. */
import { normalizeUrl } from '../ingest/fetch/url.js';
import type { DoctorContext } from './context.js';
import { stopLocalRuns } from './local.js';
import { NotFoundError, ValidationError } from './errors.js';
import {
  deleteDocsInput,
  getDocPageInput,
  listDocPagesInput,
  listTagsInput,
  parseInput,
  type DeleteDocsInput,
  type GetDocPageInput,
  type ListDocPagesInput,
  type ListTagsInput,
} from './inputs.js';

import { locateChunk, sectionAround } from './page-window.js';

export const PAGES_PER_PAGE = 100;

export interface DocPageEntry {
  page_id: string;
  domain: string | null;
  tags: string[];
  crawl_date: string;
  url: string;
  title: string | null;
  job_id: string | null;
  root_page_id: string | null;
  depth: number;
}

export async function listDocPages(ctx: DoctorContext, input: ListDocPagesInput = {}) {
  const { page, tags } = parseInput(listDocPagesInput, input);
  const { pages, total } = await ctx.store.pages.list({ tags, offset: (page - 1) * PAGES_PER_PAGE, limit: PAGES_PER_PAGE });
  const doc_pages: DocPageEntry[] = pages.map((p) => ({
    page_id: p.id,
    domain: p.domain,
    tags: p.tags,
    crawl_date: p.crawl_date.toISOString(),
    url: p.url,
    title: p.title,
    job_id: p.job_id,
    root_page_id: p.root_page_id,
    depth: p.depth,
  }));
  return {
    doc_pages,
    // the number of pages matching, as the Python service gave it (its clients page through by it)
    total_pages: total,
    total_docs: total,
    // listing pages of PAGES_PER_PAGE (at least 1)
    listing_pages: Math.max(1, Math.ceil(total / PAGES_PER_PAGE)),
    current_page: page,
    pages_per_page: PAGES_PER_PAGE,
  };
}

/**
 * A page's text, optionally a range of lines (1-based, inclusive; ending_line -1 = to the end). An ending_line past
 * the end reads to the end; a starting_line past it is refused (empty text would read as an empty page). Lines are
 * counted as the Python Doctor counted them (Python's str.splitlines, see splitLines): an empty page has 0 lines
 * (and still reads from line 1, as empty text), a final newline ends the last line instead of starting another.
 */
export async function getDocPage(ctx: DoctorContext, input: GetDocPageInput) {
  const { page_id, url, starting_line, ending_line, chunk_id } = parseInput(getDocPageInput, input);
  const page = page_id !== undefined ? await ctx.store.pages.get(page_id) : await pageAtUrl(ctx, url!);
  // operations by their REST and MCP name: the CLI words them as its commands (src/cli/run-with-backend.ts)
  if (!page && page_id !== undefined) throw new NotFoundError(`no page with id "${page_id}": list pages with list_doc_pages or search with search_docs.`);
  if (!page) throw new NotFoundError(`no stored page has the URL "${url}": index it with fetch_url, or find pages with search_docs or list_doc_pages.`);
  const lines = splitLines(page.raw_text ?? '');
  let first = starting_line;
  let last: number;
  if (chunk_id !== undefined) {
    ({ first, last } = await passageLines(ctx, page.id, chunk_id, lines));
  } else {
    if (starting_line > Math.max(1, lines.length)) throw new ValidationError(pastTheEnd(starting_line, lines.length));
    last = Math.max(starting_line - 1, ending_line === -1 ? lines.length : Math.min(ending_line, lines.length));
  }
  return {
    text: lines.slice(first - 1, last).join('\n'),
    total_lines: lines.length,
    page_id: page.id,
    url: page.url,
    title: page.title,
    // the lines `text` holds (1-based, inclusive; ending_line < starting_line when it holds none)
    starting_line: first,
    ending_line: last,
  };
}

/** The stored page at `url`: as written, else as the crawler writes URLs (no fragment, one form of escapes). */
async function pageAtUrl(ctx: DoctorContext, url: string) {
  const exact = await ctx.store.pages.getByUrl(url.trim());
  if (exact) return exact;
  const normal = normalizeUrl(url);
  return normal && normal !== url.trim() ? ctx.store.pages.getByUrl(normal) : undefined;
}

/** The 1-based line range of the section holding passage `chunkId` of page `pageId` (see page-window.ts). */
async function passageLines(ctx: DoctorContext, pageId: string, chunkId: string, lines: readonly string[]): Promise<{ first: number; last: number }> {
  const chunk = (await ctx.store.chunks.payloads([chunkId])).get(chunkId);
  if (!chunk) {
    throw new NotFoundError(`no passage with chunk_id "${chunkId}" (its page may have been crawled again since): search again with search_docs, or read the page by line ranges.`);
  }
  if (chunk.page_id !== pageId) {
    throw new ValidationError(`chunk_id "${chunkId}" is a passage of ${chunk.page_id ? `page "${chunk.page_id}"` : 'no page'}, not of page "${pageId}": pass the page_id search_docs gave with it.`);
  }
  const span = locateChunk(lines, chunk.text);
  if (!span) {
    throw new NotFoundError(`the page no longer holds passage "${chunkId}" (it was crawled again): search again with search_docs, or read the page by line ranges.`);
  }
  const around = sectionAround(lines, span);
  return { first: around.start + 1, last: around.end + 1 };
}

/** The refusal of a starting_line past the last of a page's `total` lines (the CLI says --from for starting_line). */
function pastTheEnd(starting_line: number, total: number): string {
  const range = total <= 1 ? 'start at line 1' : `start at a line from 1 to ${total}`;
  const size = total === 0 ? 'is empty (0 lines)' : `has ${total} line${total === 1 ? '' : 's'}`;
  return `the page ${size}; starting_line ${starting_line} is past its end: ${range}`;
}

/** Line breaks as Python's str.splitlines knows them (\r\n is one). */
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

/**
 * A text's lines as Python's str.splitlines gives them, which the Python Doctor's get_doc_page counted and
 * returned: "" has none, and a text ending with a line break has no empty line after it ("a\n" is one line).
 * Pages from the Python Doctor's database (crawl4ai's Markdown, often ending with a newline or in \r\n lines)
 * keep their total_lines, and no line keeps a stray \r.
 */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(LINE_BREAK);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export async function listTags(ctx: DoctorContext, input: ListTagsInput = {}) {
  const { search_substring } = parseInput(listTagsInput, input);
  return { tags: await ctx.store.pages.tags(search_substring || undefined) };
}

/**
 * Deletes the selected pages with their chunks. Deleting by tags, domain or site also cancels the crawls that
 * are storing pages of it, or start from one of its pages (a re-crawl; first, and they commit what they have in
 * flight before they stop), and stops the add_local runs indexing its sites: they would store it again, and a
 * site deleted while it is crawled or indexed would come back. Deleting pages by id leaves
 * crawls alone (a crawl does not visit a page twice).
 */
export async function deleteDocs(ctx: DoctorContext, input: DeleteDocsInput) {
  const sel = parseInput(deleteDocsInput, input);
  const selector = { ids: sel.page_ids, tags: sel.tags, domain: sel.domain, rootPageId: sel.root_page_id };
  const cancelled: string[] = [];
  if (!sel.page_ids?.length) {
    for (const jobId of await ctx.store.pages.unfinishedJobsOf(selector)) {
      const why = 'cancelled: the pages it was storing were deleted (delete_docs)';
      // No job runner here: this process holds the database, so no other is running the job (see cancelJob).
      const done = ctx.jobs ? await ctx.jobs.cancel(jobId, why) : await ctx.store.jobs.cancelUnheld(jobId, `${why}; no server was running it`);
      if (done) cancelled.push(jobId);
    }
    // and `add_local` runs indexing those sites (their caller is told why they stopped)
    await stopLocalRuns(ctx, await ctx.store.pages.rootsOf(selector));
  }
  const r = await ctx.store.pages.delete(selector);
  ctx.log.info({ pages: r.pages, chunks: r.chunks, selector: sel, cancelled_jobs: cancelled }, 'deleted documents');
  return { deleted_pages: r.pages, deleted_chunks: r.chunks, page_ids: r.page_ids, cancelled_jobs: cancelled };
}
