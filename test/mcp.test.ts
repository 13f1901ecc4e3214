import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { buildHttpApp } from '../src/http/app.js';
import { registerMcpRoutes } from '../src/mcp/http.js';
import { localBackend } from '../src/cli/backend.js';
import { startDocSite, type DocSite } from './helpers/doc-site.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { addPages } from './helpers/pages.js';
import { tempDir } from './helpers/tmp.js';

const READ_TOOLS = ['get_doc_page', 'job_progress', 'list_doc_pages', 'list_tags', 'search_docs'];
const ALL_TOOLS = [...READ_TOOLS, 'cancel_job', 'delete_docs', 'fetch_url'].sort();

type CallResult = { isError?: boolean; content: { type: string; text: string }[] };
const text = (r: unknown) => (r as CallResult).content[0]!.text;
const json = (r: unknown) => JSON.parse(text(r)) as Record<string, any>;

/** The same checks for every transport. */
async function exercise(client: Client, opts: { siteUrl?: string } = {}) {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ALL_TOOLS);
  const search = tools.find((t) => t.name === 'search_docs')!;
  assert.ok((search.description ?? '').length > 100, 'descriptions written for an LLM');
  assert.ok((search.inputSchema.properties as Record<string, unknown>).max_results, 'input schema');

  assert.deepEqual(json(await client.callTool({ name: 'list_tags', arguments: {} })).tags, ['kettle']);
  const pages = json(await client.callTool({ name: 'list_doc_pages', arguments: {} }));
  assert.equal(pages.doc_pages.length, 2);
  const page = json(await client.callTool({ name: 'get_doc_page', arguments: { page_id: 'retry', starting_line: 1, ending_line: 1 } }));
  assert.equal(page.text, '# Retries');
  assert.equal(page.total_lines, 3);
  const found = json(await client.callTool({ name: 'search_docs', arguments: { query: 'exponential backoff', max_results: 1 } }));
  assert.equal(found.results[0].page_id, 'retry');

  const missing = (await client.callTool({ name: 'get_doc_page', arguments: { page_id: 'nope' } })) as CallResult;
  assert.equal(missing.isError, true);
  assert.match(text(missing), /no page with id "nope"/);
  const invalid = (await client.callTool({ name: 'search_docs', arguments: { query: 'x', max_results: 500 } })) as CallResult;
  assert.equal(invalid.isError, true);
  assert.match(text(invalid), /max_results/);

  if (opts.siteUrl) {
    const progress: number[] = [];
    const done = json(await client.callTool(
      { name: 'fetch_url', arguments: { url: `${opts.siteUrl}/docs/guide/intro.html`, max_pages: 3, max_depth: 2, wait: true, tags: ['widget'] } },
      undefined,
      { onprogress: (p) => progress.push(p.progress), timeout: 60_000 },
    ));
    assert.equal(done.status, 'completed');
    assert.ok(progress.length >= 1, 'progress notifications sent');
    assert.equal(json(await client.callTool({ name: 'job_progress', arguments: { job_id: done.job_id.slice(0, 8) } })).status, 'completed');
    const del = json(await client.callTool({ name: 'delete_docs', arguments: { tags: ['widget'] } }));
    assert.equal(del.deleted_pages, done.pages_crawled);
  }
}

describe('MCP over HTTP', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let base = '';
  let site: DocSite;
  before(async () => {
    site = await startDocSite({ delayMs: 50 });
    ctx = await makeContext({ config: { render: 'never' } });
    await addPages(ctx, [
      { id: 'retry', title: 'Retries', markdown: '# Retries\n\nFailed tasks are retried with exponential backoff.', tags: ['kettle'] },
      { id: 'install', title: 'Install', markdown: '# Install\n\npip install kettle', tags: ['kettle'] },
    ]);
    app = await buildHttpApp(ctx, {});
    await registerMcpRoutes(app, localBackend(ctx));
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  after(async () => {
    await app.close();
    await ctx.close();
    await site.close();
  });

  it('Streamable HTTP at /mcp', async () => {
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)) as Transport);
    try {
      await exercise(client, { siteUrl: site.url });
    } finally {
      await client.close();
    }
  });

  it('the older SSE transport at the same /mcp URL', async () => {
    const client = new Client({ name: 'test-sse', version: '1' });
    await client.connect(new SSEClientTransport(new URL(`${base}/mcp`)));
    try {
      await exercise(client);
    } finally {
      await client.close();
    }
  });

  it('read-only hides the write tools', async () => {
    const ro = await buildHttpApp(ctx, { readOnly: true });
    await registerMcpRoutes(ro, localBackend(ctx), { readOnly: true });
    await ro.listen({ host: '127.0.0.1', port: 0 });
    const client = new Client({ name: 'ro', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${(ro.server.address() as { port: number }).port}/mcp`)) as Transport);
    try {
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), READ_TOOLS);
    } finally {
      await client.close();
      await ro.close();
    }
  });

  it('a token protects /mcp too', async () => {
    const secured = await buildHttpApp(ctx, { apiToken: 'mcp-secret-token' });
    await registerMcpRoutes(secured, localBackend(ctx));
    await secured.listen({ host: '127.0.0.1', port: 0 });
    const url = new URL(`http://127.0.0.1:${(secured.server.address() as { port: number }).port}/mcp`);
    try {
      await assert.rejects(new Client({ name: 'x', version: '1' }).connect(new StreamableHTTPClientTransport(url) as Transport));
      const client = new Client({ name: 'y', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: 'Bearer mcp-secret-token' } } }) as Transport);
      assert.ok((await client.listTools()).tools.length > 0);
      await client.close();
    } finally {
      await secured.close();
    }
  });
});

describe('MCP over stdio (doctor mcp)', () => {
  it('serves the tools from the database when no server runs', async () => {
    const dir = tempDir();
    const seed = await makeContext({ dbPath: join(dir, 'doctor.duckdb'), runner: false, embedder: new (await import('../src/ingest/embedders/lexical.js')).LexicalEmbedder() });
    await addPages(seed, [
      { id: 'retry', title: 'Retries', markdown: '# Retries\n\nFailed tasks are retried with exponential backoff.', tags: ['kettle'] },
      { id: 'install', title: 'Install', markdown: '# Install\n\npip install kettle', tags: ['kettle'] },
    ]);
    await seed.close();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', 'tsx', 'src/cli/main.ts', '--data-dir', dir, 'mcp'],
      env: { ...process.env, DOCTOR_LOG_LEVEL: 'warn', DOCTOR_ALLOW_HOSTS: '127.0.0.1' } as Record<string, string>,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'stdio', version: '1' });
    await client.connect(transport);
    try {
      await exercise(client);
    } finally {
      await client.close();
    }
  });
});
