/**
 * Extraction benchmark on real pages: CPU time per page of each step of the per-page processing
 * (src/ingest/process-page.ts: extraction, chunking, lexical vectors, keyword terms) over the HTML files of
 * documentation sites installed on this machine (Debian's python3.11-doc, sqlite3-doc, postgresql-doc-15), and a
 * digest of the output so that two versions of the code can be compared for identical results (`--dump FILE`
 * writes url -> markdown digest, title, links, chunks; with `--markdown` the Markdown and links themselves).
 * With `--rounds N` every page is processed N times and the median round is reported (CPU time, so that a
 * noisy machine changes the numbers little); `--out FILE` writes the results as Markdown with machine and date.
 * Run: `npm run bench:extract` or
 * `node --import tsx bench/extract.ts [--dir DIR]... [--limit N] [--rounds N] [--out FILE] [--dump out.json [--markdown]]`
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { chunkMarkdown } from '../src/ingest/extract/chunker.js';
import { extractPage } from '../src/ingest/extract/extract.js';
import { processPage } from '../src/ingest/process-page.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', multiple: true, default: ['/usr/share/doc/python3.11/html', '/usr/share/doc/sqlite3', '/usr/share/doc/postgresql-doc-15/html'] },
    limit: { type: 'string', default: '2000' },
    dump: { type: 'string' },
    rounds: { type: 'string', default: '1' },
    /** With --dump: put each page's Markdown and links themselves in the dump (to diff two versions' output). */
    markdown: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});

function htmlFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const s = statSync(p);
    if (s.isDirectory()) htmlFiles(p, out);
    else if (name.endsWith('.html')) out.push(p);
  }
  return out;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rounds = Math.max(1, Number(values.rounds));
const dump: Record<string, unknown> = {};
const rows: string[] = [];
for (const dir of values.dir!) {
  const files = htmlFiles(dir).slice(0, Number(values.limit));
  const pages = files.map((f) => ({ url: `http://127.0.0.1${dir}/${relative(dir, f)}`, body: readFileSync(f, 'utf8') }));
  const bytes = pages.reduce((n, p) => n + p.body.length, 0);
  const perRound = { extract: [] as number[], chunk: [] as number[], full: [] as number[] };
  let chunks = 0;
  for (let round = 0; round < rounds; round++) {
    let extract = 0;
    let chunk = 0;
    let full = 0;
    for (const p of pages) {
      let t = cpuMs();
      const page = extractPage({ body: p.body, contentType: 'text/html', url: p.url });
      extract += cpuMs() - t;
      t = cpuMs();
      const cs = chunkMarkdown(page.markdown, { maxChars: 1000, overlap: 200, title: page.title });
      chunk += cpuMs() - t;
      t = cpuMs();
      processPage({ body: p.body, contentType: 'text/html', url: p.url, chunking: { maxChars: 1000, overlap: 200 }, lexicalDimension: 1536, keywordTerms: true });
      full += cpuMs() - t;
      if (round === 0) {
        chunks += cs.length;
        if (values.dump) {
          dump[p.url] = {
            title: page.title,
            md: createHash('sha1').update(page.markdown).digest('hex'),
            links: page.links.length,
            linkDigest: createHash('sha1').update(page.links.join('\n')).digest('hex'),
            chunks: cs.length,
            ...(values.markdown ? { markdown: page.markdown, linkList: page.links } : {}),
          };
        }
      }
    }
    perRound.extract.push(extract / pages.length);
    perRound.chunk.push(chunk / pages.length);
    perRound.full.push(full / pages.length);
  }
  const [extract, chunk, full] = [median(perRound.extract), median(perRound.chunk), median(perRound.full)];
  console.log(
    `${dir}: ${pages.length} pages, ${(bytes / pages.length / 1024).toFixed(0)} KB/page, ${(chunks / pages.length).toFixed(1)} chunks/page; CPU per page (median of ${rounds}): extract ${extract.toFixed(1)} ms, chunk ${chunk.toFixed(1)} ms, full step (extract+chunk+vectors+terms) ${full.toFixed(1)} ms`,
  );
  rows.push(`| ${dir} | ${pages.length} | ${(bytes / pages.length / 1024).toFixed(0)} | ${(chunks / pages.length).toFixed(1)} | ${extract.toFixed(1)} | ${chunk.toFixed(1)} | ${full.toFixed(1)} |`);
}
if (values.dump) writeFileSync(values.dump, JSON.stringify(dump, null, 0));
if (values.out) {
  const md = [
    '# Extraction benchmark (bench/extract.ts)',
    '',
    `${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}.`,
    `Every HTML file of each site, read from disk (no HTTP), processed in one thread; CPU time per page (process.cpuUsage), median of ${rounds} rounds.`,
    '"full step" is processPage: extraction, chunking (1,000 chars, 200 overlap), 1536-d lexical vectors and keyword terms.',
    '',
    '| site | pages | KB/page | chunks/page | extract ms/page | chunk ms/page | full step ms/page |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n');
  writeFileSync(values.out, md);
}
