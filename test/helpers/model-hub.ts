/**
 * A model hub on 127.0.0.1 laid out like huggingface.co: GET /<org>/<name>/resolve/<revision>/<file> serves
 * the files of the repositories it was given (with content-length, as the hub does), 404 "Entry not found"
 * otherwise. Records every request.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

export interface ModelHub {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

export async function startModelHub(repos: Record<string, string>): Promise<ModelHub> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const m = /^\/([^/]+\/[^/]+)\/resolve\/[^/]+\/(.+)$/.exec(req.url ?? '');
    const dir = m ? repos[decodeURIComponent(m[1]!)] : undefined;
    const file = dir && m ? join(dir, decodeURIComponent(m[2]!)) : undefined;
    if (!file || file.includes('..') || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('Entry not found');
    }
    res.writeHead(200, { 'content-length': statSync(file).size, 'content-type': 'application/octet-stream' });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
