#!/usr/bin/env node
/**
 * Minifies, file by file, the JavaScript the container image keeps in node_modules (the packages its
 * bundle leaves out: scripts/image-externals.mjs): `node scripts/image-minify.mjs DIR`. Whitespace and
 * comments go and expressions are shortened; names stay (no identifier renaming), so nothing that reads a
 * function's or class's name, or sends a function's source to a browser (playwright), changes. A file
 * esbuild cannot parse as it is (a CommonJS file with a top-level `return`, say) stays as it was. Licence
 * comments stay.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { transform } from 'esbuild';

const dir = process.argv[2];
if (!dir) throw new Error('usage: node scripts/image-minify.mjs DIR');
let before = 0;
let after = 0;
let skipped = 0;
const files = [];
const walk = (d) => {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.isFile() && ['.js', '.mjs', '.cjs'].includes(extname(e.name))) files.push(p);
  }
};
walk(dir);
for (const file of files) {
  const source = readFileSync(file);
  try {
    const { code } = await transform(source.toString('utf8'), {
      loader: 'js',
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: 'inline',
      target: 'node20',
      charset: 'utf8',
    });
    const out = Buffer.from(code);
    if (out.length < source.length) {
      writeFileSync(file, out);
      before += source.length;
      after += out.length;
    }
  } catch {
    skipped++;
  }
}
console.log(`minified ${files.length - skipped} of ${files.length} JavaScript files: ${(before / 1e6).toFixed(1)} -> ${(after / 1e6).toFixed(1)} MB (${skipped} left as they were)`);
