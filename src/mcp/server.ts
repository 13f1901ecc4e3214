/**
 * The MCP server: Doctor's operations as tools for LLM agents. Tools call the same operations as REST and
 * the CLI (in this process, or on the running server for `doctor mcp`). Input schemas are the service's
 * zod schemas (src/service/inputs.ts) with a description on every field; errors come back as tool results
 * with isError and a readable message, so the model can correct its call.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { z } from 'zod';
import * as inputs from '../service/inputs.js';
import type { JobProgress } from '../service/jobs.js';
import { packageVersion } from '../version.js';
import { MAX_FULL_TEXT_CHARS } from '../search/search-docs.js';
import { AROUND_MAX_LINES } from '../service/page-window.js';
import { ValidationError } from '../service/errors.js';
import { guardToolCalls, type RequiredInputs, type ToolInputChecks } from './limits.js';
import { mcpOperations, type McpTarget, type WatchJob } from './operations.js';

export interface McpOptions {
  /** Hide the write tools (fetch_url, cancel_job, delete_docs). */
  readOnly?: boolean;
  /**
   * fetch_url with wait=true re-reads the job this often (ms) to send progress notifications; it also
   * wakes at once on the job runner's progress events when the runner lives in this process. Default 500.
   */
  progressIntervalMs?: number;
  /** Overrides how job progress events are received (default: the context's job runner, if any). */
  watchJob?: WatchJob;
  /**
   * Aborted when the server stops: a fetch_url waiting for its crawl answers at once (the crawl resumes when the
   * server starts again), while its client can still receive the answer.
   */
  stopping?: AbortSignal;
  /** Told of each fetch_url that waits for its crawl, with the promise of its answer (the server waits for them as it stops). */
  onWait?: (answered: Promise<unknown>) => void;
}

/** The tools a read-only server hides. */
export const WRITE_TOOLS = ['fetch_url', 'cancel_job', 'delete_docs', 'add_local'] as const;

const result = (value: object): CallToolResult => ({
  content: [{ type: 'text', text: JSON.stringify(value, null, 2) }],
  structuredContent: value as Record<string, unknown>,
});

/** The same field schemas with a description each; every field must be described (a new field fails tsc). */
function described<S extends Record<string, z.ZodType>>(shape: S, descriptions: { [K in keyof S]: string }): S {
  const out = { ...shape };
  for (const key of Object.keys(descriptions) as (keyof S)[]) out[key] = shape[key]!.describe(descriptions[key]) as S[keyof S];
  return out;
}

const TAGS_FILTER =
  'Only pages carrying at least one of these tags (a tag names a documentation set, e.g. "react"; see list_tags). ' +
  'A list of strings, or one string with commas between tags. Omit to use every page.';

const searchDocsShape = described(inputs.searchDocsInput.shape, {
  query:
    'What to look for: a question in plain words, or exact identifiers (function, class or option names, CLI flags, error messages). At most 2,000 characters.',
  tags: TAGS_FILTER,
  max_results: 'How many pages to return, 1-100 (default 10). Each page appears once, with its best-matching passage.',
  return_full_document_text:
    "true: chunk_text holds each page's whole text instead of its best passage (can be very long; to read one page prefer get_doc_page). " +
    `One answer carries at most ${MAX_FULL_TEXT_CHARS.toLocaleString('en-US')} characters of page text: pages past that are cut or keep their best passage (truncated: true). Default false.`,
  mode:
    'hybrid (default): meaning and exact words combined; vector: meaning only (score = cosine similarity, 0-1); keyword: exact words only (BM25).',
});

const getDocPageShape = described(inputs.getDocPageInput.shape, {
  page_id: 'The page to read: a page_id from search_docs or list_doc_pages.',
  url: 'Instead of page_id: the URL of a stored page (as search_docs or list_doc_pages give it). Only pages already indexed can be read; fetch_url indexes others.',
  starting_line: 'First line to return, 1-based (default 1); at most total_lines.',
  ending_line: 'Last line to return, inclusive; -1 (default) or a line past the end reads to the end of the page.',
  chunk_id:
    "Read around a passage: a chunk_id search_docs gave with this page_id. The answer is the passage's section (from its heading to the next heading of the same level, " +
    `at most ${AROUND_MAX_LINES} lines); starting_line and ending_line are then ignored, and the answer's starting_line and ending_line say which lines it holds.`,
});

const listDocPagesShape = described(inputs.listDocPagesInput.shape, {
  page: 'Which page of the listing, 1-based (default 1); each holds 100 entries and the answer gives listing_pages.',
  tags: TAGS_FILTER,
});

const listTagsShape = described(inputs.listTagsInput.shape, {
  search_substring: 'Only tags containing this text (small typos are tolerated). Omit to list every tag.',
});

const jobIdShape = described(inputs.jobProgressInput.shape, {
  job_id: 'The job_id that fetch_url returned (the full id or its first 8+ characters).',
});

const fetchUrlShape = {
  ...described(inputs.fetchUrlInput.shape, {
    url: "Where to start: an http(s) URL, usually the documentation's home page or the index page of one section.",
    tags:
      'Tags stored on every page of this crawl, naming the documentation set (e.g. ["react"] or "react,v19") so searches can filter on them. A list, or one string with commas.',
    max_pages: 'Most pages to index, 1-1000 (default 100).',
    max_depth: 'Most link hops from the start page, 0-20 (default 3).',
    scope:
      "Which links to follow: prefix (default) = same host, under the start URL's directory; host = anywhere on the same host; domain = any host of the same registrable domain.",
    include: 'Only crawl URLs matching at least one of these patterns: globs with * (e.g. "*/api/*") or /regular expressions/.',
    exclude: 'Never crawl URLs matching one of these patterns: globs with * or /regular expressions/.',
    render:
      'Run JavaScript in a headless browser before extracting: auto (server default) = only for pages that look empty without it; never; always (slow).',
    respect_robots: "Obey the site's robots.txt and its pages' <meta name=\"robots\"> noindex / nofollow (server default: true).",
  }),
  wait: z
    .boolean()
    .optional()
    .describe(
      'false (default): return the job_id at once; poll job_progress. true: return when the crawl has finished, with its final progress; ' +
        'progress notifications are sent meanwhile when the request carries a progress token. If the call times out, the crawl goes on: poll job_progress.',
    ),
};

const deleteDocsShape = described(inputs.deleteDocsInput.shape, {
  tags: 'Delete every page carrying at least one of these tags (a list, or one string with commas).',
  domain: 'Delete every page from this host, e.g. "docs.example.com".',
  page_ids: 'Delete these pages (page_id values from search_docs or list_doc_pages).',
  root_page_id: 'Delete a whole site: every page whose root_page_id (from list_doc_pages) is this.',
});

const addLocalShape = described(inputs.addLocalInput.shape, {
  path:
    'The directory, archive (.zip, .tar, .tar.gz) or file to index, as an absolute path or a file:// URL on the machine running Doctor. ' +
    'It must be below a directory the server allows (--allow-local / DOCTOR_ALLOW_LOCAL); other paths are refused.',
  tags: 'Tags stored on every page of this source (e.g. ["myproject"]), so searches can filter on them. A list, or one string with commas.',
  base_url: 'Where these files are published (e.g. https://docs.example.com/): page URLs become this URL + the path in the tree instead of file:// URLs.',
  exclude: 'Paths to leave out, in .gitignore syntax relative to the root (e.g. "drafts/", "*.draft.md"). A list, or one pattern.',
  max_file_bytes: 'Skip files larger than this many bytes (default 20 MiB).',
});

/** Each tool's input fields, as the SDK advertises them in tools/list and checks them. */
const TOOL_SHAPES: Readonly<Record<string, Record<string, z.ZodType>>> = {
  search_docs: searchDocsShape,
  get_doc_page: getDocPageShape,
  list_doc_pages: listDocPagesShape,
  list_tags: listTagsShape,
  job_progress: jobIdShape,
  cancel_job: jobIdShape,
  fetch_url: fetchUrlShape,
  delete_docs: deleteDocsShape,
  add_local: addLocalShape,
};

/** Inputs a tool cannot do without (no default, not optional), per tool. */
const requiredOf = (shape: Record<string, z.ZodType>) => Object.keys(shape).filter((k) => !shape[k]!.safeParse(undefined).success);
const REQUIRED_INPUTS: RequiredInputs = Object.fromEntries(Object.entries(TOOL_SHAPES).map(([name, shape]) => [name, requiredOf(shape)]));

/**
 * Each tool's arguments checked as REST and the CLI check them (parseInput: one message per field, the wrong
 * value shown, no number read into a value that holds none), before the SDK's own pass, whose zod coercion
 * would take "" or null for 0 and whose messages leave out the value. Only the tools a server registers.
 */
function inputChecks(readOnly: boolean): ToolInputChecks {
  const checks: Record<string, (args: Record<string, unknown>) => string | undefined> = {};
  for (const [name, shape] of Object.entries(TOOL_SHAPES)) {
    if (readOnly && (WRITE_TOOLS as readonly string[]).includes(name)) continue;
    const schema = z.object(shape);
    checks[name] = (args) => {
      // null for an optional field means "not given" (see absentNullFields); the SDK's own pass would refuse it
      for (const key of inputs.absentNullFields(schema, args)) delete args[key];
      try {
        inputs.parseInput(schema, args);
        return undefined;
      } catch (e) {
        // anything else is left to the SDK's own pass and the tool, which answer it as an error result
        return e instanceof ValidationError ? e.message : undefined;
      }
    };
  }
  return checks;
}

/** A new MCP server for `target`, connected to `transport`, with malformed tool calls answered as invalid params. */
export async function connectMcpServer(target: McpTarget, transport: Transport, opts: McpOptions = {}): Promise<McpServer> {
  const server = createMcpServer(target, opts);
  await server.connect(transport);
  guardToolCalls(transport, REQUIRED_INPUTS, inputChecks(opts.readOnly ?? false));
  return server;
}

export function createMcpServer(target: McpTarget, opts: McpOptions = {}): McpServer {
  const { ops, watchJob: contextWatch } = mcpOperations(target);
  const watchJob = opts.watchJob ?? contextWatch;
  const server = new McpServer(
    { name: 'doctor', version: packageVersion() },
    {
      instructions:
        'Doctor searches documentation that has been crawled and indexed. Start with search_docs; read more of a page with get_doc_page ' +
        '(in line ranges for long pages); use list_tags to learn which documentation sets exist (tags name them) and pass them as `tags` to narrow a search. ' +
        (opts.readOnly ? 'This server is read-only: it cannot crawl or delete.' : 'To index a new site, call fetch_url and poll job_progress with the job_id it returns.'),
    },
  );

  server.registerTool('search_docs', {
    title: 'Search documentation',
    description:
      'Search the indexed documentation; returns the most relevant passage of each matching page (one result per page, best first). ' +
      'Ask in natural language or with exact identifiers (function names, config keys, error messages): both are matched (hybrid meaning + keyword search). ' +
      'Use `tags` to search only some documentation sets (see list_tags). Each result has chunk_text (the passage), url, title, heading_path, page_id, tags and ' +
      'score (higher is better; compare scores only within one answer); same_text_urls, when present, lists other pages with the same passage, left out. To read around a passage, call get_doc_page with its page_id and chunk_id. ' +
      'No results means nothing indexed matches: try other words, fewer tags, or index the site with fetch_url. ' +
      '`note`, when present, says which words of the query no indexed page contains (the results then match only its other words or its meaning, and may not answer it).',
    inputSchema: searchDocsShape,
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, async (args) => result(await ops.searchDocs(args)));

  server.registerTool('get_doc_page', {
    title: 'Read a documentation page',
    description:
      "Read an indexed page's text (Markdown) by page_id (from search_docs or list_doc_pages), or by its url. The answer has text, total_lines, page_id, url, title, " +
      'and the starting_line and ending_line of the text. To read around a search result, pass its chunk_id too: you get the section holding that passage. ' +
      'Long pages: read them in parts with starting_line and ending_line (1-based, inclusive; ending_line -1 = to the end), ' +
      'e.g. lines 1-200 first, then 201-400, until total_lines. An unknown page_id, or a starting_line past total_lines, is an error.',
    inputSchema: getDocPageShape,
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, async (args) => result(await ops.getDocPage(args)));

  server.registerTool('list_doc_pages', {
    title: 'List indexed pages',
    description:
      'List the indexed pages (page_id, url, title, domain, tags, crawl_date), 100 per listing page. `page` pages through (listing_pages says how many; total_docs counts the pages); ' +
      '`tags` keeps only pages with one of those tags. Use it to browse what is indexed; to find something, search_docs is better.',
    inputSchema: listDocPagesShape,
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, async (args) => result(await ops.listDocPages(args)));

  server.registerTool('list_tags', {
    title: 'List tags',
    description:
      'List the tags in use. Tags name documentation sets (e.g. "python", "react") and are given when a site is indexed; pass them as `tags` to ' +
      'search_docs or list_doc_pages to narrow results. search_substring narrows this list and tolerates small typos.',
    inputSchema: listTagsShape,
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, async (args) => result(await ops.listTags(args)));

  server.registerTool('job_progress', {
    title: 'Crawl job progress',
    description:
      'Progress of a crawl job started with fetch_url: status (pending, running, completed, failed, cancelled), completed (true once it has ended), ' +
      'pages_crawled, pages_total, progress_percent, error_message, and skipped URLs with reasons. Poll every few seconds until completed is true; ' +
      'pages become searchable as they are crawled.',
    inputSchema: jobIdShape,
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, async (args) => result(await ops.jobProgress(args)));

  if (opts.readOnly) return server;

  server.registerTool('fetch_url', {
    title: 'Crawl and index a documentation site',
    description:
      'Crawl a documentation site from `url` and index its pages for search_docs: it follows links under the start URL (see scope), ' +
      'up to max_pages pages (1-1000, default 100) and max_depth link hops, and stores `tags` on every page so searches can filter on them. ' +
      'Returns {job_id, status, url} at once; the crawl runs in the background: poll job_progress with the job_id. ' +
      'With wait=true the call returns only when the crawl has finished (with its final progress), sending progress notifications meanwhile if the request has a progress token. ' +
      'Crawling a site again updates its pages.',
    inputSchema: fetchUrlShape,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  }, async (args, extra) => {
    const { wait, ...input } = args;
    const started = await ops.fetchUrl(input);
    if (!wait) return result(started);
    const answer = waitForCrawl(started, extra);
    opts.onWait?.(answer.catch(() => undefined));
    return answer;
  });

  async function waitForCrawl(started: Awaited<ReturnType<typeof ops.fetchUrl>>, extra: RequestHandlerExtra<ServerRequest, ServerNotification>): Promise<CallToolResult> {
    const token = extra._meta?.progressToken;
    let lastSent = -1;
    const report = async (p: JobProgress) => {
      // Progress must increase with every notification: send only when pages were crawled since the last one.
      if (token === undefined || p.pages_crawled <= lastSent) return;
      lastSent = p.pages_crawled;
      await extra.sendNotification({
        method: 'notifications/progress',
        params: {
          progressToken: token,
          progress: p.pages_crawled,
          total: p.completed ? p.pages_crawled : Math.max(p.pages_total, p.pages_crawled) || p.max_pages,
          message: `${p.status}: ${p.pages_crawled} page${p.pages_crawled === 1 ? '' : 's'} crawled`,
        },
      });
    };
    // Re-read the job on every progress event (when the runner is in this process) or every interval.
    let changed = false;
    let wake = () => {
      changed = true;
    };
    const unwatch = watchJob?.(started.job_id, () => wake()) ?? (() => {});
    const onAbort = () => wake();
    extra.signal.addEventListener('abort', onAbort);
    opts.stopping?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        if (extra.signal.aborted) return result({ ...started, note: 'stopped waiting; the crawl goes on: poll job_progress' });
        changed = false;
        const p = await ops.jobProgress({ job_id: started.job_id });
        await report(p);
        if (p.completed) return result(p);
        if (opts.stopping?.aborted) {
          return result({ ...p, note: 'the Doctor server is stopping: the crawl goes on when it starts again; poll job_progress then' });
        }
        if (changed) continue; // an event arrived while reading
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, opts.progressIntervalMs ?? 500);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = () => {
          changed = true;
        };
      }
    } finally {
      unwatch();
      extra.signal.removeEventListener('abort', onAbort);
      opts.stopping?.removeEventListener('abort', onAbort);
    }
  }

  server.registerTool('cancel_job', {
    title: 'Cancel a crawl job',
    description: 'Cancel a pending or running crawl job (started with fetch_url). Pages already indexed are kept; remove them with delete_docs. Returns the final progress.',
    inputSchema: jobIdShape,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  }, async (args) => result(await ops.cancelJob(args)));

  server.registerTool('delete_docs', {
    title: 'Delete indexed documentation',
    description:
      'Delete indexed pages (with their passages) selected by tags, domain and/or page_ids; give at least one; when several are given, a page must match all of them (e.g. tags and domain). ' +
      'Deleting by tags, domain or root_page_id first cancels the crawl jobs storing pages of it (they would store them again). ' +
        'Returns deleted_pages, deleted_chunks, the deleted page_ids and cancelled_jobs. This cannot be undone: re-index with fetch_url.',
    inputSchema: deleteDocsShape,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  }, async (args) => result(await ops.deleteDocs(args)));

  server.registerTool('add_local', {
    title: 'Index local documentation files',
    description:
      'Index a local directory tree, archive or file for search_docs: Markdown/MDX, HTML, reStructuredText, AsciiDoc, text and PDF files; ' +
      '.gitignore files and hidden, binary and oversized files are left out, and so are symbolic links leading out of the tree. ' +
      'Runs to the end and returns a summary (files added, updated, unchanged, removed, skipped with reasons); progress notifications are sent when the request has a progress token. ' +
      'Calling it again for the same path updates changed files and removes the pages of deleted ones. Only paths below the directories the server allows are accepted.',
    inputSchema: addLocalShape,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  }, async (args, extra) => {
    const token = extra._meta?.progressToken;
    let lastSent = -1;
    let sending = Promise.resolve();
    const summary = await ops.addLocal(args, {
      restricted: true,
      onProgress: (p) => {
        // Progress must increase with every notification: send only when files were done since the last one.
        if (token === undefined || p.done <= lastSent) return;
        lastSent = p.done;
        sending = sending
          .then(() =>
            extra.sendNotification({
              method: 'notifications/progress',
              params: { progressToken: token, progress: p.done, total: p.total, message: `${p.step}: ${p.done} of ${p.total} files` },
            }),
          )
          .catch(() => {});
      },
    });
    await sending;
    return result(summary);
  });
  return server;
}
