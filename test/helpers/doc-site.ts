/** A documentation site on 127.0.0.1 for crawl tests: nested pages and every kind of trouble. */
import { createServer, type Server } from 'node:http';

export interface DocSite {
  url: string;
  hits: Map<string, number>;
  /** Per-request delay in ms (to watch progress and to cancel mid-crawl). */
  delayMs: number;
  server: Server;
  close(): Promise<void>;
}

const page = (title: string, body: string, links: string[] = []) => `<!DOCTYPE html><html><head><title>${title}</title></head><body>
<nav class="sidebar">${links.map((l) => `<a href="${l}">${l}</a>`).join(' ')}</nav>
<main><h1>${title}</h1>${body}</main><footer>Site footer text</footer></body></html>`;

export async function startDocSite(opts: { delayMs?: number; pageBytes?: number } = {}): Promise<DocSite> {
  const hits = new Map<string, number>();
  const site: DocSite = { url: '', hits, delayMs: opts.delayMs ?? 0, server: undefined as unknown as Server, close: async () => {} };
  const routes = (path: string, base: string): { status: number; type?: string; body?: string | Buffer; headers?: Record<string, string> } => {
    switch (path) {
      case '/robots.txt':
        return { status: 200, type: 'text/plain', body: `User-agent: *\nDisallow: /docs/private/\nSitemap: ${base}/sitemap.xml\n` };
      case '/sitemap.xml':
        return { status: 200, type: 'application/xml', body: `<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>${base}/docs/api/hidden.html</loc></url><url><loc>${base}/outside.html</loc></url></urlset>` };
      case '/docs/':
      case '/docs/index.html':
        return {
          status: 200,
          body: page('Widget Docs', '<p>Welcome to the Widget documentation. Widgets render dashboards.</p>', [
            'guide/intro.html', 'guide/config.html', 'api/ref.html', 'missing.html', 'broken.html', 'manual.pdf', 'big.html',
            'old.html', 'loop-a.html', 'cal/?month=1', 'spa.html', 'private/secret.html', '../outside.html', 'mailto:team@widget.test',
            'guide/intro.html#setup',
          ]),
        };
      case '/docs/guide/intro.html':
        return { status: 200, body: page('Introduction', '<h2 id="setup">Setup</h2><p>Install the widget toolkit with <code>npm install widget</code>.</p><pre><code class="language-js">import { Widget } from "widget";</code></pre>', ['deep/one.html', '../index.html']) };
      case '/docs/guide/config.html':
        return { status: 200, body: page('Configuration', '<p>Set <code>WIDGET_THEME</code> to <em>dark</em> or <em>light</em>.</p><table><thead><tr><th>Key</th><th>Default</th></tr></thead><tbody><tr><td>theme</td><td>light</td></tr></tbody></table>') };
      case '/docs/guide/deep/one.html':
        return { status: 200, body: page('Deep one', '<p>A page two levels down about refreshIntervalMs.</p>', ['two.html']) };
      case '/docs/guide/deep/two.html':
        return { status: 200, body: page('Deep two', '<p>A page three levels down.</p>', ['three.html']) };
      case '/docs/guide/deep/three.html':
        return { status: 200, body: page('Deep three', '<p>Too deep for max_depth 3.</p>') };
      case '/docs/api/ref.html':
        return { status: 200, body: page('API reference', '<p>The <code>renderDashboard(options)</code> function draws a dashboard.</p>') };
      case '/docs/api/hidden.html':
        return { status: 200, body: page('Hidden API', '<p>Only listed in the sitemap: the frobnicate endpoint.</p>') };
      case '/docs/private/secret.html':
        return { status: 200, body: page('Secret', '<p>robots.txt forbids this page.</p>') };
      case '/outside.html':
        return { status: 200, body: page('Outside', '<p>Out of scope.</p>') };
      case '/docs/missing.html':
        return { status: 404, body: 'not found' };
      case '/docs/broken.html':
        return { status: 500, body: 'server error' };
      case '/docs/manual.pdf':
        return { status: 200, type: 'application/pdf', body: Buffer.from('%PDF-1.4 fake pdf body\n') };
      case '/docs/big.html':
        return { status: 200, body: page('Big', `<p>${'big '.repeat(Math.ceil((opts.pageBytes ?? 200_000) / 4))}</p>`) };
      case '/docs/old.html':
        return { status: 301, headers: { location: `${base}/docs/guide/intro.html` } };
      case '/docs/loop-a.html':
        return { status: 302, headers: { location: '/docs/loop-b.html' } };
      case '/docs/loop-b.html':
        return { status: 302, headers: { location: '/docs/loop-a.html' } };
      case '/docs/spa.html':
        return {
          status: 200,
          body: `<!DOCTYPE html><html><head><title>SPA</title></head><body><div id="app"></div><script>
document.getElementById('app').innerHTML = '<main><h1>Rendered page</h1><p>' + 'This text exists only after JavaScript runs. '.repeat(8) + '</p></main>';
</script></body></html>`,
        };
      default:
        if (path.startsWith('/docs/cal/')) return { status: 200, body: '' };
        return { status: 404, body: 'not found' };
    }
  };
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    hits.set(u.pathname + u.search, (hits.get(u.pathname + u.search) ?? 0) + 1);
    const base = `http://${req.headers.host}`;
    setTimeout(() => {
      if (u.pathname === '/docs/cal/') {
        // a link trap: every month links to the next, forever
        const m = Number(u.searchParams.get('month') ?? 1);
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(page(`Calendar ${m}`, `<p>Events of month ${m}.</p>`, [`?month=${m + 1}`, `?month=${m + 2}`]));
      }
      const r = routes(u.pathname, base);
      res.writeHead(r.status, { 'content-type': r.type ?? 'text/html; charset=utf-8', ...(r.headers ?? {}) });
      res.end(r.body ?? '');
    }, site.delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  site.server = server;
  site.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  site.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return site;
}
