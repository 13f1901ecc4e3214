/** Doctor's version, from package.json. */
import { readFileSync } from 'node:fs';
import { appPath } from './app-root.js';

let cached: string | undefined;

export function packageVersion(): string {
  if (cached) return cached;
  try {
    cached = (JSON.parse(readFileSync(appPath('package.json'), 'utf8')) as { version: string }).version;
  } catch {
    cached = '0.0.0';
  }
  return cached;
}
