/**
 * For the embedding-failure tests: a loopback site whose start page links to every other page, and an
 * OpenAI-compatible embeddings API that fails on demand.
 */
import { createServer, type Server } from 'node:http';

export const SITE_PAGES = 120;
export const EMBED_DIM = 16;

/** /p/0.html links to every other page; each page has its own text. `poison` pages carry a word the embeddings API refuses. */
export async function startSite(poison: ReadonlySet<number> = new Set()): Promise<{ url: string; fetched: () => number; close(): Promise<void> }> {
  let fetched = 0;
  const server = createServer((req, res) => {
    const n = Number(/^\/p\/(\d+)\.html$/.exec(req.url ?? '')?.[1] ?? -1);
    if (n < 0 || n >= SITE_PAGES) return void res.writeHead(404).end('not found');
    fetched++;
    const links = n === 0 ? Array.from({ length: SITE_PAGES - 1 }, (_, i) => `<a href="/p/${i + 1}.html">page ${i + 1}</a>`).join(' ') : '<a href="/p/0.html">home</a>';
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(
      `<!DOCTYPE html><html><head><title>Page ${n}</title></head><body><nav>${links}</nav><main><h1>Page ${n}</h1>` +
        `<p>Topic number ${n}: how the gadget handles case ${n * 7} of its configuration.${poison.has(n) ? ' POISON' : ''}</p></main></body></html>`,
    );
  });
  await listen(server);
  return { url: `http://127.0.0.1:${port(server)}`, fetched: () => fetched, close: () => close(server) };
}

/**
 * An embeddings API that answers the first `okRequests` requests (Infinity: all), then `failStatus`; and
 * `failStatus` for any request holding POISON. `setOkRequests` changes the first number (Infinity: the API
 * works again).
 */
export async function startEmbeddings(opts: { okRequests: number; failStatus: number }): Promise<{
  base: string;
  requests: () => number;
  setOkRequests(n: number): void;
  close(): Promise<void>;
}> {
  let requests = 0;
  let ok = 0;
  let okRequests = opts.okRequests;
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    requests++;
    const { input } = JSON.parse(body) as { input: string[] };
    if (input.some((t) => t.includes('POISON')) || ok >= okRequests) {
      res.writeHead(opts.failStatus, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: { message: 'the model server fell over' } }));
    }
    ok++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: input.map((t, index) => ({ index, embedding: Array.from({ length: EMBED_DIM }, (_, j) => ((t.length + j) % 7) + 1) })) }));
  });
  await listen(server);
  return {
    base: `http://127.0.0.1:${port(server)}/v1`,
    requests: () => requests,
    setOkRequests: (n) => void (okRequests = n),
    close: () => close(server),
  };
}

/** The base URL of an embeddings API that is gone: nothing listens on its port any more (connection refused). */
export async function deadEmbeddingsUrl(): Promise<string> {
  const gone = await startEmbeddings({ okRequests: Infinity, failStatus: 500 });
  await gone.close();
  return gone.base;
}

function listen(server: Server): Promise<void> {
  return new Promise((r) => server.listen(0, '127.0.0.1', r));
}

function port(server: Server): number {
  return (server.address() as { port: number }).port;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}
