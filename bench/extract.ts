/**
 * Extraction benchmark on real pages: CPU time per page of each step of the per-page processing
 * (src/ingest/process-page.ts: extraction, chunking, lexical vectors, keyword terms) over the HTML files of
 * documentation sites installed on this machine, and a digest of the output so that two versions of the code
 * can be compared for identical results (`--dump FILE` writes url -> markdown digest, title, links, chunks).
 * Run: `node --import tsx bench/extract.ts [--dir DIR]... [--limit N] [--dump out.json]`
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { chunkMarkdown } from '../src/ingest/extract/chunker.js';
import { extractPage } from '../src/ingest/extract/extract.js';
import { processPage } from '../src/ingest/process-page.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', multiple: true, default: ['/usr/share/doc/python3.11/html', '/usr/share/doc/sqlite3', '/usr/share/doc/postgresql-doc-15/html'] },
    limit: { type: 'string', default: '300' },
    dump: { type: 'string' },
    rounds: { type: 'string', default: '1' },
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
const dump: Record<string, unknown> = {};
for (const dir of values.dir!) {
  const files = htmlFiles(dir).slice(0, Number(values.limit));
  const pages = files.map((f) => ({ url: `http://127.0.0.1${dir}/${relative(dir, f)}`, body: readFileSync(f, 'utf8') }));
  const bytes = pages.reduce((n, p) => n + p.body.length, 0);
  let extract = 0;
  let chunk = 0;
  let full = 0;
  let chunks = 0;
  for (let round = 0; round < Number(values.rounds); round++) {
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
          dump[p.url] = { title: page.title, md: createHash('sha1').update(page.markdown).digest('hex'), links: page.links.length, linkDigest: createHash('sha1').update(page.links.join('\n')).digest('hex'), chunks: cs.length };
        }
      }
    }
  }
  const n = pages.length * Number(values.rounds);
  console.log(
    `${dir}: ${pages.length} pages, ${(bytes / pages.length / 1024).toFixed(0)} KB/page, ${(chunks / pages.length).toFixed(1)} chunks/page; CPU per page: extract ${(extract / n).toFixed(1)} ms, chunk ${(chunk / n).toFixed(1)} ms, full step (extract+chunk+vectors+terms) ${(full / n).toFixed(1)} ms`,
  );
}
if (values.dump) writeFileSync(values.dump, JSON.stringify(dump, null, 0));
