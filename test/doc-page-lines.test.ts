/**
 * get_doc_page's line range, through the one service function REST, MCP and the CLI call: a starting_line past
 * the end of the page is refused naming total_lines (it used to give empty text and 200, which reads as an empty
 * page); an ending_line past the end is clamped; an empty page still reads from line 1. Lines are Python's
 * str.splitlines, as the Python Doctor counted them: an empty page has 0, a final newline adds no empty line.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { listenWithMcp } from './helpers/mcp-app.js';
import { addPages, type TestPage } from './helpers/pages.js';
import { tempDir } from './helpers/tmp.js';

const TEN = Array.from({ length: 10 }, (_, i) => `line ${i + 1}`).join('\n');
const PAGES: TestPage[] = [
  { id: 'ten', title: 'Ten lines', markdown: TEN },
  { id: 'empty', title: 'Empty', markdown: '' },
  // as pages from the Python Doctor's database can be: a final newline, \r\n line ends
  { id: 'python', title: 'From the Python Doctor', markdown: '# Title\r\n\r\nfirst\r\nsecond\r\n' },
  { id: 'newline', title: 'Final newline', markdown: 'one\ntwo\n' },
];

describe('get_doc_page line ranges over REST and MCP', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let base = '';
  const get = async (query: string) => {
    const res = await fetch(`${base}/get_doc_page?${query}`);
    return { status: res.status, body: (await res.json()) as { text?: string; total_lines?: number; detail?: string } };
  };
  before(async () => {
    ctx = await makeContext({ runner: false });
    await addPages(ctx, PAGES);
    ({ app, base } = await listenWithMcp(ctx));
  });
  after(async () => {
    await app.close();
    await ctx.close();
  });

  it('REST: a starting_line past the end is a 422 naming total_lines; the last line and a clamped ending_line are fine', async () => {
    const past = await get('page_id=ten&starting_line=500');
    assert.equal(past.status, 422, JSON.stringify(past.body));
    assert.match(past.body.detail ?? '', /^the page has 10 lines; starting_line 500 is past its end: start at a line from 1 to 10$/);
    assert.equal((await get('page_id=ten&starting_line=11')).status, 422);
    const last = await get('page_id=ten&starting_line=10');
    assert.deepEqual([last.status, last.body.text, last.body.total_lines], [200, 'line 10', 10]);
    const clamped = await get('page_id=ten&starting_line=9&ending_line=500');
    assert.deepEqual([clamped.status, clamped.body.text], [200, 'line 9\nline 10']);
    const backwards = await get('page_id=ten&starting_line=5&ending_line=2');
    assert.equal(backwards.status, 422);
    assert.match(backwards.body.detail ?? '', /ending_line \(2\) is before starting_line \(5\)/);
    assert.equal((await get('page_id=nope&starting_line=500')).status, 404, 'an unknown page is still a 404');
  });

  it('REST: an empty page has 0 lines, as the Python Doctor counted it (str.splitlines), and reads from line 1; line 2 is past its end', async () => {
    const empty = await get('page_id=empty');
    assert.deepEqual([empty.status, empty.body.text, empty.body.total_lines], [200, '', 0]);
    const first = await get('page_id=empty&starting_line=1&ending_line=5');
    assert.deepEqual([first.status, first.body.text, first.body.total_lines], [200, '', 0]);
    const second = await get('page_id=empty&starting_line=2');
    assert.equal(second.status, 422);
    assert.match(second.body.detail ?? '', /^the page is empty \(0 lines\); starting_line 2 is past its end: start at line 1$/);
  });

  it('REST: lines as the Python Doctor counted them: a final newline adds no line, \\r\\n is one line break', async () => {
    const python = await get('page_id=python');
    assert.deepEqual([python.status, python.body.text, python.body.total_lines], [200, '# Title\n\nfirst\nsecond', 4]);
    const last = await get('page_id=python&starting_line=4&ending_line=4');
    assert.deepEqual([last.status, last.body.text], [200, 'second']);
    assert.equal((await get('page_id=python&starting_line=5')).status, 422);
    const newline = await get('page_id=newline&starting_line=2');
    assert.deepEqual([newline.status, newline.body.text, newline.body.total_lines], [200, 'two', 2]);
  });

  it('MCP: the tool answers a starting_line past the end with an error the model can act on', async () => {
    const client = new Client({ name: 'lines', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)) as Transport);
    try {
      const past = (await client.callTool({ name: 'get_doc_page', arguments: { page_id: 'ten', starting_line: 11 } })) as {
        isError?: boolean;
        content: { text: string }[];
      };
      assert.equal(past.isError, true);
      assert.match(past.content[0]!.text, /the page has 10 lines; starting_line 11 is past its end: start at a line from 1 to 10/);
      const ok = (await client.callTool({ name: 'get_doc_page', arguments: { page_id: 'ten', starting_line: 10, ending_line: 99 } })) as {
        isError?: boolean;
        content: { text: string }[];
      };
      assert.equal(ok.isError, undefined);
      assert.equal(JSON.parse(ok.content[0]!.text).text, 'line 10');
    } finally {
      await client.close();
    }
  });
});

describe('doctor page --from past the end', () => {
  const dir = tempDir();
  before(async () => {
    const ctx = await makeContext({ dbPath: join(dir, 'doctor.duckdb'), embedder: new LexicalEmbedder(), runner: false });
    await addPages(ctx, PAGES);
    await ctx.close();
  });

  it('exits non-zero naming --from and the number of lines; --from 1 on an empty page succeeds (0 lines, empty text)', async () => {
    const env = { ...process.env, DOCTOR_LOG_LEVEL: 'warn', DOCTOR_EMBEDDING_PROVIDER: 'lexical' };
    const doctor = (...args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--data-dir', dir, ...args], { env, timeout: 60_000 }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const past = await doctor('page', 'ten', '--from', '11');
    assert.notEqual(past.code, 0);
    assert.match(past.stderr, /^doctor: the page has 10 lines; --from 11 is past its end: start at a line from 1 to 10$/m);
    const empty = await doctor('page', 'empty', '--from', '1', '--json');
    assert.equal(empty.code, 0, empty.stderr);
    assert.deepEqual(JSON.parse(empty.stdout).total_lines, 0);
  });
});
