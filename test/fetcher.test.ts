import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Fetcher } from '../src/ingest/fetcher.js';
import { RobotsCache } from '../src/ingest/robots.js';
import { discoverLlmsTxtUrls, discoverSitemapUrls } from '../src/ingest/sitemap.js';
import { createGuardedDispatcher } from '../src/ingest/net-guard.js';

let server: Server;
let base = '';
let concurrent = 0;
let maxConcurrent = 0;
const hits = new Map<string, number>();

function send(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
  res.end(body);
}

before(async () => {
  server = createServer(async (req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    switch (path) {
      case '/ok': return send(res, 200, '<html><body><p>hello</p></body></html>');
      case '/r1': return send(res, 301, '', { location: '/r2' });
      case '/r2': return send(res, 302, '', { location: `${base}/ok` });
      case '/loop-a': return send(res, 302, '', { location: '/loop-b' });
      case '/loop-b': return send(res, 302, '', { location: '/loop-a' });
      case '/many': {
        const n = Number(new URL(req.url!, 'http://x').searchParams.get('n') ?? 0);
        return send(res, 302, '', { location: `/many?n=${n + 1}` });
      }
      case '/missing': return send(res, 404, 'nope');
      case '/boom': return send(res, 500, 'error');
      case '/flaky': return hits.get(path)! <= 2 ? send(res, 503, 'busy', { 'retry-after': '0' }) : send(res, 200, 'recovered', { 'content-type': 'text/plain' });
      case '/gzip': return send(res, 200, gzipSync('<p>gzipped body</p>'), { 'content-encoding': 'gzip' });
      case '/br': return send(res, 200, brotliCompressSync('<p>brotli body</p>'), { 'content-encoding': 'br' });
      case '/big-declared': return send(res, 200, 'x'.repeat(100_000));
      case '/big-stream': {
        res.writeHead(200, { 'content-type': 'text/html' });
        for (let i = 0; i < 50; i++) res.write('y'.repeat(4096));
        return res.end();
      }
      case '/binary': return send(res, 200, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 1, 2, 3]));
      case '/bad-utf8': return send(res, 200, Buffer.concat([Buffer.from('<p>caf'), Buffer.from([0xc3, 0x28]), Buffer.from(' ok</p>')]));
      case '/latin1': return send(res, 200, Buffer.from('<p>caf\xe9</p>', 'latin1'), { 'content-type': 'text/html; charset=iso-8859-1' });
      case '/slow': return setTimeout(() => send(res, 200, 'late'), 3000);
      case '/count': {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        return setTimeout(() => { concurrent--; send(res, 200, 'counted'); }, 80);
      }
      case '/robots.txt': return send(res, 200, `User-agent: *\nDisallow: /private/\nSitemap: ${base}/sitemap-index.xml\n`, { 'content-type': 'text/plain' });
      case '/sitemap-index.xml': return send(res, 200, `<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>${base}/sitemap-a.xml</loc></sitemap></sitemapindex>`, { 'content-type': 'application/xml' });
      case '/sitemap-a.xml': return send(res, 200, `<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>${base}/docs/a.html</loc></url><url><loc>${base}/docs/b.html#frag</loc></url></urlset>`, { 'content-type': 'application/xml' });
      case '/llms.txt': return send(res, 200, '# Docs\n\n- [Intro](/docs/intro.md): start here\n- [API](https://elsewhere.test/api)\n', { 'content-type': 'text/plain' });
      default: return send(res, 404, 'not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => server.close());

describe('Fetcher', () => {
  const fetcher = new Fetcher({ maxBodyBytes: 64 * 1024, timeoutMs: 1000, maxRetries: 2, perHostDelayMs: 0, perHostConcurrency: 4 });

  it('follows redirects and reports the final URL and the hops', async () => {
    const r = await fetcher.fetch(`${base}/r1`);
    assert.ok(r.ok);
    assert.equal(r.url, `${base}/ok`);
    assert.deepEqual(r.redirects, [`${base}/r2`, `${base}/ok`]);
    assert.match(r.body, /hello/);
    assert.equal(r.contentType, 'text/html');
  });

  it('detects redirect loops and too many redirects', async () => {
    const loop = await fetcher.fetch(`${base}/loop-a`);
    assert.ok(!loop.ok && loop.kind === 'redirect_loop', JSON.stringify(loop));
    const many = await fetcher.fetch(`${base}/many`);
    assert.ok(!many.ok && many.kind === 'too_many_redirects');
    assert.match(!many.ok ? many.reason : '', /more than 5 redirects/);
  });

  it('reports 404 and 500 with the status; retries 503 honouring Retry-After', async () => {
    const nf = await fetcher.fetch(`${base}/missing`);
    assert.ok(!nf.ok && nf.status === 404 && nf.reason === 'HTTP 404');
    const before500 = hits.get('/boom') ?? 0;
    const boom = await fetcher.fetch(`${base}/boom`);
    assert.ok(!boom.ok && boom.status === 500);
    assert.equal(hits.get('/boom')! - before500, 1, '500 is not retried');
    const flaky = await fetcher.fetch(`${base}/flaky`);
    assert.ok(flaky.ok && flaky.body === 'recovered');
    assert.equal(hits.get('/flaky'), 3);
  });

  it('decodes gzip and brotli', async () => {
    const g = await fetcher.fetch(`${base}/gzip`);
    const b = await fetcher.fetch(`${base}/br`);
    assert.ok(g.ok && g.body.includes('gzipped body'));
    assert.ok(b.ok && b.body.includes('brotli body'));
  });

  it('skips bodies over the limit, by Content-Length and while streaming', async () => {
    const d = await fetcher.fetch(`${base}/big-declared`);
    assert.ok(!d.ok && d.kind === 'too_large');
    assert.match(!d.ok ? d.reason : '', /larger than the 0.1 MB limit.*DOCTOR_MAX_PAGE_BYTES/);
    const s = await fetcher.fetch(`${base}/big-stream`);
    assert.ok(!s.ok && s.kind === 'too_large');
  });

  it('refuses binary served as text/html; decodes invalid UTF-8 and latin-1 without throwing', async () => {
    const bin = await fetcher.fetch(`${base}/binary`);
    assert.ok(!bin.ok && bin.kind === 'not_text');
    const bad = await fetcher.fetch(`${base}/bad-utf8`);
    assert.ok(bad.ok && bad.body.includes('\uFFFD') && bad.body.includes(' ok'));
    const l1 = await fetcher.fetch(`${base}/latin1`);
    assert.ok(l1.ok && l1.body.includes('café'));
  });

  it('times out slow servers with a readable reason', async () => {
    const quick = new Fetcher({ timeoutMs: 300, maxRetries: 0 });
    const r = await quick.fetch(`${base}/slow`);
    assert.ok(!r.ok && r.kind === 'timeout');
    assert.match(!r.ok ? r.reason : '', /DOCTOR_REQUEST_TIMEOUT_MS/);
  });

  it('limits concurrent requests per host', async () => {
    const limited = new Fetcher({ perHostConcurrency: 2, perHostDelayMs: 0 });
    maxConcurrent = 0;
    await Promise.all(Array.from({ length: 8 }, () => limited.fetch(`${base}/count`)));
    assert.equal(maxConcurrent, 2);
  });
});

describe('robots.txt, sitemaps, llms.txt', () => {
  const fetcher = new Fetcher({ perHostDelayMs: 0 });
  it('respects Disallow and lists Sitemap lines', async () => {
    const robots = new RobotsCache(fetcher, fetcher.userAgent);
    assert.equal(await robots.isAllowed(`${base}/docs/a.html`), true);
    assert.equal(await robots.isAllowed(`${base}/private/secret.html`), false);
    assert.deepEqual(await robots.sitemaps(base), [`${base}/sitemap-index.xml`]);
  });

  it('reads a sitemap index and its urlsets', async () => {
    const urls = await discoverSitemapUrls(fetcher, base, [`${base}/sitemap-index.xml`], { limit: 100 });
    assert.deepEqual(urls, [`${base}/docs/a.html`, `${base}/docs/b.html`]);
  });

  it('reads llms.txt links', async () => {
    const urls = await discoverLlmsTxtUrls(fetcher, `${base}/docs/`);
    assert.deepEqual(urls, [`${base}/docs/intro.md`, 'https://elsewhere.test/api']);
  });
});

describe('SSRF guard on the fetcher', () => {
  it('refuses loopback unless allowlisted; a redirect to a blocked address is refused at the hop', async () => {
    const guarded = new Fetcher({ dispatcher: createGuardedDispatcher({ allowPrivate: false, allowlist: [] }), maxRetries: 0 });
    const r = await guarded.fetch(`${base}/ok`);
    assert.ok(!r.ok && r.kind === 'blocked_address', JSON.stringify(r));
    assert.match(!r.ok ? r.reason : '', /DOCTOR_ALLOW_HOSTS/);
    const allowed = new Fetcher({ dispatcher: createGuardedDispatcher({ allowPrivate: false, allowlist: ['127.0.0.1'] }) });
    assert.ok((await allowed.fetch(`${base}/ok`)).ok);
    const byName = await guarded.fetch(`http://localhost:${new URL(base).port}/ok`);
    assert.ok(!byName.ok && byName.kind === 'blocked_address', 'DNS names resolving to loopback are refused too');
  });
});
