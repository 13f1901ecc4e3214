/**
 * The web interface's static files (src/http/ui/assets: one script, one stylesheet, an icon), read once,
 * gzipped once, served with a content hash in their URL so browsers keep them until they change.
 * Nothing comes from a CDN: the interface works offline.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { appPath } from '../../app-root.js';

/** The same folder from the sources (tsx), dist/ and the container image: assets are not compiled. */
const ASSET_DIR = appPath('src', 'http', 'ui', 'assets');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface Asset {
  body: Buffer;
  gzip: Buffer;
  type: string;
  /** First 12 hex digits of the SHA-256 of the body: the `v` of its URL and its ETag. */
  hash: string;
}

let cache: Map<string, Asset> | undefined;

export function assets(): Map<string, Asset> {
  if (cache) return cache;
  cache = new Map();
  for (const name of readdirSync(ASSET_DIR)) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = readFileSync(join(ASSET_DIR, name));
    cache.set(name, { body, gzip: gzipSync(body, { level: 9 }), type, hash: createHash('sha256').update(body).digest('hex').slice(0, 12) });
  }
  return cache;
}

/** The URL of an asset, versioned by its content. */
export function assetUrl(name: string): string {
  const a = assets().get(name);
  if (!a) throw new Error(`no web interface asset ${name} in ${ASSET_DIR}`);
  return `/ui/assets/${name}?v=${a.hash}`;
}
