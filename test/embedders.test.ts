import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { EmbeddingError } from '../src/ingest/embedders/embedder.js';
import { createEmbedder } from '../src/ingest/embedders/index.js';
import { LexicalEmbedder } from '../src/ingest/embedders/lexical.js';
import { OpenAIEmbedder } from '../src/ingest/embedders/openai.js';
import { cosine } from './helpers/vectors.js';

/** An OpenAI-compatible /v1/embeddings server with scripted misbehaviour. */
function fakeOpenAI() {
  const calls: { model: string; n: number; auth?: string }[] = [];
  const failures = new Map<string, number[]>(); // model -> statuses to answer first
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    let body = '';
    for await (const c of req) body += c;
    const { model, input } = JSON.parse(body) as { model: string; input: string[] };
    calls.push({ model, n: input.length, auth: req.headers.authorization });
    const send = (status: number, obj: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(obj));
    };
    if (req.headers.authorization !== 'Bearer good-key') return send(401, { error: { message: 'Incorrect API key provided' } });
    const queue = failures.get(model);
    const status = queue?.shift();
    if (status === 429) return send(429, { error: { message: 'Rate limit' } }, { 'retry-after': '0' });
    if (status) return send(status, { error: { message: 'upstream trouble' } });
    if (model === 'nope') return send(404, { error: { message: 'The model `nope` does not exist', code: 'model_not_found' } });
    const dim = model === 'bad-dim' ? 7 : 8;
    const data = input.map((text, index) => ({
      index,
      object: 'embedding',
      embedding: Array.from({ length: dim }, (_, j) => (model === 'nan' && j === 2 ? null : (text.length % 13) + j + 1)),
    }));
    // answer out of order: clients must sort by index
    send(200, { object: 'list', data: data.reverse(), model });
  });
  return { server, calls, failures };
}

describe('OpenAI-compatible embedder', () => {
  const fake = fakeOpenAI();
  let base = '';
  before(async () => {
    await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(fake.server.address() as { port: number }).port}/v1`;
  });
  after(() => fake.server.close());
  const make = (model: string, extra: Partial<ConstructorParameters<typeof OpenAIEmbedder>[0]> = {}) =>
    new OpenAIEmbedder({ apiKey: 'good-key', baseUrl: base, model, dimension: 8, ...extra });

  it('keeps input order across batches, batching by count and by size, with concurrency', async () => {
    fake.calls.length = 0;
    const texts = Array.from({ length: 25 }, (_, i) => 'x'.repeat(i + 1));
    const e = make('m', { maxBatchTexts: 10, maxBatchChars: 60, concurrency: 3 });
    const out = await e.embed(texts);
    assert.equal(out.length, 25);
    out.forEach((v, i) => assert.equal(v[0], (texts[i]!.length % 13) + 1));
    assert.ok(fake.calls.every((c) => c.n <= 10));
    assert.ok(fake.calls.length > 3, 'size limit splits batches further than the count limit alone');
  });

  it('retries a 429 (Retry-After) and 503s, then succeeds', async () => {
    fake.failures.set('flaky', [429, 503, 503]);
    fake.calls.length = 0;
    const out = await make('flaky', { maxRetries: 4 }).embed(['a', 'b']);
    assert.equal(out.length, 2);
    assert.equal(fake.calls.length, 4);
  });

  it('a bad key is a clear auth error, not retried', async () => {
    fake.calls.length = 0;
    const e = new OpenAIEmbedder({ apiKey: 'bad', baseUrl: base, model: 'm', dimension: 8 });
    await assert.rejects(e.embed(['x']), (err: Error) => err instanceof EmbeddingError && err.code === 'auth' && /OPENAI_API_KEY/.test(err.message));
    assert.equal(fake.calls.length, 1);
  });

  it('an unknown model says which and what to set', async () => {
    await assert.rejects(make('nope').embed(['x']), (err: Error) => err instanceof EmbeddingError && err.code === 'model' && /"nope"/.test(err.message) && /DOCTOR_EMBEDDING_MODEL/.test(err.message));
  });

  it('refuses wrong dimensions and non-numbers instead of storing them', async () => {
    await assert.rejects(make('bad-dim').embed(['x']), /7 dimensions, expected 8/);
    await assert.rejects(make('nan').embed(['x']), /non-finite value \(null\) at position 2/);
  });

  it('gives up on a server that keeps failing with the status in the message', async () => {
    fake.failures.set('down', [500, 500, 500]);
    await assert.rejects(make('down', { maxRetries: 2 }).embed(['x']), /answered 500/);
  });

  it('needs a dimension for unknown models', () => {
    assert.throws(() => new OpenAIEmbedder({ baseUrl: base, model: 'my-local-model' }), /DOCTOR_EMBEDDING_DIM/);
    assert.equal(new OpenAIEmbedder({ model: 'text-embedding-3-small' }).dimension, 1536);
  });
});

describe('lexical embedder', () => {
  const e = new LexicalEmbedder();
  it('is deterministic, unit-length and 1536-d by default', async () => {
    const [a, b] = await e.embed(['Configure the worker pool', 'Configure the worker pool']);
    assert.equal(a!.length, 1536);
    assert.deepEqual(a, b);
    const norm = Math.sqrt(a!.reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(norm - 1) < 1e-5);
    const [empty] = await e.embed(['']);
    assert.ok(Math.abs(Math.sqrt(empty!.reduce((s, x) => s + x * x, 0)) - 1) < 1e-6, 'empty text still has a unit vector');
  });

  it('ranks related texts above unrelated ones, and splits identifiers', async () => {
    const [q, related, unrelated, ident, ident2] = await e.embed([
      'retry failed tasks with exponential backoff',
      'Failed tasks are retried; the backoff grows exponentially between retries.',
      'The logo is drawn with a blue gradient on the landing page.',
      'read file sync',
      'Use fs.readFileSync(path) to read a file synchronously.',
    ]);
    assert.ok(cosine(q!, related!) > cosine(q!, unrelated!) + 0.1);
    assert.ok(cosine(ident!, ident2!) > cosine(ident!, unrelated!) + 0.1);
  });

  it('auto picks lexical without a key and says so once; openai with a key', () => {
    const said: string[] = [];
    assert.equal(createEmbedder({ provider: 'auto' }, (m) => said.push(m)).provider, 'lexical');
    assert.equal(said.length, 1);
    assert.match(said[0]!, /OPENAI_API_KEY/);
    assert.equal(createEmbedder({ provider: 'auto', apiKey: 'k' }).provider, 'openai');
  });
});
