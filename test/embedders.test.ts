import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { EmbeddingError } from '../src/embed/embedder.js';
import { createEmbedder } from '../src/embed/index.js';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { OpenAIEmbedder, probeDimension, retryAfterMs, type OpenAIEmbedderOptions } from '../src/embed/openai.js';
import { cosine } from './helpers/vectors.js';

interface Call {
  model: string;
  input: string[];
  dimensions?: number;
  url: string;
  auth?: string;
  apiKeyHeader?: string;
}

/**
 * An OpenAI-compatible /embeddings server whose behaviour is chosen by the model name:
 * `bad-dim` (7-d vectors), `nan` (a null inside), `short` (one embedding too few), `str` (strings), `zero`
 * (all-zero vectors), `huge` (1e39, past 32-bit floats),
 * `nope` (OpenAI's 404 model_not_found), `ollama-missing` (Ollama's 404), `ctx` (400 for inputs over
 * 1,000 characters, like a 512-token model), `slow` (answers after 2 s), `endless` (a
 * 200 whose body never ends), `gzip-bomb` (16 MB of gzipped whitespace), `redirect` (307 to
 * localhost), `ansi` (400 with terminal escapes in the message), `proxy`
 * (413 from a proxy for bodies over 2,000 bytes), `proxy-tiny` (413 always). `failures` scripts statuses
 * to answer first per model. Vectors encode the text: [len % 13 + 1, ...] so order can be checked.
 */
function fakeOpenAI() {
  const calls: Call[] = [];
  const failures = new Map<string, { status: number; headers?: Record<string, string> }[]>();
  let inFlight = 0;
  let maxInFlight = 0;
  const server: Server = createServer(async (req, res) => {
    let raw = '';
    for await (const c of req) raw += c;
    const { model, input, dimensions } = JSON.parse(raw) as { model: string; input: string[]; dimensions?: number };
    calls.push({ model, input, dimensions, url: req.url ?? '', auth: req.headers.authorization, apiKeyHeader: req.headers['api-key'] as string | undefined });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const send = (status: number, obj: unknown, headers: Record<string, string> = {}) => {
      inFlight--;
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(typeof obj === 'string' ? obj : JSON.stringify(obj));
    };
    if (model !== 'no-key-needed' && req.headers.authorization !== 'Bearer good-key') {
      return send(401, { error: { message: 'Incorrect API key provided: bad.', type: 'invalid_request_error', code: 'invalid_api_key' } });
    }
    const scripted = failures.get(model)?.shift();
    if (scripted) return send(scripted.status, { error: { message: 'upstream trouble' } }, scripted.headers);
    if (model === 'nope') return send(404, { error: { message: 'The model `nope` does not exist or you do not have access to it.', code: 'model_not_found' } });
    if (model === 'ollama-missing') return send(404, { error: 'model "ollama-missing" not found, try pulling it first' });
    if (model === 'ctx' && input.some((t) => t.length > 1000)) {
      return send(400, { error: { message: "This model's maximum context length is 512 tokens. However, you requested 900 tokens in the input." } });
    }
    if ((model === 'proxy' && raw.length > 2000) || model === 'proxy-tiny') {
      // a proxy's request size limit (nginx's client_max_body_size)
      inFlight--;
      res.writeHead(413, { 'content-type': 'text/html' });
      return res.end('<html><head><title>413 Request Entity Too Large</title></head><body><center><h1>413 Request Entity Too Large</h1></center><hr><center>nginx</center></body></html>');
    }
    if (model === 'ansi') {
      // a message that would recolour, retitle and clear lines of the terminal that prints it
      return send(400, { error: { message: '\u001b[31mRED\u001b]0;title\u0007 \u001b[2K gone' } });
    }
    if (model === 'redirect') {
      // to the same server under another name (another origin): a client following it would send the key there
      inFlight--;
      res.writeHead(307, { location: `http://localhost:${(server.address() as { port: number }).port}/elsewhere/embeddings` });
      return res.end();
    }
    if (model === 'endless' || model === 'gzip-bomb') {
      inFlight--;
      if (model === 'gzip-bomb') {
        // 16 MB of JSON whitespace in 16 KB on the wire
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        return res.end(gzipSync(Buffer.alloc(16 << 20, 0x20)));
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 << 10, 0x20);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
      };
      res.on('drain', pump);
      return pump();
    }
    if (model === 'slow') await new Promise((r) => setTimeout(r, 2000).unref());
    else await new Promise((r) => setTimeout(r, 5)); // long enough for requests to overlap
    const dim = model === 'bad-dim' ? 7 : (dimensions ?? 8);
    const data = input.map((text, index) => ({
      index,
      object: 'embedding',
      embedding: Array.from({ length: dim }, (_, j) =>
        model === 'nan' && j === 2
          ? null
          : model === 'str' && j === 0
            ? '0.5'
            : model === 'zero'
              ? 0
              : model === 'huge' && j === 1
                ? 1e39
                : (text.length % 13) + 1 + j / 100,
      ),
    }));
    if (model === 'short') data.pop();
    if (model.startsWith('b64')) {
      // OpenAI's encoding_format "base64", answered unasked: little-endian float32 bytes
      for (const d of data as { embedding: unknown }[]) {
        const bytes = Buffer.from(new Float32Array(d.embedding as number[]).buffer);
        d.embedding = model === 'b64' ? bytes.toString('base64') : model === 'b64-odd' ? bytes.subarray(0, 7).toString('base64') : 'not base64!';
      }
    }
    // Answer out of order: clients must sort by index.
    send(200, { object: 'list', data: data.reverse(), model });
  });
  return {
    server,
    calls,
    failures,
    reset() {
      calls.length = 0;
      maxInFlight = 0;
    },
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

const isCode = (code: string, re?: RegExp) => (err: unknown) => {
  assert.ok(err instanceof EmbeddingError, `expected an EmbeddingError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  if (re) assert.match(err.message, re);
  return true;
};

describe('OpenAI-compatible embedder', () => {
  const fake = fakeOpenAI();
  let base = '';
  before(async () => {
    await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(fake.server.address() as { port: number }).port}/v1`;
  });
  after(() => {
    fake.server.closeAllConnections();
    fake.server.close();
  });
  const make = (model: string, extra: OpenAIEmbedderOptions = {}) => new OpenAIEmbedder({ apiKey: 'good-key', baseUrl: base, model, dimension: 8, ...extra });

  it('batches by count, keeps input order across batches answered out of order, with bounded concurrency', async () => {
    fake.reset();
    const texts = Array.from({ length: 25 }, (_, i) => `t${i}`.padEnd(i + 1, 'x'));
    const out = await make('m', { maxBatchTexts: 10, concurrency: 2 }).embed(texts);
    assert.deepEqual(fake.calls.map((c) => c.input.length).sort(), [10, 10, 5]);
    assert.equal(out.length, 25);
    out.forEach((v, i) => {
      assert.equal(v.length, 8);
      assert.ok(Math.abs(v[0]! - ((texts[i]!.length % 13) + 1)) < 1e-6, `vector ${i} belongs to text ${i}`);
    });
    assert.deepEqual(fake.calls.flatMap((c) => c.input).sort(), [...texts].sort(), 'every text sent exactly once');
    assert.ok(fake.maxInFlight <= 2, `at most 2 requests in flight (saw ${fake.maxInFlight})`);
  });

  it('batches by total size as well, and uses the configured concurrency', async () => {
    fake.reset();
    const texts = Array.from({ length: 30 }, (_, i) => String.fromCharCode(97 + (i % 26)).repeat(40));
    const out = await make('m', { maxBatchTexts: 100, maxBatchChars: 100, concurrency: 4 }).embed(texts);
    assert.equal(out.length, 30);
    assert.ok(fake.calls.every((c) => c.input.join('').length <= 100), 'no request over the size budget');
    assert.equal(fake.calls.length, 15, 'two 40-char texts per 100-char request');
    assert.ok(fake.maxInFlight > 1 && fake.maxInFlight <= 4, `requests overlap, at most 4 at once (saw ${fake.maxInFlight})`);
  });

  it('waits as a 429 Retry-After asks, then succeeds', async () => {
    fake.reset();
    fake.failures.set('limited', [{ status: 429, headers: { 'retry-after': '1' } }]);
    const t0 = Date.now();
    const out = await make('limited').embed(['a', 'b']);
    assert.equal(out.length, 2);
    assert.equal(fake.calls.length, 2);
    assert.ok(Date.now() - t0 >= 950, `waited ${Date.now() - t0} ms for Retry-After: 1`);
  });

  it('retries a 503 twice with growing backoff, then succeeds', async () => {
    fake.reset();
    fake.failures.set('flaky', [{ status: 503 }, { status: 503 }]);
    const t0 = Date.now();
    const out = await make('flaky').embed(['a', 'b', 'c']);
    assert.equal(out.length, 3);
    assert.equal(fake.calls.length, 3);
    assert.ok(Date.now() - t0 >= 700, `backed off ${Date.now() - t0} ms (at least 0.25 s, then 0.5 s)`);
  });

  it('gives up on a server that keeps failing, saying so', async () => {
    fake.reset();
    const now = { headers: { 'retry-after': '0' } };
    fake.failures.set('down', [{ status: 500, ...now }, { status: 500, ...now }, { status: 500, ...now }]);
    await assert.rejects(make('down', { maxRetries: 2 }).embed(['x']), isCode('server', /answered 500.*after 2 retries/));
    assert.equal(fake.calls.length, 3);
    fake.failures.set('busy', [{ status: 429, ...now }, { status: 429, ...now }]);
    await assert.rejects(make('busy', { maxRetries: 1 }).embed(['x']), isCode('rate_limit', /rate limit/));
  });

  it('a bad key is a clear auth error, not retried, and stops the other batches', async () => {
    fake.reset();
    const e = new OpenAIEmbedder({ apiKey: 'bad', baseUrl: base, model: 'm', dimension: 8, maxBatchTexts: 1, concurrency: 2 });
    await assert.rejects(e.embed(Array.from({ length: 20 }, (_, i) => `text ${i}`)), isCode('auth', /rejected the key.*set OPENAI_API_KEY/));
    assert.ok(fake.calls.length <= 2, `no batch started after the failure (${fake.calls.length} requests)`);
    await assert.rejects(new OpenAIEmbedder({ baseUrl: base, model: 'm', dimension: 8 }).embed(['x']), isCode('auth', /needs a key.*OPENAI_API_KEY/));
  });

  it('sends the key as a bearer token, and works without one for local servers', async () => {
    fake.reset();
    await make('m').embed(['x']);
    assert.equal(fake.calls[0]!.auth, 'Bearer good-key');
    const local = new OpenAIEmbedder({ baseUrl: base, model: 'no-key-needed', dimension: 8 });
    assert.equal((await local.embed(['x'])).length, 1);
    assert.equal(fake.calls[1]!.auth, undefined);
  });

  it('an unknown model says which, where, and what to set (OpenAI and Ollama errors)', async () => {
    await assert.rejects(make('nope').embed(['x']), isCode('model', /unknown model "nope" at http:\/\/127\.0\.0\.1:\d+\/v1.*DOCTOR_EMBEDDING_MODEL/));
    await assert.rejects(make('ollama-missing').embed(['x']), isCode('model', /"ollama-missing".*try pulling it.*DOCTOR_EMBEDDING_MODEL/));
  });

  it('refuses wrong dimensions, wrong counts and non-numbers instead of returning them', async () => {
    await assert.rejects(make('bad-dim').embed(['x']), isCode('invalid_response', /7 dimensions, expected 8/));
    await assert.rejects(make('nan').embed(['x']), isCode('invalid_response', /non-finite value \(null\) at position 2/));
    await assert.rejects(make('str').embed(['x']), isCode('invalid_response', /non-finite value \("0.5"\) at position 0/));
    await assert.rejects(make('short').embed(['x', 'y', 'z']), isCode('invalid_response', /returned 2 embeddings for 3 texts/));
    await assert.rejects(make('zero').embed(['x']), isCode('invalid_response', /127\.0\.0\.1.*embedding #0 is all zeros/));
    await assert.rejects(make('huge').embed(['x']), isCode('invalid_response', /non-finite value \(1e\+39\) at position 1/));
  });

  it('reads embeddings a server sends base64-encoded unasked (OpenAI\'s encoding_format "base64"); says what is wrong with a string that is not that', async () => {
    const [a, b] = await make('b64').embed(['abc', 'defghij']);
    assert.deepEqual([...a!], Array.from({ length: 8 }, (_, j) => Math.fround(4 + j / 100)));
    assert.deepEqual([...b!], Array.from({ length: 8 }, (_, j) => Math.fround(8 + j / 100)));
    await assert.rejects(make('b64-odd').embed(['x']), isCode('invalid_response', /embedding #0 is base64 of 7 bytes, not of 32-bit floats/));
    await assert.rejects(make('b64-junk').embed(['x']), isCode('invalid_response', /embedding #0 is a string that is not base64 \("not base64!"\), nor a list of numbers/));
  });

  it('stops reading an answer far larger than the embeddings asked for (endless body, gzip bomb) instead of filling memory', async () => {
    for (const model of ['endless', 'gzip-bomb']) {
      const t0 = Date.now();
      await assert.rejects(
        make(model, { timeoutMs: 20_000 }).embed(['x']),
        isCode('invalid_response', /answered 200 with more than 1 MB for 1 text.*OPENAI_BASE_URL/),
      );
      assert.ok(Date.now() - t0 < 10_000, `${model}: gave up after ${Date.now() - t0} ms`);
    }
  });

  it('splits a batch a proxy refuses as too large (413) and sends smaller ones from then on; cuts one text too large alone', async () => {
    fake.reset();
    const e = make('proxy');
    const texts = Array.from({ length: 10 }, (_, i) => 'w'.repeat(300 + i));
    const vs = await e.embed(texts);
    assert.deepEqual(vs.map((v) => v[0]), texts.map((t) => (t.length % 13) + 1), 'every text has its own vector, in order');
    fake.reset();
    assert.equal((await e.embed(texts)).length, 10);
    assert.ok(fake.calls.length >= 2 && fake.calls.every((c) => JSON.stringify(c).length < 2300), `sent ${fake.calls.map((c) => c.input.length)}`);
    assert.equal((await e.embed(['z'.repeat(5000)])).length, 1, 'a single text is cut until it passes');
    await assert.rejects(make('proxy-tiny').embed(['x', 'y']), isCode('server', /refused even one short text as too large \(413: .*client_max_body_size/));
  });

  it('shows control characters of an error message escaped, so no escape sequence reaches a terminal or log', async () => {
    await assert.rejects(make('ansi').embed(['x']), (e: unknown) => {
      assert.ok(e instanceof EmbeddingError);
      assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(e.message), JSON.stringify(e.message));
      assert.match(e.message, /refused the request \(400: \\u001b\[31mRED\\u001b\]0;title\\u0007 \\u001b\[2K gone\)/);
      return true;
    });
  });

  it('does not follow a redirect (the key would go to another address): says where it points and what to set', async () => {
    fake.reset();
    await assert.rejects(
      make('redirect').embed(['x']),
      isCode('network', /answered 307, a redirect to "http:\/\/localhost:\d+\/elsewhere\/embeddings"; Doctor does not follow it.*OPENAI_BASE_URL/),
    );
    assert.deepEqual(fake.calls.map((c) => c.url), ['/v1/embeddings'], 'nothing was sent to the redirect target');
  });

  it('asks for a shorter vector only when a text-embedding-3 model is configured below its default size', async () => {
    fake.reset();
    const short = new OpenAIEmbedder({ apiKey: 'good-key', baseUrl: base, model: 'text-embedding-3-small', dimension: 256 });
    assert.equal((await short.embed(['x']))[0]!.length, 256);
    await new OpenAIEmbedder({ apiKey: 'good-key', baseUrl: base, model: 'text-embedding-3-small', dimension: 8 }).embed(['x']);
    await make('m').embed(['x']);
    assert.deepEqual(fake.calls.map((c) => c.dimensions), [256, 8, undefined]);
    await assert.rejects(new OpenAIEmbedder({ apiKey: 'good-key', baseUrl: base, model: 'text-embedding-3-small' }).embed(['x']), /8 dimensions, expected 1536/);
    assert.equal(fake.calls[3]!.dimensions, undefined, 'the default size is not requested explicitly');
  });

  it('knows the dimensions of OpenAI models, refuses impossible ones, and needs one for other models', async () => {
    assert.equal(new OpenAIEmbedder({ model: 'text-embedding-3-small' }).dimension, 1536);
    assert.equal(new OpenAIEmbedder({ model: 'text-embedding-3-large' }).dimension, 3072);
    assert.equal(new OpenAIEmbedder({ model: 'text-embedding-ada-002' }).dimension, 1536);
    assert.throws(() => new OpenAIEmbedder({ model: 'text-embedding-ada-002', dimension: 768 }), isCode('model', /always returns 1536/));
    assert.throws(() => new OpenAIEmbedder({ model: 'text-embedding-3-small', dimension: 3072 }), isCode('model', /at most 1536/));
    assert.throws(() => new OpenAIEmbedder({ baseUrl: base, model: 'my-local-model' }), isCode('model', /"my-local-model".*DOCTOR_EMBEDDING_DIM/));
    assert.equal(await probeDimension({ apiKey: 'good-key', baseUrl: base, model: 'my-local-model' }), 8);
    await assert.rejects(probeDimension({ apiKey: 'good-key', baseUrl: base, model: 'nope' }), isCode('model'));
  });

  it('cuts very long texts before sending, and cuts further when the server says they are too long', async () => {
    fake.reset();
    const out = await make('m').embed(['é'.repeat(50_000), 'x'.repeat(100_000), '', '  ']);
    assert.equal(out.length, 4);
    const sent = fake.calls[0]!.input;
    assert.ok(sent[0]!.length <= 8_000 && sent[1]!.length <= 24_000 && sent[1]!.length > 20_000, `sent lengths ${sent.map((s) => s.length)}`);
    assert.ok(sent.every((s) => s.length > 0), 'no empty input (OpenAI refuses them)');

    fake.reset();
    const texts = ['short', 'y'.repeat(5_000), 'z'.repeat(3_000)];
    const vs = await make('ctx').embed(texts);
    assert.equal(vs.length, 3);
    assert.ok(fake.calls.at(-1)!.input.every((t) => t.length <= 1000));
    assert.equal(fake.calls.at(-1)!.input[0], 'short', 'short texts are untouched');
  });

  it('keeps a query string in the base URL (Azure api-version) and sends the api-key header', async () => {
    fake.reset();
    await make('m', { baseUrl: `${base}/openai/deployments/emb/?api-version=2024-02-01` }).embed(['x']);
    assert.equal(fake.calls[0]!.url, '/v1/openai/deployments/emb/embeddings?api-version=2024-02-01');
    assert.equal(fake.calls[0]!.apiKeyHeader, 'good-key');
  });

  it('reports an unreachable server or one that does not answer in time as a network error', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(
      new OpenAIEmbedder({ baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm', dimension: 8, maxRetries: 1 }).embed(['x']),
      isCode('network', /cannot reach the embeddings API at http:\/\/127\.0\.0\.1:\d+\/v1\/embeddings.*ECONNREFUSED.*2 attempts.*OPENAI_BASE_URL/),
    );
    await assert.rejects(make('slow', { timeoutMs: 200, maxRetries: 0 }).embed(['x']), isCode('network', /did not answer within 0 s \(1 attempt\).*running and not overloaded/));
    // a request that timed out is tried once more, not maxRetries times (a hung API held each crawled page for 6 x 60 s)
    await assert.rejects(make('slow', { timeoutMs: 200, maxRetries: 5 }).embed(['x']), isCode('network', /did not answer within 0 s \(2 attempts\)/));
  });

  it('gives up on a search query within queryTimeoutMs, retries and waits included; documents keep their retries', async () => {
    let t0 = Date.now();
    await assert.rejects(make('slow', { queryTimeoutMs: 1000 }).embed(['x'], { input: 'query' }), isCode('network', /did not answer within 1 s \(1 attempt\)/));
    assert.ok(Date.now() - t0 < 1800, `query gave up after ${Date.now() - t0} ms`);
    fake.failures.set('limited', [{ status: 429, headers: { 'retry-after': '30' } }]);
    t0 = Date.now();
    await assert.rejects(make('limited', { queryTimeoutMs: 1000 }).embed(['x'], { input: 'query' }), isCode('rate_limit', /after 0 retries/));
    assert.ok(Date.now() - t0 < 1000, `query waited ${Date.now() - t0} ms`);
    assert.equal((await make('slow', { queryTimeoutMs: 1000 }).embed(['x']))[0]!.length, 8, 'a document batch is not cut short');
  });

  it('stops at once when the caller aborts', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 100);
    await assert.rejects(make('slow').embed(['x'], { signal: ac.signal }), (e: Error) => e.name === 'AbortError');
    assert.ok(Date.now() - t0 < 1500);
    assert.deepEqual(await make('m').embed([]), []);
  });

  it('reads Retry-After in seconds, as an HTTP date, and as retry-after-ms; caps long waits', () => {
    assert.equal(retryAfterMs(new Headers({ 'retry-after': '2' })), 2000);
    const date = retryAfterMs(new Headers({ 'retry-after': new Date(Date.now() + 10_000).toUTCString() }))!;
    assert.ok(date > 8_000 && date <= 10_000, String(date));
    assert.equal(retryAfterMs(new Headers({ 'retry-after': new Date(Date.now() - 10_000).toUTCString() })), 0);
    assert.equal(retryAfterMs(new Headers({ 'retry-after': '86400' })), 60_000);
    assert.equal(retryAfterMs(new Headers({ 'retry-after-ms': '150', 'retry-after': '9' })), 150);
    assert.equal(retryAfterMs(new Headers({ 'retry-after': 'soon' })), undefined);
    for (const odd of ['-5', '-1', '1 2', '-0.5']) assert.equal(retryAfterMs(new Headers({ 'retry-after': odd })), undefined, `${odd}: back off as without a header, not retry at once`);
    assert.equal(retryAfterMs(new Headers()), undefined);
  });
});

describe('lexical embedder', () => {
  it('gives exactly the vectors stored under lexical-hash-v1 (a change needs a new model name)', () => {
    // digest of the f32 vectors made by the first implementation; any change to features, weights, feature
    // order or float arithmetic would silently split old and new vectors of one database
    const texts = [
      '', '   ', 'The quick brown fox jumps over the lazy dog.',
      'readFileSync os.path.join read_file_sync HTTPServer x86_64 XMLHttpRequest getHTTPResponseCode v2Beta',
      'Ünïcödé wörds, Straße, ÀB́C, Ǆemal, ʰmodifier, שלוםabcדף abcשdef 12ש34 ABC123 abc123',
      '日本語のテキストと中文的文字 한국어 텍스트 ไทย', 'café\u0301 A\u0301B AB\u0301 \u0301abc',
      'retry retried retries retrying RETRY Retry', 'a'.repeat(200) + ' ' + 'b'.repeat(70), 'std::vector<int>::iterator foo::bar-baz.qux',
      Array.from({ length: 400 }, (_, i) => `word${i} Term${i % 37} the of and`).join(' '),
    ];
    const e = new LexicalEmbedder(1536);
    const h = createHash('sha256');
    for (const t of texts) {
      const v = e.embedOne(t);
      h.update(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    }
    assert.equal(h.digest('hex'), '400b175d42ad8990da5ed4a3d37e3e3ce3c13da5f1f09e39e938af22752c7d31');
  });

  const e = new LexicalEmbedder();
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

  it('is deterministic, unit-length, 1536-d by default and configurable', async () => {
    const [a, b] = await e.embed(['Configure the worker pool', 'Configure the worker pool']);
    assert.equal(a!.length, 1536);
    assert.deepEqual(a, b);
    assert.deepEqual(a, new LexicalEmbedder().embedOne('Configure the worker pool'), 'same vector from a new instance');
    assert.ok(Math.abs(norm(a!) - 1) < 1e-5);
    assert.equal(e.provider, 'lexical');
    assert.equal(e.model, 'lexical-hash-v1');
    const [small] = await new LexicalEmbedder(256).embed(['Configure the worker pool']);
    assert.equal(small!.length, 256);
    assert.ok(Math.abs(norm(small!) - 1) < 1e-5);
    assert.throws(() => new LexicalEmbedder(0), /DOCTOR_EMBEDDING_DIM/);
  });

  it('gives empty and symbol-only texts the same fixed unit vector (cosine stays defined)', async () => {
    const [empty, blank, symbols, word] = await e.embed(['', '  \n\t', '--- *** ---', 'word']);
    for (const v of [empty!, blank!, symbols!]) {
      assert.equal(v[0], 1);
      assert.ok(Math.abs(norm(v) - 1) < 1e-6);
      assert.ok(Number.isFinite(cosine(v, word!)));
    }
    assert.deepEqual(empty, blank);
  });

  it('ranks related texts above unrelated ones', async () => {
    const [q, related, unrelated] = await e.embed([
      'retry failed tasks with exponential backoff',
      'Failed tasks are retried; the backoff grows exponentially between retries.',
      'The logo is drawn with a blue gradient on the landing page.',
    ]);
    assert.ok(cosine(q!, related!) > cosine(q!, unrelated!) + 0.2, `${cosine(q!, related!)} vs ${cosine(q!, unrelated!)}`);
    // Common words alone do not make texts similar.
    const [x, y] = await e.embed(['the cat is on the mat and it is there', 'the invoice is in the folder and it is there']);
    assert.ok(cosine(x!, y!) < 0.35, `stopword-only overlap scores ${cosine(x!, y!)}`);
  });

  it('splits code identifiers so their words match', async () => {
    const [q, camel, snake, dotted, other] = await e.embed([
      'read file sync',
      'readFileSync',
      'read_file_sync',
      'os.path.join(base, name)',
      'Write the socket buffer asynchronously.',
    ]);
    assert.ok(cosine(q!, camel!) > 0.6, `read file sync ~ readFileSync: ${cosine(q!, camel!)}`);
    assert.ok(cosine(q!, snake!) > 0.6, `read file sync ~ read_file_sync: ${cosine(q!, snake!)}`);
    assert.ok(cosine(camel!, snake!) > 0.6);
    assert.ok(cosine(q!, camel!) > cosine(q!, other!) + 0.4);
    const [join] = await e.embed(['join path']);
    assert.ok(cosine(join!, dotted!) > cosine(join!, other!) + 0.2);
  });

  it('handles text without spaces between words (Chinese)', async () => {
    const [a, b, c] = await e.embed(['配置工作池的大小', '工作池的大小可以配置', '日志的颜色']);
    assert.ok(cosine(a!, b!) > cosine(a!, c!) + 0.3);
  });

  it('embeds 1,000 texts of 1,000 characters in well under a second of CPU', async () => {
    const vocab = 'configure worker pool readFileSync os.path.join retry backoff index vector search the of to page crawl'.split(' ');
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const texts = Array.from({ length: 1000 }, () => {
      let t = '';
      while (t.length < 1000) t += `${vocab[Math.floor(next() * vocab.length)]} `;
      return t.slice(0, 1000);
    });
    await e.embed(texts.slice(0, 50)); // warm up
    // CPU time, not wall time: a busy machine must not fail this bound (it catches runaway work)
    const c0 = process.cpuUsage();
    const out = await e.embed(texts);
    const c = process.cpuUsage(c0);
    const ms = (c.user + c.system) / 1000;
    assert.equal(out.length, 1000);
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms of CPU`);
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(e.embed(['x'], { signal: ac.signal }), (err: Error) => err.name === 'AbortError');
  });
});

describe('createEmbedder', () => {
  it('auto picks lexical without a key and says once how to switch', () => {
    const said: string[] = [];
    const emb = createEmbedder({ provider: 'auto' }, (m) => said.push(m));
    assert.equal(emb.provider, 'lexical');
    assert.equal(emb.dimension, 1536);
    assert.equal(said.length, 1);
    assert.match(said[0]!, /offline lexical embedder.*Set OPENAI_API_KEY/);
    const said2: string[] = [];
    createEmbedder({ provider: 'auto', baseUrl: 'http://127.0.0.1:11434/v1' }, (m) => said2.push(m));
    assert.match(said2[0]!, /DOCTOR_EMBEDDING_PROVIDER=openai/);
  });

  it('auto picks openai with a key; openai works without a key; lexical takes a dimension', () => {
    const said: string[] = [];
    const withKey = createEmbedder({ provider: 'auto', apiKey: 'k' }, (m) => said.push(m));
    assert.equal(withKey.provider, 'openai');
    assert.equal(withKey.model, 'text-embedding-3-small');
    assert.equal(withKey.dimension, 1536);
    assert.equal(said.length, 1);
    assert.match(said[0]!, /OPENAI_API_KEY is set: embedding with text-embedding-3-small/);
    const local = createEmbedder({ provider: 'openai', baseUrl: 'http://127.0.0.1:11434/v1', model: 'nomic-embed-text', dimension: 768 });
    assert.equal(local.provider, 'openai');
    assert.equal(local.dimension, 768);
    assert.equal(createEmbedder({ provider: 'lexical', dimension: 256 }).dimension, 256);
    assert.throws(() => createEmbedder({ provider: 'openai', model: 'nomic-embed-text' }), isCode('model', /DOCTOR_EMBEDDING_DIM/));
  });
});
