import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Fetcher, DEFAULT_USER_AGENT, parseRetryAfter } from '../src/ingest/fetch/fetcher.js';
import { MAX_ROBOTS_CHARS, RobotsCache, robotsToken } from '../src/ingest/fetch/robots.js';
import { discoverLlmsTxtUrls, discoverSitemapUrls, markdownLinks, parseSitemap } from '../src/ingest/fetch/sitemap.js';

type Handler = (req: IncomingMessage, res: ServerResponse, path: string) => void;
const servers: Server[] = [];

async function serve(handler: Handler): Promise<string> {
  const server = createServer((req, res) => handler(req, res, new URL(req.url!, 'http://x').pathname));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

function send(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
  res.end(body);
}

let base = '';
let concurrent = 0;
let maxConcurrent = 0;
const hits = new Map<string, number>();
const hitTimes = new Map<string, number[]>();
const userAgents: string[] = [];

before(async () => {
  base = await serve((req, res, path) => {
    hits.set(path, (hits.get(path) ?? 0) + 1);
    hitTimes.set(path, [...(hitTimes.get(path) ?? []), Date.now()]);
    userAgents.push(req.headers['user-agent'] ?? '');
    switch (path) {
      case '/ok': return send(res, 200, '<html><body><p>hello</p></body></html>');
      case '/r1': return send(res, 301, '', { location: '/r2' });
      case '/r2': return send(res, 302, '', { location: `${base}//ok#frag` });
      case '/loop-a': return send(res, 302, '', { location: '/loop-b' });
      case '/loop-b': return send(res, 307, '', { location: '/loop-a' });
      case '/many': {
        const n = Number(new URL(req.url!, 'http://x').searchParams.get('n') ?? 0);
        return send(res, 302, '', { location: `/many?n=${n + 1}` });
      }
      case '/to-mailto': return send(res, 302, '', { location: 'mailto:someone@example.invalid' });
      case '/missing': return send(res, 404, 'nope');
      case '/forbidden': return send(res, 403, 'no', { 'retry-after': '0' });
      case '/boom': return send(res, 500, 'error');
      case '/flaky': {
        const n = hits.get(path)!;
        if (n === 1) return send(res, 503, 'busy', { 'retry-after': '1' });
        if (n === 2) return send(res, 503, 'busy', { 'retry-after': new Date(Date.now() - 5000).toUTCString() });
        return send(res, 200, 'recovered', { 'content-type': 'text/plain' });
      }
      case '/always-429': return send(res, 429, 'slow down', { 'retry-after': '0' });
      case '/429-wait': return send(res, 429, 'slow down', { 'retry-after': '5' });
      case '/429-year': return send(res, 429, 'slow down', { 'retry-after': '31536000' });
      case '/503-2100': return send(res, 503, 'down', { 'retry-after': 'Fri, 31 Dec 2100 23:59:59 GMT' });
      case '/reset-once': {
        if (hits.get(path) === 1) return req.socket.destroy();
        return send(res, 200, 'after reset', { 'content-type': 'text/plain' });
      }
      case '/gzip': return send(res, 200, gzipSync('<p>gzipped body</p>'), { 'content-encoding': 'gzip' });
      case '/br': return send(res, 200, brotliCompressSync('<p>brotli body</p>'), { 'content-encoding': 'br' });
      case '/deflate': return send(res, 200, deflateSync('<p>zlib deflate</p>'), { 'content-encoding': 'deflate' });
      case '/deflate-raw': return send(res, 200, deflateRawSync('<p>raw deflate</p>'), { 'content-encoding': 'deflate' });
      case '/bad-gzip': return send(res, 200, Buffer.from('this is not gzip at all'), { 'content-encoding': 'gzip' });
      case '/gzip-bomb': return send(res, 200, gzipSync(Buffer.alloc(5 * 1024 * 1024, 'a')), { 'content-encoding': 'gzip' });
      case '/big-declared': {
        res.writeHead(200, { 'content-type': 'text/html', 'content-length': String(100_000) });
        res.write('x'.repeat(1000)); // the rest never comes: the client must not wait for it
        return;
      }
      case '/big-stream': {
        res.writeHead(200, { 'content-type': 'text/html' }); // chunked, no Content-Length
        let sent = 0;
        const tick = () => {
          if (res.destroyed || sent >= 200) return res.end();
          sent++;
          res.write('y'.repeat(4096), () => setImmediate(tick));
        };
        return tick();
      }
      case '/binary': return send(res, 200, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]));
      case '/bad-utf8': return send(res, 200, Buffer.concat([Buffer.from('<p>caf'), Buffer.from([0xc3, 0x28]), Buffer.from(' ok</p>')]));
      case '/latin1': return send(res, 200, Buffer.from('<p>caf\xe9 na\xefve</p>', 'latin1'), { 'content-type': 'text/html; charset=ISO-8859-1' });
      case '/meta-utf16': return send(res, 200, Buffer.from('<html><head><meta charset="utf-16"><title>Caf\u00e9 guide</title></head><body><p>the text</p></body></html>', 'utf8'), { 'content-type': 'text/html' });
      case '/meta-charset': return send(res, 200, Buffer.from('<html><head><meta charset="windows-1252"></head><body>\x93quoted\x94</body></html>', 'latin1'), { 'content-type': 'text/html' });
      case '/utf16': return send(res, 200, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<p>wide text</p>', 'utf16le')]), { 'content-type': 'text/html' });
      case '/slow': return setTimeout(() => { if (!res.destroyed) send(res, 200, 'late'); }, 2000);
      case '/count': {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        return setTimeout(() => { concurrent--; send(res, 200, 'counted'); }, 60);
      }
      default: return send(res, 404, 'not found');
    }
  });
});
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

describe('Fetcher: redirects', () => {
  const fetcher = new Fetcher({ maxRetries: 0, perHostDelayMs: 0, perHostConcurrency: 4 });

  it('follows a chain and reports the final (normalised) URL and every hop', async () => {
    const r = await fetcher.fetch(`${base}/r1`);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.url, `${base}/ok`);
    assert.deepEqual(r.redirects, [`${base}/r2`, `${base}/ok`]);
    assert.match(r.body, /hello/);
    assert.equal(r.status, 200);
    assert.equal(r.contentType, 'text/html');
    assert.equal(r.charset, 'utf-8');
    assert.equal(userAgents.at(-1), DEFAULT_USER_AGENT);
  });

  it('detects loops and too many redirects', async () => {
    const loop = await fetcher.fetch(`${base}/loop-a`);
    assert.ok(!loop.ok && loop.kind === 'redirect_loop', JSON.stringify(loop));
    assert.match(loop.reason, /loop-a -> .*loop-b -> .*loop-a/);
    const before = hits.get('/many') ?? 0;
    const many = await fetcher.fetch(`${base}/many`);
    assert.ok(!many.ok && many.kind === 'too_many_redirects', JSON.stringify(many));
    assert.match(many.reason, /more than 5 redirects/);
    assert.equal(hits.get('/many')! - before, 6, 'the start URL and 5 hops were requested, no more');
    const short = await new Fetcher({ maxRedirects: 1, perHostDelayMs: 0 }).fetch(`${base}/r1`);
    assert.ok(!short.ok && short.kind === 'too_many_redirects');
  });

  it('stops at a redirect the caller refuses, and at non-http targets', async () => {
    const r = await fetcher.fetch(`${base}/r1`, { followRedirect: (u) => !u.endsWith('/ok') });
    assert.ok(!r.ok && r.kind === 'http_error' && r.url === `${base}/r2`, JSON.stringify(r));
    assert.match(r.reason, /redirected out of scope to .*\/ok/);
    const mail = await fetcher.fetch(`${base}/to-mailto`);
    assert.ok(!mail.ok && /invalid or non-http/.test(mail.reason));
  });

  it('throws a TypeError for a URL that is not http(s)', async () => {
    await assert.rejects(fetcher.fetch('ftp://x.test/'), TypeError);
  });
});

describe('Fetcher: errors and retries', () => {
  const fetcher = new Fetcher({ maxRetries: 2, perHostDelayMs: 0, perHostConcurrency: 4 });

  it('reports 404, 403 and 500 with their status and does not retry them', async () => {
    for (const [path, status] of [['/missing', 404], ['/forbidden', 403], ['/boom', 500]] as const) {
      const before = hits.get(path) ?? 0;
      const r = await fetcher.fetch(`${base}${path}`);
      assert.ok(!r.ok && r.kind === 'http_error' && r.status === status && r.reason === `HTTP ${status}`, JSON.stringify(r));
      assert.equal(hits.get(path)! - before, 1, `${path} requested once`);
    }
  });

  it('retries 503 twice, honouring Retry-After (seconds and HTTP date), then succeeds', async () => {
    const t0 = Date.now();
    const r = await fetcher.fetch(`${base}/flaky`);
    assert.ok(r.ok && r.body === 'recovered', JSON.stringify(r));
    assert.equal(hits.get('/flaky'), 3);
    const [first, second] = hitTimes.get('/flaky')!;
    assert.ok(second! - first! >= 950, `waited ${second! - first!} ms for Retry-After: 1`);
    assert.ok(Date.now() - t0 < 4000);
  });

  it('gives up after maxRetries on a persistent 429', async () => {
    const before = hits.get('/always-429') ?? 0;
    const r = await fetcher.fetch(`${base}/always-429`);
    assert.ok(!r.ok && r.status === 429);
    assert.equal(hits.get('/always-429')! - before, 3, 'first attempt + 2 retries');
  });

  it('a Retry-After longer than it waits (a year, a date in 2100) fails the page at once, saying so: it retried every 30 s', async () => {
    const t0 = Date.now();
    for (const [path, status, wait] of [['/429-year', 429, /365 days/], ['/503-2100', 503, /\d+ days/]] as const) {
      const before = hits.get(path) ?? 0;
      const r = await new Fetcher({ maxRetries: 3 }).fetch(`${base}${path}`);
      assert.ok(!r.ok && r.status === status, JSON.stringify(r));
      assert.match(r.reason, new RegExp(`^HTTP ${status}: the site asks to wait `));
      assert.match(r.reason, wait);
      assert.match(r.reason, /not retried; crawl again later/);
      assert.equal(hits.get(path)! - before, 1, 'asked once');
    }
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  });

  it('retries a dropped connection', async () => {
    const r = await fetcher.fetch(`${base}/reset-once`);
    assert.ok(r.ok && r.body === 'after reset', JSON.stringify(r));
    assert.equal(hits.get('/reset-once'), 2);
    const down = await new Fetcher({ maxRetries: 0 }).fetch('http://127.0.0.1:1/');
    assert.ok(!down.ok && down.kind === 'network' && /ECONNREFUSED/.test(down.reason), JSON.stringify(down));
  });

  it('times out slow servers with a readable reason', async () => {
    const t0 = Date.now();
    const r = await new Fetcher({ timeoutMs: 300, maxRetries: 0 }).fetch(`${base}/slow`);
    assert.ok(!r.ok && r.kind === 'timeout', JSON.stringify(r));
    assert.match(r.reason, /timeout: no complete answer within 300 ms.*DOCTOR_REQUEST_TIMEOUT_MS/);
    assert.ok(Date.now() - t0 < 1500);
  });

  it('rejects when the caller aborts, also while backing off', async () => {
    const ac = new AbortController();
    const p = new Fetcher({ maxRetries: 3 }).fetch(`${base}/slow`, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('crawl cancelled')), 100);
    await assert.rejects(p, /crawl cancelled/);
    const ac2 = new AbortController();
    const t0 = Date.now();
    // Retry-After: 5, so the abort lands in the backoff (with 0, four quick attempts could finish first on a
    // machine whose timers run late)
    const p2 = new Fetcher({ maxRetries: 3 }).fetch(`${base}/429-wait`, { signal: ac2.signal });
    setTimeout(() => ac2.abort(new Error('stop')), 150);
    await assert.rejects(p2, /stop/);
    assert.ok(Date.now() - t0 < 1000);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('3', now), 3000);
    assert.equal(parseRetryAfter('Mon, 01 Jan 2024 00:00:10 GMT', now), 10_000);
    assert.equal(parseRetryAfter('Sun, 31 Dec 2023 23:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });
});

describe('Fetcher: bodies', () => {
  const fetcher = new Fetcher({ maxBodyBytes: 64 * 1024, maxRetries: 0, perHostDelayMs: 0, perHostConcurrency: 4 });

  it('decodes gzip, brotli and deflate (zlib and raw)', async () => {
    for (const [path, text] of [['/gzip', 'gzipped body'], ['/br', 'brotli body'], ['/deflate', 'zlib deflate'], ['/deflate-raw', 'raw deflate']]) {
      const r = await fetcher.fetch(`${base}${path}`);
      assert.ok(r.ok && r.body === `<p>${text}</p>`, `${path}: ${JSON.stringify(r)}`);
    }
    const bad = await fetcher.fetch(`${base}/bad-gzip`);
    assert.ok(!bad.ok && /could not decompress/.test(bad.reason), JSON.stringify(bad));
  });

  it('skips a body over the limit by Content-Length without downloading it', async () => {
    const t0 = Date.now();
    const d = await fetcher.fetch(`${base}/big-declared`);
    assert.ok(!d.ok && d.kind === 'too_large', JSON.stringify(d));
    assert.equal(d.reason, 'body larger than the 64 KB limit (97.7 KB declared): skipped (DOCTOR_MAX_PAGE_BYTES)');
    assert.ok(Date.now() - t0 < 1000, 'did not wait for the body');
  });

  it('aborts a streamed body once it passes the limit, also after decompression', async () => {
    const s = await fetcher.fetch(`${base}/big-stream`);
    assert.ok(!s.ok && s.kind === 'too_large', JSON.stringify(s));
    assert.match(s.reason, /larger than the 64 KB limit.*DOCTOR_MAX_PAGE_BYTES/);
    const bomb = await fetcher.fetch(`${base}/gzip-bomb`);
    assert.ok(!bomb.ok && bomb.kind === 'too_large', 'a small gzip that inflates past the limit');
  });

  it('refuses binary served as text/html', async () => {
    const bin = await fetcher.fetch(`${base}/binary`);
    assert.ok(!bin.ok && bin.kind === 'not_text', JSON.stringify(bin));
  });

  it('decodes invalid UTF-8, latin-1, <meta charset> and UTF-16 with a BOM without throwing', async () => {
    const bad = await fetcher.fetch(`${base}/bad-utf8`);
    assert.ok(bad.ok && bad.body === '<p>caf\uFFFD( ok</p>', JSON.stringify(bad));
    const l1 = await fetcher.fetch(`${base}/latin1`);
    assert.ok(l1.ok && l1.body === '<p>café naïve</p>', JSON.stringify(l1));
    assert.equal(l1.charset, 'windows-1252', 'labels are reported by their WHATWG encoding name');
    const meta = await fetcher.fetch(`${base}/meta-charset`);
    assert.ok(meta.ok && meta.body.includes('\u201cquoted\u201d'), JSON.stringify(meta));
    const wide = await fetcher.fetch(`${base}/utf16`);
    assert.ok(wide.ok && wide.body === '<p>wide text</p>' && wide.charset === 'utf-16le', JSON.stringify(wide));
    // <meta charset="utf-16"> in a page whose bytes read as ASCII: UTF-8, as browsers read it (it was stored as CJK)
    const said16 = await fetcher.fetch(`${base}/meta-utf16`);
    assert.ok(said16.ok && said16.body.includes('<title>Caf\u00e9 guide</title>') && said16.charset === 'utf-8', JSON.stringify(said16).slice(0, 300));
  });
});

describe('Fetcher: politeness', () => {
  it('limits concurrent requests per host', async () => {
    const limited = new Fetcher({ perHostConcurrency: 2, perHostDelayMs: 0 });
    maxConcurrent = 0;
    await Promise.all(Array.from({ length: 8 }, () => limited.fetch(`${base}/count`)));
    assert.equal(maxConcurrent, 2);
  });

  it('spaces request starts to one host by perHostDelayMs, without holding up other hosts', async () => {
    const polite = new Fetcher({ perHostConcurrency: 4, perHostDelayMs: 400 });
    hitTimes.set('/ok', []);
    const other = await serve((_req, res) => send(res, 200, 'other host'));
    const t0 = Date.now();
    const otherDone = polite.fetch(`${other}/`).then(() => Date.now() - t0);
    await Promise.all([1, 2, 3].map(() => polite.fetch(`${base}/ok`)));
    const times = hitTimes.get('/ok')!;
    assert.equal(times.length, 3);
    // Arrival times at the server, which a busy machine delays unevenly: well above zero, with room for that.
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 250, `gap ${times[i]! - times[i - 1]!} ms`);
    assert.ok((await otherDone) < 390, 'another host did not wait');
  });

  it('applies a longer per-host delay (robots Crawl-delay)', async () => {
    const f = new Fetcher({ perHostDelayMs: 0 });
    f.setHostDelay(base, 1000);
    hitTimes.set('/ok', []);
    await Promise.all([f.fetch(`${base}/ok`), f.fetch(`${base}/ok`)]);
    const [a, b] = hitTimes.get('/ok')!;
    // Arrival times at the server: on a busy machine the first request can take a few hundred ms to arrive.
    assert.ok(b! - a! >= 700, `gap ${b! - a!} ms`);
  });
});

describe('robots.txt', () => {
  it('respects Disallow for our token, lists Sitemap lines and Crawl-delay', async () => {
    const site = await serve((_req, res, path) => {
      if (path === '/robots.txt') {
        return send(res, 200, 'User-agent: *\nDisallow: /private/\n\nUser-agent: DoctorBot\nDisallow: /no-bots/\nCrawl-delay: 2\n\nSitemap: https://x.test/sm.xml\n', { 'content-type': 'text/plain' });
      }
      send(res, 404, 'no');
    });
    const fetcher = new Fetcher({ perHostDelayMs: 0 });
    const robots = new RobotsCache(fetcher);
    assert.equal(await robots.isAllowed(`${site}/docs/a.html`), true);
    assert.equal(await robots.isAllowed(`${site}/no-bots/a.html`), false);
    assert.equal(await robots.isAllowed(`${site}/private/secret.html`), true, 'the DoctorBot group replaces the * group');
    assert.deepEqual(await robots.sitemaps(site), ['https://x.test/sm.xml']);
    assert.equal(await robots.crawlDelay(site), 2);
    const other = new RobotsCache(fetcher, 'SomeOtherBot/2.0');
    assert.equal(await other.isAllowed(`${site}/private/secret.html`), false);
    assert.equal(robotsToken(DEFAULT_USER_AGENT), 'DoctorBot');
  });

  it('reads the first 500 KiB of a robots.txt (RFC 9309), so an 8 MB one costs a bounded parse and bounded checks', async () => {
    const junk = Array.from({ length: 300_000 }, (_, i) => `Disallow: /junk${i}*x*y$`).join('\n');
    const body = `User-agent: *\nDisallow: /early/\n${junk}\nDisallow: /late/\n`;
    assert.ok(body.length > 15 * MAX_ROBOTS_CHARS, "(under the fetcher's 10 MB body limit, past which robots.txt is not read at all)");
    const site = await serve((_req, res, path) => (path === '/robots.txt' ? send(res, 200, body, { 'content-type': 'text/plain' }) : send(res, 404, 'no')));
    const robots = new RobotsCache(new Fetcher({ perHostDelayMs: 0 }));
    assert.equal(await robots.isAllowed(`${site}/early/a.html`), false, 'rules within the limit apply');
    assert.equal(await robots.isAllowed(`${site}/junk12*x*y`), false);
    assert.equal(await robots.isAllowed(`${site}/late/a.html`), true, 'rules past it are not read');
  });

  it('fetches robots.txt once per origin; missing, failing or HTML robots.txt allows everything', async () => {
    let robotsHits = 0;
    const missing = await serve((_req, res, path) => { if (path === '/robots.txt') robotsHits++; send(res, 404, 'no'); });
    const failing = await serve((_req, res) => send(res, 500, 'oops'));
    const html = await serve((_req, res) => send(res, 200, '<!doctype html><html><body>Disallow: /</body></html>'));
    const robots = new RobotsCache(new Fetcher({ perHostDelayMs: 0, maxRetries: 0 }));
    await Promise.all([robots.isAllowed(`${missing}/a`), robots.isAllowed(`${missing}/b`)]);
    assert.equal(await robots.isAllowed(`${missing}/c`), true);
    assert.equal(robotsHits, 1);
    assert.equal(await robots.isAllowed(`${failing}/a`), true);
    assert.equal(await robots.isAllowed(`${html}/a`), true);
    assert.equal(await robots.isAllowed('http://127.0.0.1:1/unreachable'), true);
  });
});

describe('sitemaps and llms.txt', () => {
  let site = '';
  before(async () => {
    site = await serve((_req, res, path) => {
      const xml = { 'content-type': 'application/xml' };
      switch (path) {
        case '/sitemap.xml':
          return send(res, 200, `<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>${site}/sitemap-a.xml</loc></sitemap><sitemap><loc>${site}/sitemap-b.xml.gz</loc></sitemap><sitemap><loc>${site}/sitemap.xml</loc></sitemap></sitemapindex>`, xml);
        case '/sitemap-a.xml':
          return send(res, 200, `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc>${site}/docs/a.html</loc><image:image><image:loc>${site}/img/a.png</image:loc></image:image></url>
  <url><loc> ${site}/docs/b.html#frag </loc></url>
  <url><loc>${site}/docs/search?q=1&amp;page=2</loc></url>
  <url><loc><![CDATA[${site}/docs/c.html]]></loc></url>
  <url><loc>${site}/docs/a.html</loc></url>
</urlset>`, xml);
        case '/sitemap-b.xml.gz':
          return send(res, 200, gzipSync(`<urlset><url><loc>${site}/docs/from-gz.html</loc></url></urlset>`), { 'content-type': 'application/x-gzip' });
        case '/robots-listed.xml':
          return send(res, 200, `<urlset><url><loc>${site}/docs/listed.html</loc></url></urlset>`, xml);
        case '/llms.txt':
          return send(res, 200, '# Docs\n\n- [Intro](/docs/intro.md): start here\n- [API](https://elsewhere.test/api "API ref")\n- ![logo](/logo.png)\n- [Dup](/docs/intro.md)\n', { 'content-type': 'text/plain' });
        case '/docs/llms.txt':
          return send(res, 200, '- [Guide](guide.md)\n- [Spaced](<guide with space.md>)\n', { 'content-type': 'text/markdown' });
        default:
          return send(res, 404, '<!doctype html><title>not found</title>');
      }
    });
  });

  it('follows a sitemap index to its urlsets (gzip file included), deduplicated and normalised', async () => {
    const fetcher = new Fetcher({ perHostDelayMs: 0 });
    const urls = await discoverSitemapUrls(fetcher, site, [`${site}/robots-listed.xml`], { limit: 100 });
    assert.deepEqual(urls, [
      `${site}/docs/listed.html`,
      `${site}/docs/a.html`,
      `${site}/docs/b.html`,
      `${site}/docs/search?q=1&page=2`,
      `${site}/docs/c.html`,
      `${site}/docs/from-gz.html`,
    ]);
  });

  it('stops at the URL limit and the sitemap count', async () => {
    const fetcher = new Fetcher({ perHostDelayMs: 0 });
    assert.equal((await discoverSitemapUrls(fetcher, site, [], { limit: 2 })).length, 2);
    assert.deepEqual(await discoverSitemapUrls(fetcher, site, [], { limit: 100, maxSitemaps: 1 }), [], 'only the index was read');
    assert.deepEqual(await discoverSitemapUrls(fetcher, site, [], { limit: 100, maxDepth: 1 }), []);
  });

  it('parses sitemap documents and ignores anything else', () => {
    assert.deepEqual(parseSitemap('<sitemapindex><sitemap><loc>https://x.test/a.xml</loc></sitemap></sitemapindex>'), { kind: 'index', locs: ['https://x.test/a.xml'] });
    assert.equal(parseSitemap('<html><body>no</body></html>'), null);
  });

  it('reads llms.txt links at the origin and in the start directory', async () => {
    const fetcher = new Fetcher({ perHostDelayMs: 0 });
    const urls = await discoverLlmsTxtUrls(fetcher, `${site}/docs/index.html`);
    assert.deepEqual(urls, [
      `${site}/docs/intro.md`,
      'https://elsewhere.test/api',
      `${site}/docs/guide.md`,
      `${site}/docs/guide%20with%20space.md`,
    ]);
    assert.deepEqual(await discoverLlmsTxtUrls(fetcher, `${site}/nothing/here/`), [`${site}/docs/intro.md`, 'https://elsewhere.test/api']);
    assert.deepEqual(markdownLinks('[a](x.md) ![img](y.png) [b]( z.md )', 'https://x.test/d/'), ['https://x.test/d/x.md', 'https://x.test/d/z.md']);
  });
});
