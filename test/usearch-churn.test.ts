/**
 * Re-crawling changed pages replaces their chunks: the usearch index removes the old rows and adds new ones.
 * usearch keeps each removed key as a tombstone in its key lookup table until the table grows; once re-added
 * rows had used up its empty slots, the next remove() spun forever in the index worker, so every vector and
 * hybrid search (REST, MCP, CLI) waited for ever and SIGTERM no longer stopped the server. A small index got
 * there after ~25 re-crawls of one page, since it was rebuilt only after 1,000 removals.
 * A real `doctor serve` re-crawls a page of a real HTTP site on 127.0.0.1 that changes on every request.
 */
import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Server } from './helpers/doctor-process.js';
import { tempDir } from './helpers/tmp.js';

describe('usearch under churn: re-crawling a changing page many times', () => {
  let site: HttpServer;
  let siteUrl = '';
  let revision = 0;
  const servers: Server[] = [];
  before(async () => {
    site = createServer((req, res) => {
      if (req.url !== '/page.html') return void res.writeHead(404).end();
      revision++;
      const sections = [1, 2, 3].map((s) => {
        const words = Array.from({ length: 60 }, (_, w) => `word${w} retry backoff rev${revision}`).join(' ');
        return `<h2>Section ${s} revision ${revision}</h2><p>${words}</p>`;
      });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html><head><title>Page ${revision}</title></head><body><h1>Page ${revision}</h1>${sections.join('')}</body></html>`);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const s of servers) await s.stop('SIGKILL');
    await new Promise((resolve) => site.close(resolve));
  });

  it('vector and hybrid searches keep answering, and SIGTERM stops the server, after 60 re-crawls', async () => {
    const dir = tempDir();
    const server = new Server(dir, { DOCTOR_VECTOR_ENGINE: 'usearch' });
    servers.push(server);
    await server.ready();
    const search = async (mode: string) => {
      const r = await fetch(`${server.url}/search_docs?query=retry+backoff&mode=${mode}`, { signal: AbortSignal.timeout(10_000) }).catch((e: Error) => e);
      assert.ok(!(r instanceof Error), `search_docs mode=${mode} did not answer within 10 s after revision ${revision}: ${String(r)}`);
      assert.equal(r.status, 200);
      return (await r.json()) as { results: { chunk_text: string }[] };
    };
    for (let i = 0; i < 60; i++) {
      const started = await server.api('POST', '/fetch_url', { url: `${siteUrl}/page.html`, max_pages: 1, max_depth: 0 });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const done = await server.waitForJob(started.body.job_id as string);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      await search('vector');
    }
    const hybrid = await search('hybrid');
    assert.match(hybrid.results[0]!.chunk_text, new RegExp(`rev${revision}\\b`), 'the latest revision is what is found');
    // current once a rebuild the last re-crawls started has finished (and never failed on the way)
    let status = await server.api('GET', '/index_status');
    for (let i = 0; i < 100 && status.body.freshness !== 'current'; i++) {
      assert.doesNotMatch(String(status.body.freshness), /failed/, JSON.stringify(status.body));
      await new Promise((r) => setTimeout(r, 200));
      status = await server.api('GET', '/index_status');
    }
    assert.equal(status.body.freshness, 'current', JSON.stringify(status.body));

    // A wedged index worker also kept the process from stopping.
    const stopped = server.stop('SIGTERM');
    const code = await Promise.race([stopped, new Promise((resolve) => setTimeout(() => resolve('still running'), 15_000).unref())]);
    assert.notEqual(code, 'still running', 'doctor serve did not stop within 15 s of SIGTERM');

    // Restarted on the same data directory: one page, searchable.
    const again = new Server(dir, { DOCTOR_VECTOR_ENGINE: 'usearch' });
    servers.push(again);
    await again.ready();
    const pages = await again.api('GET', '/list_doc_pages');
    assert.equal(pages.body.total_docs, 1);
    const r = await fetch(`${again.url}/search_docs?query=retry&mode=vector`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(r.status, 200);
  });
});
