/**
 * The MCP server: Doctor's operations as tools for LLM agents. Tools call the same operations as REST and
 * the CLI (in this process, or on the running server for `doctor mcp`). Input schemas are the service's
 * zod schemas; errors come back as tool results with isError and a readable message, so the model can
 * correct its call.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Operations } from '../cli/backend.js';
import * as inputs from '../service/inputs.js';
import { packageVersion } from '../version.js';

export interface McpOptions {
  readOnly?: boolean;
  /** How often fetch_url with wait=true polls the job for progress notifications (ms). */
  progressIntervalMs?: number;
}

const result = (value: unknown): CallToolResult => ({
  content: [{ type: 'text', text: JSON.stringify(value, null, 2) }],
  structuredContent: value as Record<string, unknown>,
});

export function createMcpServer(ops: Operations, opts: McpOptions = {}): McpServer {
  const server = new McpServer(
    { name: 'doctor', version: packageVersion() },
    {
      instructions:
        'Doctor searches documentation that has been crawled and indexed. Start with search_docs; read more of a page with get_doc_page; ' +
        'use list_tags to learn which documentation sets exist (tags name them). To index a new site, call fetch_url and poll job_progress.',
    },
  );

  server.registerTool('search_docs', {
    title: 'Search documentation',
    description:
      'Search the indexed documentation and get the most relevant passage of each matching page (one result per page, best first). ' +
      'Use natural-language questions or exact identifiers (function names, config keys, error messages); both are matched (hybrid vector + keyword search). ' +
      'Filter with `tags` (documentation sets, see list_tags). Each result has chunk_text, url, title, heading_path, page_id and score ' +
      '(higher is better, only comparable within one query). Set return_full_document_text=true to get whole pages, or call get_doc_page with the page_id.',
    inputSchema: inputs.searchDocsInput,
  }, async (args) => result(await ops.searchDocs(args)));

  server.registerTool('get_doc_page', {
    title: 'Read a documentation page',
    description:
      "Get a page's full Markdown text by page_id (from search_docs or list_doc_pages). Long pages can be read in parts: " +
      'starting_line and ending_line are 1-based and inclusive (ending_line -1 = to the end); the answer includes total_lines.',
    inputSchema: inputs.getDocPageInput,
  }, async (args) => result(await ops.getDocPage(args)));

  server.registerTool('list_doc_pages', {
    title: 'List indexed pages',
    description: 'List indexed pages (page_id, url, title, tags, crawl_date), 100 per page, newest first; `page` pages through; `tags` filters.',
    inputSchema: inputs.listDocPagesInput,
  }, async (args) => result(await ops.listDocPages(args)));

  server.registerTool('list_tags', {
    title: 'List tags',
    description: 'List the tags that name indexed documentation sets (e.g. "python", "react"); search_substring narrows the list and tolerates small typos.',
    inputSchema: inputs.listTagsInput,
  }, async (args) => result(await ops.listTags(args)));

  server.registerTool('job_progress', {
    title: 'Crawl job progress',
    description: 'Progress of a crawl job started with fetch_url: status (pending, running, completed, failed, cancelled), pages crawled, skipped URLs with reasons. job_id may be its first 8+ characters.',
    inputSchema: inputs.jobProgressInput,
  }, async (args) => result(await ops.jobProgress(args)));

  if (!opts.readOnly) {
    server.registerTool('fetch_url', {
      title: 'Crawl and index a documentation site',
      description:
        'Start crawling a documentation site from `url` (same host and path prefix by default) and index up to max_pages pages (1-1000, default 100), ' +
        'tagged with `tags` so searches can be filtered. Returns a job_id at once; poll job_progress. With wait=true the call returns when the crawl ' +
        'finishes and sends progress notifications if you passed a progress token.',
      inputSchema: inputs.fetchUrlInput.extend({ wait: z.boolean().optional().describe('wait for the crawl to finish (default false)') }),
    }, async (args, extra) => {
      const { wait, ...input } = args;
      const started = await ops.fetchUrl(input);
      if (!wait) return result(started);
      const token = extra._meta?.progressToken;
      let last = -1;
      for (;;) {
        if (extra.signal.aborted) return result({ ...started, note: 'stopped waiting; the crawl goes on' });
        const p = await ops.jobProgress({ job_id: started.job_id });
        if (token !== undefined && p.pages_crawled !== last) {
          last = p.pages_crawled;
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: p.pages_crawled, total: p.max_pages, message: `${p.status}: ${p.pages_crawled} pages` },
          });
        }
        if (p.completed) return result(p);
        await new Promise((r) => setTimeout(r, opts.progressIntervalMs ?? 500));
      }
    });

    server.registerTool('cancel_job', {
      title: 'Cancel a crawl job',
      description: 'Cancel a pending or running crawl job; pages already stored are kept.',
      inputSchema: inputs.jobProgressInput,
    }, async (args) => result(await ops.cancelJob(args)));

    server.registerTool('delete_docs', {
      title: 'Delete documentation',
      description: 'Delete indexed pages and their chunks selected by tags, domain and/or page_ids (at least one). Returns what was deleted. Cannot be undone.',
      inputSchema: inputs.deleteDocsInput,
      annotations: { destructiveHint: true },
    }, async (args) => result(await ops.deleteDocs(args)));
  }
  return server;
}
