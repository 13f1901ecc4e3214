#!/usr/bin/env node
/**
 * Bundles Doctor for its container image (Dockerfile, `build` stage): `node scripts/image-bundle.mjs OUT`.
 * The CLI and every worker-thread module become one minified ES module each in OUT/cli/, with the code they
 * share in chunks beside them, and every imported package inlined except those in image-externals.mjs. The
 * image then ships only those packages in node_modules (scripts/image-keep.mjs): ~25 MB of JavaScript,
 * most of it never loaded, becomes ~5 MB.
 *
 * Everything the code finds by its own location works the same from OUT/cli/: workers are siblings of
 * their callers (startWorker: `./<name>.js` beside import.meta.url), and package.json, examples/ and the web
 * interface's assets are found from Doctor's installation folder (src/app-root.ts). Tests and `npm run
 * build` do not use this; `npm run test:image` runs the image built with it.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { build, transform } from 'esbuild';
import { EXTERNALS } from './image-externals.mjs';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const out = resolve(process.argv[2] ?? 'bundle');

/** Doctor's TypeScript sources: path -> text. */
function sources() {
  const files = new Map();
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.set(p, readFileSync(p, 'utf8'));
    }
  };
  walk(join(root, 'src'));
  return files;
}
const src = sources();

/** Packages the sources load with createRequire(import.meta.url)('name'), which esbuild leaves alone. */
function requiredPackages() {
  const found = new Set();
  for (const text of src.values()) for (const m of text.matchAll(/createRequire\(import\.meta\.url\)\('([^']+)'\)/g)) found.add(m[1]);
  return [...found].sort();
}

/** The worker-thread modules: every startWorker(import.meta.url, 'name') names a module beside its caller. */
function workerEntries() {
  const entries = new Set();
  for (const [p, text] of src) {
    for (const m of text.matchAll(/startWorker\(\s*import\.meta\.url,\s*'([\w-]+)'/g)) entries.add(join(dirname(p), `${m[1]}.ts`));
  }
  return [...entries];
}

const entryPoints = [join(root, 'src/cli/main.ts'), ...workerEntries()];
const names = entryPoints.map((p) => p.split('/').pop().replace(/\.ts$/, ''));
if (new Set(names).size !== names.length) throw new Error(`two entry points share a file name: ${names.join(', ')}`);

const result = await build({
  absWorkingDir: root,
  entryPoints,
  outdir: join(out, 'cli'),
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  keepNames: true, // error classes and functions keep their names (messages, logs, instanceof-free checks)
  legalComments: 'none',
  // The few CommonJS packages inlined call require() for Node's own modules.
  banner: { js: "import { createRequire as __doctorRequire } from 'node:module'; const require = __doctorRequire(import.meta.url);" },
  external: [...EXTERNALS, ...EXTERNALS.map((p) => `${p}/*`)],
  metafile: true,
  logLevel: 'warning',
});

// An inlined package that looks for files beside itself would look in OUT/cli/ and fail, or find the wrong
// file: such a package belongs in image-externals.mjs. These use __dirname or __filename only where Doctor
// never goes, or guard it:
const DIRNAME_ALLOWED = {
  pino: 'only to start a transport worker; Doctor logs with pino.destination (src/log.ts)',
  'thread-stream': "pino's transport worker, the same",
  undici: 'typeof-guarded, for stack traces only',
};
const usesDirname = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  const loader = /\.[mc]?ts$/.test(input) ? 'ts' : /\.[mc]?js$/.test(input) ? 'js' : undefined;
  if (!m || !loader || DIRNAME_ALLOWED[m[1]]) continue;
  const code = (await transform(readFileSync(join(root, input), 'utf8'), { minifyWhitespace: true, loader })).code;
  if (/\b__(dirname|filename)\b/.test(code)) usesDirname.add(m[1]);
}
if (usesDirname.size) throw new Error(`inlined packages use __dirname or __filename: ${[...usesDirname].join(', ')}; add them to scripts/image-externals.mjs`);
const builtins = new Set(builtinModules);
const imported = new Set();
for (const meta of Object.values(result.metafile.outputs)) {
  for (const i of meta.imports) {
    if (i.external && !i.path.startsWith('node:') && !builtins.has(i.path)) imported.add(i.path);
  }
}
// What the image's checks load: the external packages the bundle imports, and those it requires.
const required = requiredPackages();
const unlisted = required.filter((p) => !EXTERNALS.includes(p));
if (unlisted.length) throw new Error(`loaded with createRequire but not in scripts/image-externals.mjs: ${unlisted.join(', ')}`);
writeFileSync(join(out, 'cli', 'externals.json'), JSON.stringify({ externals: EXTERNALS, imported: [...imported].sort(), required }, null, 2) + '\n');
let bytes = 0;
for (const f of readdirSync(join(out, 'cli'))) bytes += readFileSync(join(out, 'cli', f)).length;
console.log(`bundled ${entryPoints.length} entry points into ${relative(root, join(out, 'cli')) || '.'}: ${(bytes / 1e6).toFixed(1)} MB`);
