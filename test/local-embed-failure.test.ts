/**
 * `doctor add` / add_local when the embeddings API fails: one file the API refuses is skipped with the reason
 * (in the summary), and the run goes on; when the API is down the run stops after a few files in a row, as a
 * crawl does, with a message naming the cause and what to do, keeping the files stored before (a second run
 * does not embed them again). The same over REST (NDJSON error line, 502), MCP (an error result) and the CLI.
 * Real parts: an OpenAI-compatible embeddings server on 127.0.0.1, DuckDB files, the HTTP server, the MCP client,
 * the doctor CLI as a process.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { OpenAIEmbedder } from '../src/embed/openai.js';
import { EMBED_FAILURES_TO_STOP, UNREACHABLE_EMBED_FAILURES_TO_STOP } from '../src/ingest/embed-failures.js';
import { addLocal, type LocalIndexSummary } from '../src/service/index.js';
import { buildHttpApp } from '../src/http/app.js';
import { registerMcpRoutes } from '../src/mcp/http.js';
import { localBackend } from '../src/app/backend.js';
import { makeContext } from './helpers/context.js';
import { deadEmbeddingsUrl, EMBED_DIM, startEmbeddings } from './helpers/embeddings-api.js';
import { tempDir } from './helpers/tmp.js';

const MODEL = 'test-embed';
const FILES = 30;

/** index.md and FILES - 1 more Markdown files, each with its own text; `poison` ones carry a word the API refuses. */
function makeDocs(poison: readonly string[] = []): string {
  const root = join(tempDir(), 'docs');
  mkdirSync(join(root, 'guide'), { recursive: true });
  const names = ['index.md', ...Array.from({ length: FILES - 1 }, (_, i) => `guide/topic-${i + 1}.md`)];
  for (const [i, name] of names.entries()) {
    writeFileSync(join(root, name), `# Topic ${i}\n\nHow the gadget handles case ${i * 7} of its configuration.${poison.includes(name) ? ' POISON' : ''}\n`);
  }
  return root;
}

const embedderAt = (baseUrl: string, maxRetries = 1) => new OpenAIEmbedder({ apiKey: 'k', baseUrl, model: MODEL, dimension: EMBED_DIM, maxRetries });

describe('doctor add with a failing embeddings API', () => {
  it('answering 500: stops after 5 files in a row with a message saying what to do; the files stored are kept and not embedded again', async () => {
    const docs = makeDocs();
    const api = await startEmbeddings({ okRequests: 3, failStatus: 500 });
    const ctx = await makeContext({ embedder: embedderAt(api.base), runner: false });
    try {
      await assert.rejects(addLocal(ctx, { path: docs }), (e: Error) => {
        assert.match(e.message, new RegExp(`^indexing ${docs} stopped: ${EMBED_FAILURES_TO_STOP} files in a row could not be embedded \\(openai model "${MODEL}"\\)`), e.message);
        assert.ok(e.message.includes(`the embeddings API at ${api.base} answered 500: the model server fell over after 1 retries`), e.message);
        assert.ok(e.message.includes(`(OPENAI_BASE_URL, OPENAI_API_KEY, DOCTOR_EMBEDDING_MODEL), then add ${docs} again: the files stored so far are kept`), e.message);
        return true;
      });
      // it stopped: far fewer requests than the files would need (each failed file makes 2: one retry)
      const atStop = api.requests();
      assert.ok(atStop <= 3 + 2 * (EMBED_FAILURES_TO_STOP + 4), `embedding requests: ${atStop}`);
      assert.equal(await ctx.store.pages.count(), 3, 'the files embedded before the API went down are kept');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(api.requests(), atStop, 'nothing goes on in the background once the run has ended');

      api.setOkRequests(Infinity);
      const again = await addLocal(ctx, { path: docs });
      assert.equal(again.unchanged, 3, 'the files stored before are not embedded again');
      assert.equal(again.added, FILES - 3);
      assert.equal(await ctx.store.pages.count(), FILES);
    } finally {
      await ctx.close();
      await api.close();
    }
  });

  it('unreachable: stops after 3 files in a row, naming the address', async () => {
    const docs = makeDocs();
    const base = await deadEmbeddingsUrl();
    const ctx = await makeContext({ embedder: embedderAt(base, 0), runner: false });
    try {
      await assert.rejects(addLocal(ctx, { path: docs }), (e: Error) => {
        assert.match(e.message, new RegExp(`${UNREACHABLE_EMBED_FAILURES_TO_STOP} files in a row could not be embedded`), e.message);
        assert.ok(e.message.includes(`cannot reach the embeddings API at ${base}/embeddings`), e.message);
        return true;
      });
      assert.equal(await ctx.store.pages.count(), 0);
    } finally {
      await ctx.close();
    }
  });

  it('one file the API refuses is skipped with the reason in the summary; the others are stored', async () => {
    const docs = makeDocs(['guide/topic-4.md']);
    const api = await startEmbeddings({ okRequests: Infinity, failStatus: 500 });
    const ctx = await makeContext({ embedder: embedderAt(api.base), runner: false });
    try {
      const s = await addLocal(ctx, { path: docs });
      assert.equal(s.added, FILES - 1);
      assert.equal(s.skipped, 1);
      assert.deepEqual(s.skipped_by_reason, { 'could not be embedded': 1 });
      assert.equal(s.skipped_files[0]?.path, 'guide/topic-4.md');
      assert.match(s.skipped_files[0]?.reason ?? '', /^could not be embedded \(the embeddings API at .* answered 500: the model server fell over/);
      assert.equal(await ctx.store.pages.count(), FILES - 1);
    } finally {
      await ctx.close();
      await api.close();
    }
  });
});

describe('add_local over REST and MCP with a failing embeddings API', () => {
  it('a refused file is in the result; a run that stops answers its message (REST: 502 error line, MCP: an error result); search: 502', async () => {
    const allowed = tempDir();
    const api = await startEmbeddings({ okRequests: Infinity, failStatus: 500 });
    const ctx = await makeContext({ embedder: embedderAt(api.base, 0), runner: false, config: { allowLocal: [allowed] } });
    const app = await buildHttpApp(ctx, {});
    await registerMcpRoutes(app, localBackend({ ...ctx, close: async () => {} }), {});
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const post = async (path: string) => {
      const res = await fetch(`${url}/add_local`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path }) });
      assert.equal(res.status, 200);
      return JSON.parse((await res.text()).trim().split('\n').at(-1)!) as { result?: LocalIndexSummary; error?: { status: number; detail: string } };
    };
    const client = new Client({ name: 'test', version: '1' });
    try {
      const one = join(allowed, 'one');
      mkdirSync(one);
      writeFileSync(join(one, 'index.md'), '# Index\n\nThe gadget index.\n');
      writeFileSync(join(one, 'bad.md'), '# Bad\n\nPOISON\n');
      const { result } = await post(one);
      assert.equal(result?.added, 1);
      assert.match(result?.skipped_files.find((f) => f.path === 'bad.md')?.reason ?? '', /^could not be embedded \(.*answered 500/);

      api.setOkRequests(0); // the API is down
      const down = join(allowed, 'down');
      mkdirSync(down);
      for (let i = 0; i < 12; i++) writeFileSync(join(down, `page-${i}.md`), `# Page ${i}\n\nText ${i}.\n`);
      const { error } = await post(down);
      assert.equal(error?.status, 502, JSON.stringify(error));
      assert.match(error?.detail ?? '', new RegExp(`^indexing ${down} stopped: ${EMBED_FAILURES_TO_STOP} files in a row could not be embedded .*answered 500`), error?.detail);

      // a search whose query cannot be embedded answers the same status, with the embedder's message and the way around it
      const search = await fetch(`${url}/search_docs?query=gadget&mode=hybrid`);
      assert.equal(search.status, 502);
      assert.match(((await search.json()) as { detail: string }).detail, /^the embeddings API at .* answered 500.*Meanwhile a keyword search \(mode "keyword"\) needs no embeddings\.$/);
      const keyword = await fetch(`${url}/search_docs?query=gadget&mode=keyword`);
      assert.equal(keyword.status, 200, 'what is stored is still found by keyword');
      assert.equal(((await keyword.json()) as { results: unknown[] }).results.length, 1);

      await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)) as Transport);
      const mcp = (await client.callTool({ name: 'add_local', arguments: { path: down } })) as { isError?: boolean; content: { text: string }[] };
      assert.equal(mcp.isError, true);
      assert.match(mcp.content[0]!.text, new RegExp(`indexing ${down} stopped: ${EMBED_FAILURES_TO_STOP} files in a row could not be embedded`), mcp.content[0]!.text);
    } finally {
      await client.close();
      await app.close();
      await ctx.close();
      await api.close();
    }
  });
});

describe('doctor add (CLI) with a failing embeddings API', () => {
  const run = promisify(execFile);
  async function doctor(dataDir: string, apiBase: string, ...args: string[]) {
    const env = {
      ...process.env,
      DOCTOR_LOG_LEVEL: 'error',
      DOCTOR_EMBEDDING_PROVIDER: 'openai',
      DOCTOR_EMBEDDING_MODEL: MODEL,
      DOCTOR_EMBEDDING_DIM: String(EMBED_DIM),
      OPENAI_BASE_URL: apiBase,
    };
    try {
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--data-dir', dataDir, ...args], { env, timeout: 120_000 });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  }

  it('lists a refused file under skipped and exits 0; stops with the message and exits 1 when the API is down', async () => {
    // 400: refused at once, not retried (the CLI's embedder retries server errors for seconds)
    const api = await startEmbeddings({ okRequests: Infinity, failStatus: 400 });
    const data = tempDir();
    try {
      const docs = makeDocs(['guide/topic-2.md']);
      const ok = await doctor(data, api.base, 'add', docs);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /skipped: 1 \(1 could not be embedded\)/, ok.stdout);
      assert.match(ok.stdout, /guide\/topic-2\.md: could not be embedded \(the embeddings API at .* refused the request \(400: the model server fell over\)\.\)/, ok.stdout);

      api.setOkRequests(0);
      const more = makeDocs();
      const down = await doctor(data, api.base, 'add', more);
      assert.equal(down.code, 1, down.stdout);
      assert.match(down.stderr, new RegExp(`indexing ${more} stopped: ${EMBED_FAILURES_TO_STOP} files in a row could not be embedded .*refused the request`), down.stderr);
      assert.match(down.stderr, /then add .* again: the files stored so far are kept/, down.stderr);
    } finally {
      await api.close();
    }
  });
});
