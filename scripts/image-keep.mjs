#!/usr/bin/env node
/**
 * Leaves in the container image's node_modules only what its bundle (scripts/image-bundle.mjs) does not
 * inline: the packages in image-externals.mjs and everything they depend on, per package-lock.json
 * (dependencies, optional and peer dependencies, resolved the way Node does: the nearest node_modules
 * up the tree). `node scripts/image-keep.mjs APP_DIR` (APP_DIR holds package-lock.json and node_modules).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXTERNALS } from './image-externals.mjs';

const app = resolve(process.argv[2] ?? '.');
const packages = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')).packages;

/** The lock key a dependency `name` of the package at `from` resolves to, or undefined. */
function resolveDep(from, name) {
  for (let dir = from; ; ) {
    const key = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (packages[key]) return key;
    if (!dir) return undefined;
    const i = dir.lastIndexOf('/node_modules/');
    dir = i < 0 ? '' : dir.slice(0, i);
  }
}

/** Dependencies only an install script uses: onnxruntime-node's downloads CUDA files (skipped: .npmrc), and
 * its CPU libraries ship in the package. */
const INSTALL_ONLY = { 'onnxruntime-node': ['adm-zip', 'global-agent'] };

const keep = new Set();
const visit = (key) => {
  if (keep.has(key)) return;
  keep.add(key);
  const p = packages[key];
  const skip = INSTALL_ONLY[key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length)] ?? [];
  for (const name of Object.keys({ ...p.dependencies, ...p.optionalDependencies, ...p.peerDependencies })) {
    if (skip.includes(name)) continue;
    const dep = resolveDep(key, name);
    if (dep) visit(dep);
  }
};
for (const name of EXTERNALS) {
  const key = resolveDep('', name);
  if (!key) throw new Error(`${name} (scripts/image-externals.mjs) is not in package-lock.json`);
  visit(key);
}

/**
 * Builds of kept packages that nothing in the image loads. Each package here is reached only from CommonJS
 * code, which gets its `require` build: @fastify/static requires glob, whose CommonJS build requires
 * minimatch, path-scurry, lru-cache, minipass, brace-expansion, ...; cron-parser (bullmq's) requires luxon;
 * transformers.node.cjs requires @huggingface/jinja and tokenizers; bullmq requires msgpackr; @fastify/swagger
 * requires yaml. So their ES module and browser builds are dead, as are msgpackr's test file, bullmq's Lua
 * sources (its scripts/*.js carry them) and playwright's command-line client (lib/tools, for `playwright-cli`).
 */
const DEAD_BUILDS = {
  luxon: ['build/es6'],
  glob: ['dist/esm'],
  minimatch: ['dist/esm'],
  'path-scurry': ['dist/esm'],
  'lru-cache': ['dist/esm'],
  minipass: ['dist/esm'],
  'brace-expansion': ['dist/esm'],
  'balanced-match': ['dist/esm'],
  '@isaacs/nonrecursive-glob-match': ['dist/esm'],
  yaml: ['browser'],
  '@huggingface/jinja': ['dist/index.js'],
  '@huggingface/tokenizers': ['dist/tokenizers.mjs', 'dist/tokenizers.min.mjs', 'dist/tokenizers.min.cjs'],
  msgpackr: ['dist/test.js'],
  bullmq: ['dist/cjs/commands'],
  'playwright-core': ['lib/tools'],
};

let removed = 0;
for (const key of Object.keys(packages)) {
  if (!key.startsWith('node_modules/') || keep.has(key)) continue;
  const dir = join(app, key);
  if (existsSync(dir)) {
    rmSync(dir, { recursive: true, force: true });
    removed++;
  }
}
let dead = 0;
for (const [name, paths] of Object.entries(DEAD_BUILDS)) {
  if (!keep.has(`node_modules/${name}`)) continue;
  for (const p of paths) {
    const at = join(app, 'node_modules', name, p);
    if (existsSync(at)) {
      rmSync(at, { recursive: true, force: true });
      dead++;
    }
  }
}
rmSync(join(app, 'node_modules/.bin'), { recursive: true, force: true });
rmSync(join(app, 'node_modules/.package-lock.json'), { force: true });
console.log(`node_modules: kept ${keep.size} packages (${EXTERNALS.length} left out of the bundle and their dependencies), removed ${removed}, and ${dead} unused builds`);
