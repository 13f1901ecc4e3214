/**
 * A hostile documentation site on 127.0.0.1 (issue 20): content codings Doctor cannot decode, bodies that
 * stream or trickle forever, a declared 50 MB body, huge titles and headings, 50,000 headings, a 9 MB
 * word, UTF-16 without a byte-order mark, NUL bytes, markup shown as text, pages of long links, and a page of
 * 10,000 links that are not found.
 */
import { createServer, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { escapedMarkupPage, hugeTitlePage, longWordPage, manyHeadingsPage } from './hostile-pages.js';

export interface HostileSite {
  url: string;
  /** Requests per path. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

const html = (title: string, body: string) => `<!DOCTYPE html><html><head><title>${title}</title></head><body><main>${body}</main></body></html>`;

/** Writes `chunk` every `everyMs` until the client goes away (never ends the response). */
function forever(res: ServerResponse, chunk: string, everyMs: number): void {
  const timer = setInterval(() => {
    if (res.destroyed) clearInterval(timer);
    else res.write(chunk);
  }, everyMs);
  res.on('close', () => clearInterval(timer));
}

export async function startHostileSite(): Promise<HostileSite> {
  const hits = new Map<string, number>();
  const makers = new Map<string, () => string>([
    ['/huge-title', hugeTitlePage],
    ['/many-headings', () => manyHeadingsPage()],
    ['/long-word', () => longWordPage()],
    ['/escaped', escapedMarkupPage],
  ]);
  const built = new Map<string, Buffer>();
  const pageAt = (path: string): Buffer | undefined => {
    const make = makers.get(path);
    if (!make) return undefined;
    if (!built.has(path)) built.set(path, Buffer.from(make()));
    return built.get(path);
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const page = pageAt(path);
    if (page) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(page.length) });
      return res.end(page);
    }
    switch (path) {
      case '/zstd':
        // an unfinished body in a coding Doctor does not decode (it used to end the process)
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'zstd' });
        res.write(Buffer.alloc(64 * 1024, 7));
        return forever(res, 'x', 200);
      case '/compress':
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'compress' });
        return res.end('not really compressed');
      case '/gzip-gzip':
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip, gzip' });
        return res.end(gzipSync(gzipSync(html('Twice', '<p>Twice gzipped text about a quokka.</p>'))));
      case '/gzip-gzip-once':
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip, gzip' });
        return res.end(gzipSync(html('Once', '<p>gzipped only once</p>')));
      case '/declared-huge':
        res.writeHead(200, { 'content-type': 'text/html', 'content-length': String(50 * 1024 * 1024) });
        res.write('<html>');
        return forever(res, 'x', 200);
      case '/stream':
        // a complete-looking page that never ends: 20 small chunks a second
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write('<html><head><title>Stream</title></head><body><main>');
        return forever(res, '<p>more streamed text</p>', 50);
      case '/trickle':
      case '/trickle-2':
        res.writeHead(200, { 'content-type': 'text/html' });
        return forever(res, '<', 300);
      case '/utf16':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-16le' });
        return res.end(Buffer.from(html('Wide', '<p>Grüße aus UTF-16 ohne Byte-Order-Mark: naïve café.</p>'), 'utf16le'));
      case '/nul':
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(html('Nul', '<p>before\u0000after: a NUL byte in the first kilobyte of an otherwise fine page.</p>'));
      case '/links': {
        // many long links, for include/exclude patterns that would backtrack for hours on a backtracking engine
        const links = Array.from({ length: 200 }, (_, i) => `<a href="/links/${'seg-'.repeat(20)}${i}">link ${i}</a>`).join(' ');
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(html('Links', `<p>A page of links.</p>${links}`));
      }
      case '/link-farm': {
        // 10,000 distinct links a page, none of them found: each page of such a site queued 10,000 more URLs
        const links = Array.from({ length: 10_000 }, (_, i) => `<a href="/farm/${i}/${'x'.repeat(40)}">${i}</a>`).join(' ');
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(html('Farm', `<p>A page of generated links.</p>${links}`));
      }
      default:
        if (path.startsWith('/links/')) {
          res.writeHead(200, { 'content-type': 'text/html' });
          // each its own text: pages with the same text as one already stored are skipped as duplicates
          return res.end(html('Linked', `<p>A linked page: ${path.slice(path.lastIndexOf('-') + 1)}.</p>`));
        }
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
