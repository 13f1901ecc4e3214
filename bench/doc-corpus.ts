/**
 * A large corpus of real documentation chunks for search benchmarks: the chunks Doctor made of Debian's
 * postgresql-doc-15 and sqlite3-doc (bench/eval/corpus.ts crawls them), replicated and perturbed up to the
 * wanted size. Replica 0 is the crawl itself; in every further replica each word outside the 2,000 most
 * frequent ones is respelled (vowels rotated by a per-replica amount, so "descaling" becomes "dosculeng"),
 * a few sentences are dropped or repeated, and page ids, URLs and tags are the replica's own. So common
 * words stay common (the hard case for a keyword engine), the vocabulary grows with the size as it does
 * when many sites are indexed, and no two chunks are copies.
 *
 * The database is cached under bench/.data/ by size and dimension, with the usearch index beside it.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LexicalEmbedder } from '../src/embed/lexical.js';
import { openStore } from '../src/store/store.js';
import { tokenize } from '../src/text/tokenize.js';
import { DEFAULT_CORPUS_PATH, EVAL_DIM, ensureCorpus } from './eval/corpus.js';

export const TAGS = Array.from({ length: 20 }, (_, i) => `site-${i}`);

interface SourceChunk {
  text: string;
  title: string | null;
  heading_path: string | null;
  page_id: string;
  url: string;
  chunk_index: number | null;
}

export interface BenchCorpus {
  path: string;
  chunks: number;
  pages: number;
  /** Seconds spent writing the chunks now (undefined when reused). */
  writeSeconds?: number;
  /** Chunks/s of the whole write path (vectors + payloads + keyword rows), embedding excluded. */
  writeRate?: number;
  /** The 2,000 most frequent words of the source, most frequent first, with their share of chunks. */
  common: { word: string; share: number }[];
}

const VOWELS = 'aeiou';
function respell(word: string, shift: number): string {
  let out = '';
  for (const ch of word) {
    const lower = ch.toLowerCase();
    const v = VOWELS.indexOf(lower);
    if (v < 0) out += ch;
    else {
      const r = VOWELS[(v + shift) % 5]!;
      out += ch === lower ? r : r.toUpperCase();
    }
  }
  return out;
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function perturb(text: string, replica: number, keep: ReadonlySet<string>, rand: () => number): string {
  if (replica === 0) return text;
  const shift = 1 + (replica % 4);
  const sentences = text.split(/(?<=[.!?])\s+/);
  const out: string[] = [];
  for (const s of sentences) {
    const r = rand();
    if (r < 0.05 && sentences.length > 2) continue; // dropped
    const t = s.replace(/[\p{L}\p{N}_]+/gu, (w) => (keep.has(w.toLowerCase()) ? w : respell(w, shift + Math.floor(replica / 4))));
    out.push(t);
    if (r > 0.97) out.push(t); // repeated
  }
  return out.join(' ');
}

export async function ensureBenchCorpus(o: { chunks: number; dim: number; dir?: string; log?: (s: string) => void }): Promise<BenchCorpus> {
  const log = o.log ?? (() => {});
  const dir = o.dir ?? join('bench', '.data', 'search');
  const path = join(dir, `docs-${o.chunks}-${o.dim}d.duckdb`);
  const stampPath = `${path}.json`;
  const eval_ = await ensureCorpus({ path: DEFAULT_CORPUS_PATH, log });
  const src = await openStore({ path: eval_.path, embedding: new LexicalEmbedder(EVAL_DIM) });
  const source = await src.db.all<SourceChunk>(
    "SELECT coalesce(text_chunk, '') AS text, title, heading_path, page_id, url, chunk_index FROM document_embeddings ORDER BY seq",
  );
  await src.close();
  const df = new Map<string, number>();
  for (const c of source) for (const t of new Set(tokenize(c.text))) df.set(t, (df.get(t) ?? 0) + 1);
  const common = [...df.entries()].sort((a, b) => b[1] - a[1]).slice(0, 2000).map(([word, n]) => ({ word, share: n / source.length }));
  const keep = new Set(common.map((c) => c.word));

  const stamp = JSON.stringify({ chunks: o.chunks, dim: o.dim, source: source.length, version: 1 });
  if (existsSync(path) && existsSync(stampPath) && readFileSync(stampPath, 'utf8') === stamp) {
    const store = await openStore({ path, embedding: new LexicalEmbedder(o.dim) });
    const [row] = await store.db.all<{ n: number }>('SELECT count(DISTINCT page_id)::INTEGER AS n FROM document_embeddings');
    const counts = { chunks: await store.chunks.count(), pages: row!.n };
    await store.close();
    return { path, ...counts, common };
  }
  mkdirSync(dirname(path), { recursive: true });
  for (const f of [path, `${path}.wal`, `${path}.usearch`, `${path}.usearch.json`, stampPath]) rmSync(f, { force: true });

  const embedder = new LexicalEmbedder(o.dim);
  const store = await openStore({ path, embedding: embedder });
  const rand = rng(42);
  let written = 0;
  let writeMs = 0;
  const pages = new Set<string>();
  const BATCH = 2000;
  for (let replica = 0; written < o.chunks; replica++) {
    for (let start = 0; start < source.length && written < o.chunks; start += BATCH) {
      const part = source.slice(start, Math.min(start + BATCH, start + o.chunks - written));
      const texts = part.map((c) => perturb(c.text, replica, keep, rand));
      const titles = part.map((c) => (c.title === null ? null : perturb(c.title, replica, keep, rand)));
      const headings = part.map((c) => (c.heading_path === null ? null : perturb(c.heading_path, replica, keep, rand)));
      const vectors = await embedder.embed(texts.map((t, i) => [titles[i], headings[i], t].filter(Boolean).join('\n\n')));
      const t0 = performance.now();
      await store.db.transaction(async (tx) => {
        await store.chunks.writeBatch(
          tx,
          vectors,
          part.map((c, i) => {
            const pageId = `r${replica}-${c.page_id}`;
            pages.add(pageId);
            return {
              text: texts[i]!,
              page_id: pageId,
              url: `${c.url}#r${replica}`,
              domain: `r${replica}.docs.test`,
              tags: [TAGS[replica % TAGS.length]!],
              job_id: 'bench',
              chunk_index: c.chunk_index,
              title: titles[i],
              heading_path: headings[i],
            };
          }),
        );
      });
      writeMs += performance.now() - t0;
      written += part.length;
      log(`\rwrote ${written.toLocaleString('en')}/${o.chunks.toLocaleString('en')} chunks`);
    }
  }
  log('\n');
  await store.db.checkpoint();
  await store.close();
  writeFileSync(stampPath, stamp);
  return { path, chunks: written, pages: pages.size, writeSeconds: writeMs / 1000, writeRate: written / (writeMs / 1000), common };
}
