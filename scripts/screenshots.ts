/**
 * `npm run screenshots`: one PNG per screen of the web interface, into docs/. Starts a Doctor server on a
 * temporary data directory, crawls the example site (examples/site) and a slow loopback site (to show a
 * crawl in progress), then photographs each screen with Debian's Chromium.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/config.js';
import { startServer } from '../src/server/serve.js';
import { serveDirectory } from '../src/cli/static-site.js';
import { launchChromium } from '../test/helpers/browser.js';
import { startDocSite } from '../test/helpers/doc-site.js';
import { tempDir } from '../test/helpers/tmp.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const OUT = join(ROOT, 'docs');

async function post(base: string, path: string, body: unknown): Promise<{ job_id: string }> {
  const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { job_id: string };
}

async function waitForJob(base: string, jobId: string): Promise<void> {
  for (;;) {
    const p = (await (await fetch(`${base}/job_progress?job_id=${jobId}`)).json()) as { completed: boolean };
    if (p.completed) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const config = loadConfig({ dataDir: tempDir('doctor-shots-'), port: 0, allowHosts: '127.0.0.1', logLevel: 'warn', embeddingProvider: 'lexical', perHostDelayMs: 0 }, {});
  const [server, example, slow, browser] = await Promise.all([
    startServer(config),
    serveDirectory(join(ROOT, 'examples/site')),
    startDocSite({ delayMs: 700 }),
    launchChromium(),
  ]);
  try {
    const base = server.url;
    const { job_id } = await post(base, '/fetch_url', { url: `${example.url}index.html`, tags: ['kettle', 'example'], max_pages: 50 });
    await waitForJob(base, job_id);

    const shoot = async (name: string, path: string, opts: { width?: number; height?: number; dark?: boolean; before?: (page: import('playwright-core').Page) => Promise<void> } = {}) => {
      const context = await browser.newContext({ viewport: { width: opts.width ?? 1200, height: opts.height ?? 760 }, colorScheme: opts.dark ? 'dark' : 'light', deviceScaleFactor: 1 });
      const page = await context.newPage();
      await page.goto(base + path);
      await opts.before?.(page);
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(OUT, `${name}.png`) });
      await context.close();
      console.log(`docs/${name}.png`);
    };
    await shoot('ui-search', '/?query=retry+backoff');
    await shoot('ui-page', '/', {
      before: async (page) => {
        await page.locator('#q').fill('task context attempt number');
        await page.keyboard.press('Enter');
        await page.locator('.results a.title').first().click();
        await page.locator('article.doc').waitFor();
      },
    });
    await shoot('ui-sites', '/ui/sites');
    await shoot('ui-add', '/ui/add', { before: async (page) => page.locator('[name=url]').fill('https://docs.python.org/3/library/') });
    const running = await post(base, '/fetch_url', { url: `${slow.url}/docs/`, tags: ['widget'], max_pages: 30, render: 'never' });
    await shoot('ui-job', `/ui/jobs/${running.job_id}`, {
      // Mid-crawl: some pages stored and some skipped, more to come.
      before: (page) => page.locator('dd[data-field=pages_crawled]', { hasText: /^([6-9]|\d\d+)$/ }).waitFor({ timeout: 120_000 }),
    });
    await shoot('ui-jobs', '/ui/jobs');
    await shoot('ui-status', '/ui/status');
    await shoot('ui-phone-dark', '/?query=retry+backoff', { width: 390, height: 780, dark: true });
  } finally {
    await browser.close();
    await server.close();
    example.server.close();
    await slow.close();
  }
}

await main();
