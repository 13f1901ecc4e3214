/**
 * Doctor's installation folder: where package.json, examples/ and the web interface's assets
 * (src/http/ui/assets) are. Found by walking up from this module to the package.json named "doctor", so
 * it is the same from the TypeScript sources (tsx), the compiled dist/ and the container image's bundle
 * (dist/cli/, where every module is one of a few files: scripts/image-bundle.mjs).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function appRoot(): string {
  if (root) return root;
  const here = fileURLToPath(import.meta.url);
  for (let dir = dirname(here); ; ) {
    if (isDoctorPackage(join(dir, 'package.json'))) return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`Doctor's package.json was not found in a folder above ${here}: reinstall Doctor`);
    dir = up;
  }
}

function isDoctorPackage(file: string): boolean {
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === 'doctor';
  } catch {
    return false;
  }
}

/** A path inside Doctor's installation folder. */
export function appPath(...parts: string[]): string {
  return join(appRoot(), ...parts);
}
