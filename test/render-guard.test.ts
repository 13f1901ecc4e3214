/**
 * Rendering a JavaScript page with Chromium must not reach what the crawl itself may not: every request of
 * the rendered page goes through the SSRF guard. A public page (127.0.0.1, allowed in the test context) tries
 * to read an internal service on 127.0.0.2 (not allowed) by navigating to it and with fetch(); neither reaches
 * it, and its text is stored nowhere. A page that loads its own script from its own origin still renders.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fetchUrl } from '../src/service/jobs.js';
import { makeContext, type TestContext } from './helpers/context.js';

const hasChromium = existsSync('/usr/bin/chromium');
const SECRET = 'SECRETTOKEN zebra-quokka-1234';

const listen = async (server: Server, host: string) => {
  await new Promise<void>((r) => server.listen(0, host, r));
  return `http://${host}:${(server.address() as AddressInfo).port}`;
};

describe('rendering goes through the SSRF guard', { skip: hasChromium ? false : 'Debian chromium not installed (/usr/bin/chromium): .ci/run installs it' }, () => {
  let ctx: TestContext;
  let internalHits = 0;
  let internalUrl = '';
  let siteUrl = '';
  const internal = createServer((_req, res) => {
    internalHits++;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'access-control-allow-origin': '*' });
    res.end(`<html><body><main><h1>Internal</h1><p>${SECRET} is the admin password of this internal service.</p></main></body></html>`);
  });
  const jsOnly = (script: string) => `<!doctype html><html><head><title>App</title></head><body><div id="root"></div><script>${script}</script></body></html>`;
  const site = createServer((req, res) => {
    const pages: Record<string, [string, string]> = {
      '/navigate.html': ['text/html', jsOnly(`location.href = ${JSON.stringify(`${internalUrl}/admin.html`)};`)],
      '/fetch.html': [
        'text/html',
        jsOnly(`fetch(${JSON.stringify(`${internalUrl}/admin.html`)}).then((r) => r.text())
          .then((t) => { document.getElementById('root').innerHTML = t; })
          .catch(() => { document.getElementById('root').innerHTML = '<main><h1>Widgets</h1><p>The internal service could not be reached, so this page shows only its own words about widgets and gadgets.</p></main>'; });`),
      ],
      '/app.html': ['text/html', `<!doctype html><html><head><title>App</title><script src="/app.js"></script></head><body><div id="root"></div></body></html>`],
      '/app.js': [
        'text/javascript',
        `addEventListener('DOMContentLoaded', () => { document.getElementById('root').innerHTML = '<main><h1>Gadgets</h1><p>This text exists only after the same-origin script ran, which Doctor fetched for Chromium.</p></main>'; });`,
      ],
    };
    const page = pages[new URL(req.url ?? '/', 'http://x').pathname];
    res.writeHead(page ? 200 : 404, { 'content-type': `${page?.[0] ?? 'text/plain'}; charset=utf-8` });
    res.end(page?.[1] ?? 'not found');
  });

  before(async () => {
    internalUrl = await listen(internal, '127.0.0.2');
    siteUrl = await listen(site, '127.0.0.1');
    ctx = await makeContext({ config: { render: 'auto', respectRobots: false } });
  });
  after(async () => {
    await ctx.close();
    await new Promise((r) => site.close(r));
    await new Promise((r) => internal.close(r));
  });

  const crawl = async (path: string) => {
    const { job_id } = await fetchUrl(ctx, { url: `${siteUrl}${path}`, max_pages: 1, max_depth: 0 });
    return ctx.runner!.waitFor(job_id);
  };
  const storedText = async () => (await ctx.store.db.all<{ t: string }>("SELECT coalesce(raw_text, '') AS t FROM pages")).map((r) => r.t).join('\n');

  it('a page that navigates to an internal address while it renders: not followed, nothing of it stored', async () => {
    await crawl('/navigate.html');
    assert.equal(internalHits, 0, 'Chromium never connected to the internal service');
    assert.ok(!(await storedText()).includes('SECRETTOKEN'));
  });

  it('a page whose script fetches an internal address: the request fails, the page keeps its own text', async () => {
    const job = await crawl('/fetch.html');
    assert.equal(job.status, 'completed', job.error_message ?? '');
    assert.equal(internalHits, 0);
    const page = await ctx.store.pages.getByUrl(`${siteUrl}/fetch.html`);
    assert.match(page?.raw_text ?? '', /could not be reached/, 'the script ran and saw the request fail');
    assert.ok(!(await storedText()).includes('SECRETTOKEN'));
  });

  it('a page built by a script from its own origin renders as before (fetched by Doctor, handed to Chromium)', async () => {
    const job = await crawl('/app.html');
    assert.equal(job.status, 'completed', job.error_message ?? '');
    const page = await ctx.store.pages.getByUrl(`${siteUrl}/app.html`);
    assert.match(page?.raw_text ?? '', /exists only after the same-origin script ran/);
  });
});
