#!/bin/sh
# Trims the production node_modules of Doctor's container image (Dockerfile, `deps` stage) to what the
# running service loads on this image's platform: `sh scripts/image-prune.sh node_modules`.
# Every cut here is covered by `npm run test:image` (crawl, search, Chromium rendering, and the local
# embedder loading an ONNX model through transformers.js and onnxruntime-node inside the image).
#
#  - native binaries for other systems: onnxruntime-node keeps bin/napi-v6/linux/<arch>, usearch keeps
#    prebuilds/linux-<arch> (its C/C++ sources, only for building from source, go too);
#  - onnxruntime-web: transformers.js's Node build (dist/transformers.node.cjs, what Doctor requires)
#    bundles the web runtime it would fall back to and requires only onnxruntime-node; the package
#    (~140 MB of WebAssembly) is never loaded. transformers.js's browser builds, sources and types go too;
#  - sharp's native image library: a stub stands in (see below);
#  - typescript: a peer dependency of @qdrant/js-client-grpc, for its typings; never loaded at run time;
#  - pdfjs-dist: Doctor imports the legacy build (legacy/build/pdf.mjs, which loads pdf.worker.mjs);
#    the modern build, the viewer, the minified copies and the types go. So does its optional dependency
#    @napi-rs/canvas (33 MB of native code): pdf.js needs it only to render pages, and Doctor reads their
#    text (src/ingest/local/pdf.ts loads pdf.js without it);
#  - playwright-core's web UIs (lib/vite: trace viewer, recorder, HTML report; 4 MB): Doctor only drives
#    a headless browser;
#  - source maps, TypeScript sources and declarations, Markdown (READMEs, changelogs, docs), and the
#    test suites, docs, examples and benchmarks directories of every package (licences stay); the MCP
#    SDK's example servers and clients; pdf.js's scripting sandbox (pdf.sandbox.mjs, loaded only by its
#    viewer); node-addon-api (C++ headers for building native addons, never loaded);
#  - debug symbols of native libraries (strip --strip-unneeded: DuckDB's library alone carries 11 MB;
#    the dynamic symbol table that extensions and N-API need stays).
set -eu
cd "$1"
arch=$(node -p process.arch)

ort=onnxruntime-node/bin/napi-v6
if [ -d "$ort/linux/$arch" ]; then
  find "$ort" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} +
  find "$ort/linux" -mindepth 1 -maxdepth 1 ! -name "$arch" -exec rm -rf {} +
fi
if [ -d "usearch/prebuilds/linux-$arch" ]; then
  find usearch/prebuilds -mindepth 1 -maxdepth 1 ! -name "linux-$arch" -exec rm -rf {} +
  rm -rf usearch/numkong usearch/c usearch/cpp usearch/include usearch/cmake usearch/binding.gyp
fi

rm -rf onnxruntime-web typescript .bin/tsc .bin/tsserver
# What only those (and sharp's WebAssembly build, below) depend on, per package-lock.json: onnxruntime-web's
# protobufjs, @protobufjs/*, long, flatbuffers, guid-typescript and platform; sharp's @emnapi runtime; tslib;
# and the type-only @types/node and undici-types.
rm -rf protobufjs @protobufjs long flatbuffers guid-typescript platform @emnapi tslib @types undici-types
# sharp: transformers.js requires it when it loads, for its image models; Doctor embeds text only. Its
# native image library (libvips, ~19 MB, and the WebAssembly fallback) goes; a stub takes the package's
# place, so the require succeeds and any image call fails with a message saying why.
if [ -f sharp/package.json ] && [ -f @huggingface/transformers/dist/transformers.node.cjs ]; then
  version=$(node -p 'require("./sharp/package.json").version')
  find sharp -mindepth 1 -maxdepth 1 ! -name LICENSE -exec rm -rf {} +
  rm -rf @img/sharp-* @img/colour
  rmdir @img 2>/dev/null || true
  printf '{ "name": "sharp", "version": "%s", "description": "stub: left out of Doctor'"'"'s container image (scripts/image-prune.sh)", "main": "index.cjs", "license": "Apache-2.0" }\n' "$version" >sharp/package.json
  cat >sharp/index.cjs <<'STUB'
'use strict';
// Doctor's container image leaves out sharp's native image library (scripts/image-prune.sh): Doctor embeds text only.
module.exports = function sharp() {
  throw new Error("sharp (image processing) is not in Doctor's container image: Doctor embeds text only");
};
STUB
fi
tf=@huggingface/transformers
if [ -f "$tf/dist/transformers.node.cjs" ]; then
  # Doctor requires the CommonJS Node build (src/embed/local-runtime.ts); the package's own minified copy
  # of it takes its place (1.4 -> 0.6 MB). The ES module build and the browser builds go.
  if [ -f "$tf/dist/transformers.node.min.cjs" ]; then mv "$tf/dist/transformers.node.min.cjs" "$tf/dist/transformers.node.cjs"; fi
  find "$tf/dist" -type f ! -name 'transformers.node.cjs' -delete
  rm -rf "$tf/src" "$tf/types"
fi
pdf=pdfjs-dist
if [ -f "$pdf/legacy/build/pdf.mjs" ]; then
  rm -rf "$pdf/build" "$pdf/web" "$pdf/types" "$pdf/image_decoders" "$pdf/legacy/web" "$pdf/legacy/image_decoders"
  # The legacy build's own minified copies take the place of pdf.mjs and pdf.worker.mjs (3.4 -> 1.8 MB;
  # pdf.min.mjs loads its worker as pdf.worker.mjs too).
  for f in pdf pdf.worker; do
    if [ -f "$pdf/legacy/build/$f.min.mjs" ]; then mv "$pdf/legacy/build/$f.min.mjs" "$pdf/legacy/build/$f.mjs"; fi
  done
  rm -f "$pdf"/legacy/build/*.min.mjs "$pdf"/legacy/build/pdf.sandbox.mjs
  # Image decoders (JPEG 2000, JBIG2, colour profiles): loaded only from a wasmUrl/iccUrl, which pdf.ts does
  # not pass, and only to draw images. The CMaps and standard font data stay (text of some fonts needs them).
  rm -rf "$pdf/wasm" "$pdf/iccs"
fi
# @fastify/swagger-ui's page (/docs) loads swagger-ui-bundle.js, which holds all of swagger-ui.js too.
rm -f @fastify/swagger-ui/static/swagger-ui.js
rm -rf node-addon-api @modelcontextprotocol/sdk/dist/*/examples
# Module formats nothing loads. The MCP SDK and hono: Doctor imports the SDK's ES modules, which import
# hono's; their CommonJS builds have no consumer. bullmq has no exports map, so an import of bullmq loads
# its CommonJS main and its ES build is unused. luxon (cron-parser requires build/node; an import gets
# build/es6): its AMD, browser and global builds and its sources go.
if [ -f @modelcontextprotocol/sdk/dist/esm/index.js ]; then rm -rf @modelcontextprotocol/sdk/dist/cjs; fi
if [ -f hono/dist/index.js ]; then rm -rf hono/dist/cjs; fi
if [ -f bullmq/dist/cjs/index.js ] && ! grep -q '"exports"' bullmq/package.json; then rm -rf bullmq/dist/esm; fi
if [ -f luxon/build/node/luxon.js ]; then rm -rf luxon/build/amd luxon/build/cjs-browser luxon/build/global luxon/src; fi
rm -rf @napi-rs/canvas @napi-rs/canvas-*
rmdir @napi-rs 2>/dev/null || true
rm -rf playwright-core/lib/vite
# playwright's WebP encoder (WebAssembly, loaded only to encode screenshots as WebP; Doctor takes none).
rm -f playwright-core/lib/webp_codec.wasm

find . -type f \( -name '*.map' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.tsbuildinfo' \
  -o -iname 'README*' -o -iname 'CHANGELOG*' -o -iname 'HISTORY.md' -o -iname '*.md' -o -iname '*.markdown' \) \
  ! -iname 'LICENSE*' ! -iname 'LICENCE*' -delete

# Packages' own test suites, docs, examples and benchmarks: such a directory at the top of a package (beside
# the package.json that names it; a dist/doc/ of code, as yaml has, is not at the top).
find . -type d \( -name test -o -name tests -o -name __tests__ -o -name docs -o -name doc -o -name example -o -name examples \
  -o -name benchmark -o -name benchmarks -o -name bench -o -name e2e -o -name .github \) -prune | while read -r d; do
  if [ -f "$d/../package.json" ] && grep -q '"name"' "$d/../package.json"; then rm -rf "$d"; fi
done

# Native libraries: strip whatever is still unstripped (ELF files only).
find . -type f \( -name '*.node' -o -name '*.so' -o -name '*.so.*' \) | while read -r f; do
  if [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ]; then strip --strip-unneeded "$f"; fi
done
