/**
 * The layering rule of ARCHITECTURE.md, enforced: every relative import under src/ points to the same
 * folder or to a lower layer, and no two modules import each other (directly or around a cycle).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve('src');

/** Top to bottom. A module may import its own folder or any folder of a lower layer. */
const LAYERS: string[][] = [
  ['cli'],
  ['server'],
  ['http', 'mcp'],
  ['app'],
  ['service'],
  ['search', 'ingest', 'migrate', 'portable'],
  ['store', 'embed'],
  ['vector'],
  ['db', 'text'],
  ['config', 'log', 'version', 'types', 'worker-thread', 'stuck-threads'],
  ['app-root', 'deadline', 'closest-name', 'file-kind'],
];

function layerOf(folder: string): number {
  const i = LAYERS.findIndex((names) => names.includes(folder));
  if (i < 0) throw new Error(`src/${folder} is in no layer: add it to LAYERS in test/layering.test.ts and to ARCHITECTURE.md`);
  return i;
}

/** 'src/ingest/fetch/url.ts' -> 'ingest'; 'src/log.ts' -> 'log'. */
const folderOf = (file: string): string => relative(SRC, file).split('/')[0]!.replace(/\.ts$/, '');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative imports of a file (static, dynamic, type-only and re-exports), resolved to .ts paths. */
export function importsOf(file: string, text: string): string[] {
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) => m[1]!);
  return specs.map((s) => resolve(dirname(file), s).replace(/\.js$/, '.ts'));
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f, readFileSync(f, 'utf8'))]));

test('every import under src/ points to its own folder or a lower layer', () => {
  const upward: string[] = [];
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    for (const target of targets) {
      const to = folderOf(target);
      if (to === from) continue;
      if (layerOf(to) <= layerOf(from)) {
        upward.push(`${relative(SRC, file)} imports ${relative(SRC, target)} (${from} may not depend on ${to})`);
      }
    }
  }
  assert.deepEqual(upward, [], `imports that run back up a layer or across to a sibling:\n${upward.join('\n')}`);
});

test('no import cycles between modules', () => {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const t of graph.get(f) ?? []) {
      if (!graph.has(t)) continue;
      if (state.get(t) === 'open') cycles.push(stack.slice(stack.indexOf(t)).concat(t).map((p) => relative(SRC, p)).join(' -> '));
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  assert.deepEqual(cycles, [], `import cycles:\n${cycles.join('\n')}`);
});

test('the checker sees imports of every form, and a folder outside the layer table is an error', () => {
  const text = [
    "import { a } from '../service/x.js';",
    "import type { B } from './y.js';",
    "export { c } from '../cli/z.js';",
    "const m = await import('../http/w.js');",
    "import '../log.js';",
    "import { readFileSync } from 'node:fs';",
  ].join('\n');
  const found = importsOf(join(SRC, 'store', 'f.ts'), text).map((p) => relative(SRC, p));
  assert.deepEqual(found, ['service/x.ts', 'store/y.ts', 'cli/z.ts', 'http/w.ts', 'log.ts']);
  assert.ok(layerOf('service') < layerOf('store'), 'service sits above store');
  assert.throws(() => layerOf('newfolder'), /in no layer/);
});

test("DuckDB's packages are loaded only through src/db/duckdb.ts, after its allocator setting", () => {
  // DuckDB's allocator reads DUCKDB_JE_MALLOC_CONF once, when its library loads (src/db/allocator-env.ts);
  // a module that imported @duckdb/* itself could load the library before the setting exists.
  const gate = join(SRC, 'db', 'duckdb.ts');
  const direct = files.filter((f) => f !== gate && /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]@duckdb\//m.test(readFileSync(f, 'utf8')));
  assert.deepEqual(direct.map((f) => relative(SRC, f)), [], 'import DuckDB from src/db/duckdb.js instead');
  const gateImports = [...readFileSync(gate, 'utf8').matchAll(/^\s*(?:import|export)\b[^;]*?['"]([^'"]+)['"]/gm)].map((m) => m[1]);
  assert.equal(gateImports[0], './allocator-env.js', 'the allocator setting is the first module duckdb.ts loads');
  assert.ok(gateImports.includes('@duckdb/node-api'));
});
