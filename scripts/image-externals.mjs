/**
 * The packages the container image's bundle (scripts/image-bundle.mjs) leaves in node_modules instead of
 * inlining, and why. Everything else Doctor imports is inlined, minified, into dist/cli/; node_modules keeps
 * only these and what they depend on (scripts/image-keep.mjs).
 */
export const EXTERNALS = [
  // Native add-ons and the packages that load them.
  '@duckdb/node-api',
  '@duckdb/node-bindings',
  'usearch',
  'onnxruntime-node',
  // Loaded with createRequire (CommonJS builds with their own native and WebAssembly lookups).
  '@huggingface/transformers',
  'sharp',
  // Read their own files at run time, next to their code: pdf.js its worker, CMaps and fonts; playwright
  // its browser registry; the Swagger plugins their package.json and the /docs page's static files.
  'pdfjs-dist',
  'playwright-core',
  '@fastify/swagger',
  '@fastify/swagger-ui',
  // Use __dirname or __filename: ioredis for error stacks and its version, bullmq to find its sandboxed
  // processors' entry files, and msgpackr (bullmq's) to load its optional native add-on.
  'bullmq',
  'ioredis',
];
