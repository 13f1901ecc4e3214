/**
 * Per-statement costs a crawl pays for every page: the lookup of the stored page by URL (PageStore.getByUrl,
 * against the ORDER BY ... LIMIT 1 form it replaced) at two table sizes, and a small statement with a
 * parameter prepared afresh (DuckDB's node API) against one kept by src/db/statement-cache.ts.
 *
 * Pages hold the text of Debian's python3.11-doc HTML files (cycled to reach the page count), so their sizes
 * are those of a real documentation site. CPU is the process's (every thread) per statement, median of rounds.
 *
 * Run: `npm run bench:statements [-- --rounds 3 --lookups 300 --sizes 600,5000 --docs /usr/share/doc/python3.11/html]`
 * Writes bench/results/statements.md.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '../src/db/duckdb.js';
import { readCached } from '../src/db/statement-cache.js';
import { openStore } from '../src/store/store.js';
import { machineDescription, median } from './machine.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    lookups: { type: 'string', default: '300' },
    sizes: { type: 'string', default: '600,5000' },
    docs: { type: 'string', default: '/usr/share/doc/python3.11/html' },
    out: { type: 'string', default: 'bench/results/statements.md' },
  },
});
const rounds = Number(values.rounds);
const lookups = Number(values.lookups);
const sizes = values.sizes!.split(',').map(Number);

function htmlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return htmlFiles(p);
    return e.name.endsWith('.html') ? [p] : [];
  });
}
const texts = htmlFiles(values.docs!).map((f) => readFileSync(f, 'utf8'));
if (texts.length === 0) throw new Error(`no .html files under ${values.docs} (apt-get install python3.11-doc, or pass --docs)`);
const avgKb = texts.reduce((s, t) => s + t.length, 0) / texts.length / 1024;

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
/** CPU µs per call of `fn(i)`, median over the rounds. */
async function perCall(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = cpuUs();
    for (let i = 0; i < n; i++) await fn(i);
    out.push((cpuUs() - t0) / n);
  }
  return median(out);
}

const dir = mkdtempSync(join(tmpdir(), 'doctor-bench-statements-'));
const lookupRows: string[] = [];
for (const size of sizes) {
  const store = await openStore({ path: join(dir, `p${size}.duckdb`), embedding: { provider: 'lexical', model: 'lexical-hash-v1', dimension: 64 } });
  for (let start = 0; start < size; start += 500) {
    await store.db.transaction(async (tx) => {
      for (let i = start; i < Math.min(size, start + 500); i++) {
        await store.pages.upsert(tx, {
          id: `p${i}`, url: `http://docs.test/${i}.html`, domain: 'docs.test', title: `Page ${i}`, raw_text: texts[i % texts.length]!,
          crawl_date: new Date(), tags: ['py'], job_id: 'j', parent_page_id: null, root_page_id: 'p0', depth: 1, path: '/', content_hash: 'h',
        }, { isNew: true });
      }
    });
  }
  await store.db.checkpoint();
  // half the lookups find a page, half do not (a crawl's new pages)
  const url = (i: number) => `http://docs.test/${i % 2 ? i % size : size + i}.html`;
  const before = await perCall(lookups, (i) =>
    store.db.all('SELECT id, url, raw_text FROM pages WHERE url = ? ORDER BY crawl_date DESC LIMIT 1', [url(i)]),
  );
  const after = await perCall(lookups, (i) => store.pages.getByUrl(url(i)));
  lookupRows.push(`| ${size.toLocaleString('en')} | ${(before / 1000).toFixed(2)} ms | ${(after / 1000).toFixed(2)} ms | ${(before / after).toFixed(1)}x |`);
  console.log(`getByUrl at ${size} pages: ${(before / 1000).toFixed(2)} -> ${(after / 1000).toFixed(2)} ms CPU`);
  await store.close();
}

const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const small = 'SELECT ?::VARCHAR AS x';
const stmtRows: string[] = [];
for (const [label, sql, params] of [
  ['`SELECT ?::VARCHAR`', small, (i: number) => [`v${i}`]],
  ['a frontier-style UPDATE over 20,000 rows', 'UPDATE f SET state = ? WHERE url = ?', (i: number) => ['done', `http://docs.test/${i}`]],
] as const) {
  if (sql !== small) {
    await conn.run('CREATE TABLE f (url VARCHAR PRIMARY KEY, state VARCHAR)');
    await conn.run("INSERT INTO f SELECT 'http://docs.test/' || i, 'queued' FROM range(20000) t(i)");
  }
  const fresh = await perCall(lookups * 3, (i) => conn.runAndReadAll(sql, params(i) as string[]));
  const kept = await perCall(lookups * 3, (i) => readCached(conn, sql, params(i) as string[]));
  stmtRows.push(`| ${label} | ${fresh.toFixed(0)} µs | ${kept.toFixed(0)} µs | ${(fresh / kept).toFixed(1)}x |`);
  console.log(`${label}: ${fresh.toFixed(0)} -> ${kept.toFixed(0)} µs CPU`);
}
conn.closeSync();
rmSync(dir, { recursive: true, force: true });

const md = `# Per-statement costs of a crawl

${machineDescription()}
- Data: pages holding the text of Debian's python3.11-doc HTML files (${texts.length} files, ${avgKb.toFixed(0)} KB on average, cycled to the page count), in a database file made by Doctor's own store; half the lookups find a page, half do not.
- CPU of the process (every thread) per statement, median of ${rounds} rounds of ${lookups} lookups (${lookups * 3} runs of the small statements).

## The stored page by URL (once per crawled page)

\`ORDER BY crawl_date DESC LIMIT 1\` (the query before) makes DuckDB plan a top-N of row ids joined back to a full scan of the table (late materialisation), reading every page's text; \`PageStore.getByUrl\` now looks up the URL's rows and picks the newest itself.

| pages stored | before | getByUrl | ratio |
|---|---|---|---|
${lookupRows.join('\n')}

## A statement prepared afresh against one kept for reuse

| statement | prepared each run (DuckDB's node API) | kept (src/db/statement-cache.ts) | ratio |
|---|---|---|---|
${stmtRows.join('\n')}
`;
writeFileSync(values.out!, md);
console.log(`wrote ${values.out} (${statSync(values.out!).size} bytes)`);
