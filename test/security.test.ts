import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildHttpApp } from '../src/http/app.js';
import { startDocSite, type DocSite } from './helpers/doc-site.js';
import { makeContext, type TestContext } from './helpers/context.js';

async function serve(ctx: TestContext, opts: Parameters<typeof buildHttpApp>[1] = {}): Promise<{ app: FastifyInstance; base: string }> {
  const app = await buildHttpApp(ctx, opts);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` };
}

const post = async (base: string, path: string, body: unknown) => {
  const r = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, any> };
};

describe('SSRF guard for crawls requested over the API', () => {
  let site: DocSite;
  let redirector: Server;
  let redirectorUrl = '';
  let ctx: TestContext;
  let base = '';
  let app: FastifyInstance;
  before(async () => {
    site = await startDocSite();
    // a "public" host (allowlisted by name below) that redirects to a private address
    redirector = createServer((_req, res) => {
      res.writeHead(302, { location: `${site.url}/docs/index.html` });
      res.end();
    });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    redirectorUrl = `http://localhost:${(redirector.address() as { port: number }).port}/`;
    // default policy: nothing private allowed, except the host name "localhost" for the redirect test
    ctx = await makeContext({ config: { allowHosts: 'localhost', render: 'never' } });
    ({ app, base } = await serve(ctx));
  });
  after(async () => {
    await app.close();
    await ctx.close();
    await site.close();
    redirector.close();
  });

  it('refuses loopback, private, link-local and metadata IPs at once', async () => {
    for (const url of ['http://127.0.0.1:9/', 'http://10.0.0.8/docs', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]/', 'http://192.168.1.1/']) {
      const r = await post(base, '/fetch_url', { url });
      assert.equal(r.status, 422, url);
      assert.match(r.body.detail, /blocked.*DOCTOR_ALLOW_HOSTS/);
    }
    assert.equal(await ctx.store.jobs.list().then((j) => j.length), 0, 'no job created');
  });

  it('checks the resolved address: a host name pointing at loopback fails the job with the reason', async () => {
    const strict = await makeContext({ config: { allowHosts: '', render: 'never' } });
    try {
      const { fetchUrl } = await import('../src/service/jobs.js');
      const r = await fetchUrl(strict, { url: `http://localhost:${new URL(site.url).port}/docs/index.html`, max_pages: 1 });
      const job = await strict.runner!.waitFor(r.job_id);
      assert.equal(job.status, 'failed');
      assert.match(job.error_message!, /refused to connect to localhost \(127\.0\.0\.1\)/);
    } finally {
      await strict.close();
    }
    const viaLocalhostName = await post(base, '/fetch_url', { url: `http://localhost:${new URL(site.url).port}/docs/index.html`, max_pages: 1 });
    assert.equal((await ctx.runner!.waitFor(viaLocalhostName.body.job_id)).status, 'completed', 'an allowlisted host name is allowed');
  });

  it('a redirect from an allowed host to a private address is refused at the hop', async () => {
    // the crawler does not even follow a redirect out of its scope...
    const r = await post(base, '/fetch_url', { url: redirectorUrl, max_pages: 2 });
    const job = await ctx.runner!.waitFor(r.body.job_id);
    assert.equal(job.status, 'failed');
    assert.match(job.error_message!, /redirected out of scope to http:\/\/127\.0\.0\.1/);
    // ...and when a redirect is followed, its connection is checked like any other
    const { Fetcher } = await import('../src/ingest/fetch/fetcher.js');
    const { createGuardedDispatcher } = await import('../src/ingest/fetch/net-guard.js');
    const fetcher = new Fetcher({ dispatcher: createGuardedDispatcher({ allowPrivate: false, allowlist: ['localhost'] }), maxRetries: 0 });
    const res = await fetcher.fetch(redirectorUrl);
    assert.ok(!res.ok && res.kind === 'blocked_address', JSON.stringify(res));
    assert.match(!res.ok ? res.reason : '', /refused to connect to 127\.0\.0\.1/);
  });
});

describe('bearer token and binding', () => {
  it('protects REST, /mcp and the site map alike', async () => {
    const ctx = await makeContext({ runner: false });
    const { app, base } = await serve(ctx, { apiToken: 'a-long-secret-token' });
    const { registerMcpRoutes } = await import('../src/mcp/http.js');
    const { localBackend } = await import('../src/app/backend.js');
    await app.close();
    const app2 = await buildHttpApp(ctx, { apiToken: 'a-long-secret-token' });
    await registerMcpRoutes(app2, localBackend(ctx));
    await app2.listen({ host: '127.0.0.1', port: 0 });
    const b2 = `http://127.0.0.1:${(app2.server.address() as { port: number }).port}`;
    try {
      for (const path of ['/search_docs?query=x', '/map', '/mcp', '/docs/', '/jobs']) {
        assert.equal((await fetch(b2 + path)).status, 401, path);
      }
      const mcp = await fetch(b2 + '/mcp', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
      assert.equal(mcp.status, 401);
      assert.equal(base.startsWith('http://127.0.0.1'), true);
    } finally {
      await app2.close();
      await ctx.close();
    }
  });

  it('warns when listening beyond loopback without a token', async () => {
    const { startHttpServer } = await import('../src/http/server.js');
    const ctx = await makeContext({ runner: false });
    const app = await buildHttpApp(ctx, {});
    const warnings: string[] = [];
    const log = { ...ctx.log, warn: (_o: unknown, msg: string) => void warnings.push(msg) } as unknown as typeof ctx.log;
    const srv = await startHttpServer(app, { host: '0.0.0.0', port: 0, log });
    await srv.close();
    await ctx.close();
    assert.match(warnings.join(' '), /without DOCTOR_API_TOKEN/);
  });
});

describe('DNS rebinding protection', () => {
  it('with allowedHosts, requests for other host names are refused', async () => {
    const ctx = await makeContext({ runner: false });
    const { app, base } = await serve(ctx, { allowedHosts: ['localhost', '127.0.0.1'] });
    try {
      assert.equal((await fetch(`${base}/list_tags`)).status, 200);
      const { request } = await import('undici');
      const evil = await request(`${base}/list_tags`, { headers: { host: 'attacker.example:9111' } });
      assert.equal(evil.statusCode, 403);
      assert.match(((await evil.body.json()) as { detail: string }).detail, /DNS rebinding/);
    } finally {
      await app.close();
      await ctx.close();
    }
  });
});
