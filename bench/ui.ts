/**
 * Web interface benchmark: what a first visit transfers (bytes on the wire, gzip, from an empty cache) and
 * how long search results and pages take to appear once their response has arrived, in Debian's Chromium.
 * Data: a crawl of a real documentation site served on 127.0.0.1 (default: Debian's postgresql-doc-15 HTML,
 * `apt-get install postgresql-doc-15`) with the lexical embedder, into a fresh database.
 * Run: `npm run bench:ui [-- --dir /usr/share/doc/postgresql-doc-15/html --max-pages 400 --rounds 3]`
 */
import { existsSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { loadConfig } from '../src/config/config.js';
import { serveDirectory } from '../src/cli/static-site.js';
import { assets } from '../src/http/ui/assets.js';
import { startServer } from '../src/server/serve.js';
import { launchChromium } from '../test/helpers/browser.js';
import { tempDir } from '../test/helpers/tmp.js';
import { machineDescription, percentile } from './machine.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/usr/share/doc/postgresql-doc-15/html' },
    start: { type: 'string', default: 'index.html' },
    'max-pages': { type: 'string', default: '400' },
    rounds: { type: 'string', default: '3' },
    'data-dir': { type: 'string', description: 'reuse this data directory (crawled once, kept)' },
    out: { type: 'string', default: 'bench/results/ui.md' },
  },
});
if (!existsSync(values.dir!)) {
  console.error(`${values.dir} not found: install it with \`apt-get install postgresql-doc-15\` or pass --dir <html directory>.`);
  process.exit(1);
}

/** Queries with common words, as people type them. */
const QUERIES = [
  'create table', 'index', 'transaction isolation level', 'select join', 'function returns table', 'vacuum',
  'primary key constraint', 'backup and restore', 'json operators', 'date time functions', 'replication slot',
  'string functions', 'permissions grant', 'configuration parameters', 'trigger', 'explain analyze', 'copy from csv',
  'window functions', 'foreign key', 'connection pooling',
];

interface Transfer { path: string; type: string; wire: number; body: number }

/** Every response of a first visit (empty cache), bytes as received (headers + gzip body) and decoded. */
async function firstVisit(browser: Browser, url: string): Promise<Transfer[]> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const seen = new Map<string, Transfer>();
  cdp.on('Network.responseReceived', (e) => {
    seen.set(e.requestId, { path: new URL(e.response.url).pathname + new URL(e.response.url).search, type: e.type, wire: 0, body: 0 });
  });
  cdp.on('Network.dataReceived', (e) => {
    const t = seen.get(e.requestId);
    if (t) t.body += e.dataLength;
  });
  cdp.on('Network.loadingFinished', (e) => {
    const t = seen.get(e.requestId);
    if (t) t.wire = e.encodedDataLength;
  });
  // `load`, not `networkidle`: the Jobs screen keeps its event stream open. Then time for late requests.
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForTimeout(1000);
  await context.close();
  return [...seen.values()];
}

/** The page's main-thread CPU time so far, in ms (Chromium's ThreadTime metric). */
async function threadTime(cdp: CDPSession): Promise<number> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return (metrics.find((m) => m.name === 'ThreadTime')?.value ?? NaN) * 1000;
}

/**
 * Runs `action` (JavaScript run in the page) and waits, in the page, for the `doctor:render` measure it
 * causes. Returns that measure (response -> next frame, wall clock) and the page's main-thread CPU time
 * from the action to the frame. Both the action and the wait are one evaluation each, so the harness adds
 * no work of its own in between (no locator checks, no polling).
 */
async function renderTime(page: Page, cdp: CDPSession, action: string): Promise<{ wall: number; cpu: number }> {
  const cpu0 = await threadTime(cdp);
  const wall = (await page.evaluate(`new Promise((resolve) => {
    const observer = new PerformanceObserver((list) => {
      const e = list.getEntries().find((x) => x.name === 'doctor:render');
      if (e) { observer.disconnect(); resolve(e.duration); }
    });
    observer.observe({ type: 'measure' });
    ${action};
  })`)) as number;
  return { wall, cpu: (await threadTime(cdp)) - cpu0 };
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const ms = (n: number) => `${n.toFixed(1)} ms`;

const config = loadConfig(
  { dataDir: values['data-dir'] ?? tempDir('doctor-ui-bench-'), port: 0, allowHosts: '127.0.0.1', perHostDelayMs: 0, perHostConcurrency: 8, render: 'never', logLevel: 'warn', embeddingProvider: 'lexical' },
  {},
);
const site = await serveDirectory(values.dir!);

/** Crawls the documentation into the server (once per data directory). */
async function crawl(base: string): Promise<void> {
  const started = (await (await fetch(`${base}/fetch_url`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: site.url + values.start, max_pages: Number(values['max-pages']), max_depth: 10, tags: ['postgres'] }),
  })).json()) as { job_id: string };
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const p = (await (await fetch(`${base}/job_progress?job_id=${started.job_id}`)).json()) as { completed: boolean };
    if (p.completed) return;
  }
}

const server = await startServer(config);
const browser = await launchChromium();
try {
  const base = server.url;
  const t0 = performance.now();
  const had = (await (await fetch(`${base}/health`)).json()) as { pages: number };
  if (had.pages === 0) await crawl(base);
  const health = (await (await fetch(`${base}/health`)).json()) as { pages: number; chunks: number; engine: string };
  console.log(`${health.pages} pages, ${health.chunks} chunks (${((performance.now() - t0) / 1000).toFixed(0)} s)`);

  // The largest stored page, for the page viewer.
  const list = (await (await fetch(`${base}/list_doc_pages`)).json()) as { doc_pages: { page_id: string }[] };
  let biggest = { id: '', lines: 0, bytes: 0 };
  for (const p of list.doc_pages) {
    const d = (await (await fetch(`${base}/get_doc_page?page_id=${p.page_id}`)).json()) as { total_lines: number; text: string };
    if (d.text.length > biggest.bytes) biggest = { id: p.page_id, lines: d.total_lines, bytes: d.text.length };
  }

  const visits: [string, string][] = [
    ['Search screen, empty (`/`)', '/'],
    ['Search results (`/?query=create+table`)', '/?query=create+table'],
    [`Page viewer, largest page of the first 100 (${kib(biggest.bytes)} of Markdown, ${biggest.lines} lines)`, `/ui/page/${biggest.id}?q=create+table`],
    ['Sites', '/ui/sites'],
    ['Jobs', '/ui/jobs'],
    ['Status', '/ui/status'],
  ];
  const transfers: { label: string; list: Transfer[] }[] = [];
  for (const [label, path] of visits) transfers.push({ label, list: await firstVisit(browser, base + path) });

  // Render times: searches typed in the page (Enter), then opening the first result.
  const rounds = Number(values.rounds);
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
  await page.goto(`${base}/`);
  const searchTimes: { wall: number; cpu: number }[] = [];
  const openTimes: { wall: number; cpu: number }[] = [];
  const responseTimes: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const q of QUERIES) {
      // As Enter does: the form's submit event, which the page script handles.
      searchTimes.push(await renderTime(page, cdp, `const box = document.querySelector('#q'); box.value = ${JSON.stringify(q)}; box.form.requestSubmit()`));
      responseTimes.push(await page.evaluate(() => {
        const e = performance.getEntriesByType('resource').filter((x) => x.name.includes('/?query=')).at(-1) as PerformanceResourceTiming;
        return e.responseEnd - e.startTime;
      }));
      if (r === 0) {
        openTimes.push(await renderTime(page, cdp, `document.querySelector('.results a.title').click()`));
        await renderTime(page, cdp, 'history.back()');
      }
    }
  }
  await context.close();
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const stats = (xs: number[]) => {
    const s = sorted(xs);
    return `${ms(percentile(s, 50))} | ${ms(percentile(s, 95))} | ${ms(s.at(-1)!)}`;
  };

  const own = [...assets().entries()].map(([name, a]) => `| \`${name}\` | ${kib(a.body.length)} | ${kib(a.gzip.length)} |`);
  const lines = [
    '# Web interface: transfer size and render time',
    '',
    machineDescription(),
    `- Data: ${health.pages} pages (${health.chunks} chunks) of Debian's postgresql-doc-15 HTML crawled from 127.0.0.1 with the lexical embedder; vector engine ${health.engine}`,
    `- Browser: Debian's Chromium (headless) through playwright-core; bytes from the DevTools protocol, first visits in a fresh browser context (empty cache)`,
    `- Command: \`npm run bench:ui\``,
    '',
    '## First visit (target: under 150 KiB gzip in all)',
    '',
    'Everything a first visit loads, from an empty cache: bytes on the wire (headers + gzip bodies) and decoded.',
    '',
    '| screen | requests | on the wire | decoded |',
    '|---|---:|---:|---:|',
    ...transfers.map(({ label, list }) => `| ${label} | ${list.length} | ${kib(list.reduce((n, t) => n + t.wire, 0))} | ${kib(list.reduce((n, t) => n + t.body, 0))} |`),
    '',
    `Per response, search results visit: ${transfers[1]!.list.map((t) => `\`${t.path.replace(/\?v=\w+/, '')}\` ${kib(t.wire)}`).join(', ')}.`,
    '',
    'The interface\'s own files (no framework; nothing from a CDN):',
    '',
    '| file | size | gzip |',
    '|---|---:|---:|',
    ...own,
    '',
    '## Render time (target: results within 100 ms of the response)',
    '',
    `From the moment the response body has been read to the next frame drawn after it is in the page (a \`doctor:render\` measure the page script records: innerHTML, then requestAnimationFrame + setTimeout). ${QUERIES.length} queries with common words, put in the search box and submitted as Enter does (the form's submit event, handled by the page script), ${rounds} rounds; opening the first result of each (a click: client-side navigation to the page viewer, which marks the query words).`,
    '',
    '| what | samples | p50 | p95 | max |',
    '|---|---:|---:|---:|---:|',
    `| search results (20 per query) appear: wall clock | ${searchTimes.length} | ${stats(searchTimes.map((t) => t.wall))} |`,
    `| same: the page's main-thread CPU, Enter to drawn frame | ${searchTimes.length} | ${stats(searchTimes.map((t) => t.cpu))} |`,
    `| first result opens in the page viewer: wall clock | ${openTimes.length} | ${stats(openTimes.map((t) => t.wall))} |`,
    `| same: main-thread CPU, click to drawn frame | ${openTimes.length} | ${stats(openTimes.map((t) => t.cpu))} |`,
    `| for comparison: the results request itself (server + loopback, wall clock) | ${responseTimes.length} | ${stats(responseTimes)} |`,
    '',
    'Wall-clock times depend on how busy the machine is; the main-thread CPU time (Chromium\'s ThreadTime metric, read over the DevTools protocol before the action and after the frame) does much less: it is the work the page itself does (key press, request, parsing the HTML, style, layout). The machine was shared and busy; the lead re-runs this on a quiet one.',
    '',
  ];
  writeFileSync(values.out!, lines.join('\n'));
  console.log(lines.join('\n'));
} finally {
  await browser.close();
  await server.close();
  site.server.close();
}
