/**
 * Local embedding benchmark: chunks/s embedded by the `local` provider (transformers.js + onnxruntime-node
 * on CPU) over real documentation chunks, through the worker thread as Doctor runs it and in process for
 * comparison (the worker's overhead), by batch size; query latency alone and while a bulk embedding runs
 * (queries go first); the longest event-loop stall of the main thread in both set-ups.
 *
 * Models: the tiny test model (test/helpers/tiny_bert.py, needs Debian's python3-onnx); a model of
 * bge-small-en-v1.5's shape and arithmetic (12 layers of 384, feed-forward 1536, up to 512 tokens, CLS
 * pooling, int8 weights quantised dynamically like the hub's q8 file) with random weights and the test
 * vocabulary: its speed, not its quality, stands for the default model's where none can be downloaded; every
 * known model already downloaded in DOCTOR_MODEL_DIR (default data/models; `doctor models pull` one where the
 * model hub is reachable); and --model <dir or hub id>. --skip-shaped leaves out the bge-small-shaped model.
 * Chunks: Debian's postgresql-doc-15 HTML (`apt-get install postgresql-doc-15`), extracted and chunked as a
 * crawl does (1,000 / 200 characters, page title and headings prefixed), or --dir <html directory>.
 *
 * Run: `npm run bench:embed [-- --chunks 2000 --runs 3 --model /path/to/model]` (writes bench/results/embed.md).
 */
import { readdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { KNOWN_LOCAL_MODELS, LocalEmbedder, modelPresent, resolveLocalModel, type LocalModel } from '../src/embed/index.js';
import { modelFiles } from '../src/embed/local-models.js';
import * as runtime from '../src/embed/local-runtime.js';
import { chunkMarkdown, chunkSearchText } from '../src/ingest/extract/chunker.js';
import { extractPage } from '../src/ingest/extract/extract.js';
import { makeTinyModel } from '../test/helpers/tiny-model.js';
import { tempDir } from '../test/helpers/tmp.js';
import { machineDescription, median, percentile } from './machine.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/usr/share/doc/postgresql-doc-15/html' },
    chunks: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '3' },
    model: { type: 'string', multiple: true, default: [] },
    'skip-shaped': { type: 'boolean', default: false },
    'shaped-chunks': { type: 'string', default: '64' },
    'model-dir': { type: 'string', default: process.env.DOCTOR_MODEL_DIR ?? join(process.env.DATA_DIR ?? 'data', 'models') },
    out: { type: 'string', default: 'bench/results/embed.md' },
  },
});
const N = Number(values.chunks);
const RUNS = Number(values.runs);
const threads = availableParallelism();

// ---- chunks of real documentation -------------------------------------------------------------------
if (!existsSync(values.dir!)) {
  console.error(`${values.dir} not found: install it with \`apt-get install postgresql-doc-15\` or pass --dir <html directory>.`);
  process.exit(1);
}
const allTexts: string[] = [];
for (const f of readdirSync(values.dir!).filter((f) => f.endsWith('.html')).sort()) {
  const page = extractPage({ body: readFileSync(join(values.dir!, f), 'utf8'), contentType: 'text/html', url: `https://docs.test/${f}` });
  for (const c of chunkMarkdown(page.markdown, { maxChars: 1000, overlap: 200, title: page.title })) allTexts.push(chunkSearchText(c, page.title));
  if (allTexts.length >= N) break;
}
allTexts.length = Math.min(allTexts.length, N);
const lengths = allTexts.map((t) => t.length).sort((a, b) => a - b);
const QUERIES = [
  'how do I create an index concurrently',
  'restore a database from a dump file',
  'what does vacuum full do',
  'configure streaming replication',
  'json operators for querying nested keys',
  'permissions for a role to read one schema',
];

// ---- models -------------------------------------------------------------------------------------------
const models: { label: string; m: LocalModel; chunks: number }[] = [
  { label: 'tiny test model (1 layer, 32-d, 64 tokens)', m: resolveLocalModel(makeTinyModel(join(tempDir(), 'tiny-bert')), 'unused'), chunks: N },
];
if (!values['skip-shaped']) {
  // A real WordPiece vocabulary has ~30k entries; the corpus's 20k most frequent words give realistic token counts.
  const freq = new Map<string, number>();
  for (const t of allTexts) for (const w of t.toLowerCase().match(/[a-z0-9]+/g) ?? []) freq.set(w, (freq.get(w) ?? 0) + 1);
  const words = [...freq.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20_000).map(([w]) => w);
  const dir = makeTinyModel(join(tempDir(), 'bge-small-shaped'), {
    pooling: 'cls',
    quantisation: 'dynamic',
    extraWords: words,
    shape: { hidden: 384, layers: 12, ffn: 1536, maxPositions: 512 },
  });
  models.push({
    label: 'bge-small-shaped model (12 layers, 384-d, 512 tokens, dynamic int8 like the hub q8 file; random weights: speed only)',
    m: resolveLocalModel(dir, 'unused'),
    chunks: Math.min(N, Number(values['shaped-chunks'])),
  });
}
const modelDir = resolve(values['model-dir']!);
for (const k of KNOWN_LOCAL_MODELS) {
  const m = resolveLocalModel(k.id, modelDir);
  if (modelPresent(m.dir)) models.push({ label: `${k.id} (q8)`, m, chunks: Math.min(N, Number(values['shaped-chunks'])) });
}
for (const name of values.model ?? []) models.push({ label: name, m: resolveLocalModel(name, modelDir), chunks: Math.min(N, Number(values['shaped-chunks'])) });
const missingReal = KNOWN_LOCAL_MODELS.filter((k) => !modelPresent(resolveLocalModel(k.id, modelDir).dir)).map((k) => k.id);

interface Measure {
  wallMs: number;
  cpuMs: number;
  maxStallMs: number;
}

async function measure(fn: () => Promise<unknown>): Promise<Measure> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  h.disable();
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, maxStallMs: h.max / 1e6 };
}

/** Mean tokens per chunk as the model's tokenizer cuts them. */
async function tokensPerChunk(m: LocalModel, texts: string[]): Promise<number> {
  const t = createRequire(import.meta.url)('@huggingface/transformers') as typeof import('@huggingface/transformers');
  const tok = await t.AutoTokenizer.from_pretrained(m.dir, { local_files_only: true });
  let total = 0;
  for (const x of texts) total += Math.min(m.maxTokens, (tok(m.documentPrefix + x).input_ids as { dims: number[] }).dims.at(-1)!);
  return Math.round(total / texts.length);
}

/** The same batching as LocalEmbedder, in this thread. */
async function inProcess(m: LocalModel, batch: number, texts: string[]): Promise<void> {
  const order = texts.map((_, i) => i).sort((a, b) => texts[a]!.length - texts[b]!.length);
  for (let s = 0; s < order.length; s += batch) {
    await runtime.embed(order.slice(s, s + batch).map((i) => m.documentPrefix + texts[i]!), m.pooling, m.maxTokens);
  }
}

const lines: string[] = [];
const say = (l = '') => {
  lines.push(l);
  console.log(l);
};
const load0 = loadavg()[0]!;
say('# Local embedding benchmark');
say();
say(machineDescription());
say(`- ONNX Runtime threads: ${threads}; load average at start ${load0.toFixed(1)} (other work on the machine slows wall-clock numbers; the ratios come from the same run)`);
say(`- Data: ${allTexts.length} chunks of ${values.dir} (Debian postgresql-doc-15 HTML), extracted and chunked as a crawl does; characters per chunk median ${median(lengths)}, p90 ${percentile(lengths, 90)}`);
say(`- ${RUNS} runs, each measuring every setting in turn after one warm-up pass each; medians. chunks/s = chunks / wall time; CPU = process CPU time (all threads) per chunk; stall = longest event-loop delay of the main thread.`);
say();

for (const { label, m, chunks } of models) {
  const texts = allTexts.slice(0, chunks);
  const files = modelFiles(m.dir);
  if (!files.weights) {
    say(`## ${label}: files missing (${files.missing.join(', ')}), skipped`);
    continue;
  }
  say(`## ${label}`);
  say();
  say(`${texts.length} chunks; ${await tokensPerChunk(m, texts)} tokens per chunk on average (cut at ${m.maxTokens}).`);
  say();
  const load = (allowSpinning: boolean) => runtime.load({ dir: m.dir, dtype: files.weights!.dtype, subfolder: files.weights!.subfolder, threads, allowSpinning });
  const emb = await LocalEmbedder.open(m, { threads });
  // The batch-size sweep on the tiny model; models of real size (seconds per pass) try batch 8 only.
  const sweep = label.startsWith('tiny') ? [1, 16, 32] : [16];
  const others = new Map<number, LocalEmbedder>();
  for (const batch of sweep) others.set(batch, await LocalEmbedder.open(m, { threads, batchSize: batch }));
  // Settings are measured in turn within each run, so that the machine's load changes hit them alike.
  const settings: { name: string; prepare?: () => Promise<unknown>; run: () => Promise<unknown> }[] = [
    { name: 'worker thread, batch 8 (as Doctor runs it)', run: () => emb.embed(texts) },
    { name: 'in process (no worker), batch 8', prepare: () => load(false), run: () => inProcess(m, 8, texts) },
    { name: 'in process, ONNX Runtime threads spinning between runs (its default; Doctor turns it off)', prepare: () => load(true), run: () => inProcess(m, 8, texts) },
    ...sweep.map((b) => ({ name: `worker thread, batch ${b}`, run: () => others.get(b)!.embed(texts) })),
  ];
  for (const st of settings) {
    await st.prepare?.();
    await st.run(); // warm-up: one full pass
  }
  const results = settings.map(() => [] as Measure[]);
  for (let r = 0; r < RUNS; r++) {
    for (let i = 0; i < settings.length; i++) {
      await settings[i]!.prepare?.();
      results[i]!.push(await measure(settings[i]!.run));
    }
  }
  say('| setting | chunks/s | CPU ms per chunk | longest main-thread stall (ms) |');
  say('|---|---:|---:|---:|');
  const walls = settings.map((st, i) => {
    const ms = results[i]!;
    const wall = median(ms.map((x) => x.wallMs));
    say(`| ${st.name} | ${(texts.length / (wall / 1000)).toFixed(1)} | ${(median(ms.map((x) => x.cpuMs)) / texts.length).toFixed(2)} | ${median(ms.map((x) => x.maxStallMs)).toFixed(0)} |`);
    return { wall, cpu: median(ms.map((x) => x.cpuMs)) };
  });
  for (const e of others.values()) await e.close();
  say();
  say(
    `Worker overhead (batch 8): ${((walls[0]!.wall / walls[1]!.wall - 1) * 100).toFixed(1)}% wall time, ${((walls[0]!.cpu / walls[1]!.cpu - 1) * 100).toFixed(1)}% CPU ` +
      `(worker ${(walls[0]!.wall / 1000).toFixed(2)} s vs in process ${(walls[1]!.wall / 1000).toFixed(2)} s for ${texts.length} chunks).`,
  );

  // Query latency: alone, and while the whole set is being embedded (queries jump the queue).
  const alone: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    await emb.embed([QUERIES[i % QUERIES.length]!], { input: 'query' });
    alone.push(performance.now() - t);
  }
  const during: number[] = [];
  const bulk = emb.embed(texts);
  let bulkDone = false;
  void bulk.then(() => (bulkDone = true));
  for (let i = 0; i < 30 && !bulkDone; i++) {
    const t = performance.now();
    await emb.embed([QUERIES[i % QUERIES.length]!], { input: 'query' });
    during.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 20));
  }
  await bulk;
  say(
    `Query embedding: p50 ${median(alone).toFixed(1)} ms alone; during a bulk embedding p50 ${median(during).toFixed(1)} ms, max ${Math.max(...during).toFixed(1)} ms (${during.length} queries).`,
  );
  say();
  await emb.close();
}

if (models.every((x) => x.label.startsWith('tiny') || x.label.startsWith('bge-small-shaped'))) {
  say(`No real model was available here (no model hub is reachable from this machine; none of ${missingReal.join(', ')} in ${modelDir}).`);
  say('With one downloaded (`doctor models pull`, or `--model /path/to/dir`), this benchmark measures it too.');
}
say(`Load average at the end: ${loadavg()[0]!.toFixed(1)}.`);
writeFileSync(values.out!, lines.join('\n') + '\n');
console.log(`\nwrote ${values.out}`);
