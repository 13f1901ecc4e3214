/**
 * The web interface in a real browser (Debian's Chromium through playwright-core): a crawl of a loopback
 * site added from the interface with live progress, search, the page viewer, deleting the site; signing
 * in with a token; read-only mode; hostile page content shown as text. One browser for every test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { buildHttpApp, type HttpAppOptions } from '../src/http/app.js';
import { launchChromium } from './helpers/browser.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { startDocSite, type DocSite } from './helpers/doc-site.js';
import { addPages } from './helpers/pages.js';

const TOKEN = 'ui-test-token-4f9a';

/** A link of the main navigation. */
const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

describe('web interface in Chromium', () => {
  let ctx: TestContext;
  let browser: Browser;
  let site: DocSite;
  const apps: FastifyInstance[] = [];

  async function serve(opts: HttpAppOptions = {}): Promise<string> {
    const app = await buildHttpApp(ctx, opts);
    await app.listen({ host: '127.0.0.1', port: 0 });
    apps.push(app);
    return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  }

  /** A fresh tab (its own context: storage, permissions) that fails the test on any script error or dialog it did not expect. */
  async function tab(base: string): Promise<{ page: Page; context: BrowserContext; errors: string[]; requests: Request[] }> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    context.setDefaultTimeout(60_000); // generous: the machine running the tests may be busy
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const page = await context.newPage();
    const errors: string[] = [];
    const requests: Request[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('request', (r) => requests.push(r));
    return { page, context, errors, requests };
  }

  before(async () => {
    [ctx, browser, site] = await Promise.all([makeContext(), launchChromium(), startDocSite({ delayMs: 60 })]);
  });
  after(async () => {
    await browser?.close();
    for (const app of apps) await app.close();
    await site?.close();
    await ctx?.close();
  });

  it('adds a crawl, shows live progress, finds the page, opens it at the match, deletes the site', async () => {
    const base = await serve();
    const { page, context, errors, requests } = await tab(base);
    await page.goto(`${base}/`);
    assert.match(await page.locator('#results').innerText(), /Nothing is indexed yet/);

    await nav(page, 'Add documentation').click();
    const form = page.locator('form.crawl');
    await form.locator('[name=url]').fill(`${site.url}/docs/`);
    await form.locator('[name=tags]').fill('widget, ui-test');
    await form.locator('[name=max_pages]').fill('30');
    await form.locator('[name=render]').selectOption('never');
    await page.getByRole('button', { name: 'Start crawl' }).click();
    await page.waitForURL(/\/ui\/jobs\/[0-9a-f-]{36}$/);
    const jobId = page.url().split('/').pop()!;

    // Record every value the page shows while the server pushes progress.
    // (A string: tsx would add helpers to a function's source that do not exist in the page.)
    await page.evaluate(`(() => {
      const seen = (window.seen = { stored: [], rate: [] });
      const read = () => {
        const stored = document.querySelector('[data-field="pages_crawled"]')?.textContent ?? '';
        const rate = document.querySelector('dd[data-field="rate"]')?.textContent ?? '';
        if (seen.stored.at(-1) !== stored) seen.stored.push(stored);
        if (seen.rate.at(-1) !== rate) seen.rate.push(rate);
      };
      read();
      new MutationObserver(read).observe(document.getElementById('main'), { subtree: true, childList: true, characterData: true });
    })()`);
    await page.locator('[data-field="status"]', { hasText: 'completed' }).waitFor({ timeout: 120_000 });
    const seen = await page.evaluate(() => (window as unknown as { seen: { stored: string[]; rate: string[] } }).seen);
    const job = await ctx.store.jobs.get(jobId);
    assert.equal(job?.status, 'completed');
    assert.ok(seen.stored.length >= 3, `pages stored moved on screen while crawling: ${seen.stored.join(' -> ')}`);
    assert.equal(seen.stored.at(-1), String(job!.pages_crawled));
    assert.ok(seen.rate.some((r) => /pages\/s/.test(r)), `a rate was shown: ${seen.rate.join(' | ')}`);
    assert.equal(seen.rate.at(-1), '–', 'a finished job shows no rate, as it shows no time left (it was blank)');
    assert.equal(await page.locator('progress').evaluate((p: HTMLProgressElement) => p.value === p.max), true);
    // Skipped URLs with their reasons.
    const skipped = await page.locator('[data-skipped]').innerText();
    assert.match(skipped, /missing\.html\s+.*404/);
    assert.match(skipped, /private\/secret\.html\s+.*robots/);
    // Pushed, not polled: one event stream, no progress requests.
    const urls = requests.map((r) => new URL(r.url()).pathname);
    assert.equal(urls.filter((u) => u === '/job_events').length, 1, urls.join('\n'));
    assert.equal(urls.filter((u) => u === '/job_progress' || u === '/jobs').length, 0);
    await nav(page, 'Jobs').click();
    await page.locator(`tr[data-job="${jobId}"] .s-completed`).waitFor();

    // Search from the keyboard: `/` focuses the box, Enter searches, arrows move, Enter opens.
    await nav(page, 'Search').click();
    await page.locator('#q').waitFor();
    await page.evaluate('document.activeElement?.blur()');
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'q');
    await page.keyboard.type('npm install widget');
    await page.keyboard.press('Enter');
    const first = page.locator('.results .result').first();
    await first.waitFor();
    assert.equal(await first.locator('a.title').innerText(), 'Introduction');
    assert.match(await first.locator('.path').innerText(), /Setup/);
    const marks = await first.locator('.snippet mark').allInnerTexts();
    assert.ok(marks.map((m) => m.toLowerCase()).includes('npm') && marks.map((m) => m.toLowerCase()).includes('widget'), `marked: ${marks}`);
    assert.match(page.url(), /\?query=npm\+install\+widget$/);
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Introduction');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/ui\/page\/[^?]+\?q=npm%20install%20widget#h-setup$/);
    assert.equal(await page.locator('.page-head h1').innerText(), 'Introduction');
    const setup = page.locator('article.doc h2#h-setup');
    assert.equal(await setup.innerText(), 'Setup');
    assert.ok(await setup.evaluate((h) => { const r = h.getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight; }), 'the matching section is in view');
    assert.equal(await page.locator('nav.toc a[href="#h-setup"]').count(), 1, 'the table of contents links the section');
    assert.ok((await page.locator('article.doc mark').count()) > 0, 'query words are marked in the page');

    // Copy as Markdown puts the stored Markdown on the clipboard.
    const pageId = new URL(page.url()).pathname.split('/').pop()!;
    await page.getByRole('button', { name: 'Copy as Markdown' }).click();
    await page.locator('#flash', { hasText: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), (await ctx.store.pages.get(decodeURIComponent(pageId)))!.raw_text);

    // Sites: the crawl is one site. Re-crawl it (slowly) and cancel that from its job screen.
    await nav(page, 'Sites').click();
    const row = page.locator('table.sites tbody tr');
    await row.first().waitFor();
    assert.equal(await row.count(), 1);
    site.delayMs = 1500;
    await row.getByRole('button', { name: 'Re-crawl' }).click();
    await page.waitForURL(/\/ui\/jobs\/[0-9a-f-]{36}$/);
    const again = page.url().split('/').pop()!;
    assert.notEqual(again, jobId);
    assert.deepEqual((await ctx.store.jobs.get(again))!.tags, ['widget', 'ui-test']);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('[data-field="status"]', { hasText: 'cancelled' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Cancel' }).isVisible(), false);
    site.delayMs = 60;

    // Deleting the site says what goes, then it is gone.
    await nav(page, 'Sites').click();
    await row.first().waitFor();
    assert.equal(await row.count(), 1);
    const pages = job!.pages_crawled;
    assert.equal(await row.locator('td.num').first().innerText(), String(pages));
    let dialog = '';
    page.once('dialog', (d) => {
      dialog = d.message();
      void d.accept();
    });
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.locator('#flash', { hasText: 'Deleted' }).waitFor();
    assert.match(dialog, new RegExp(`Delete the site “Widget Docs”[\\s\\S]*${pages} pages and \\d+ chunks`));
    assert.match(await page.locator('main').innerText(), /Nothing is indexed yet/);
    assert.equal(await ctx.store.pages.count(), 0);
    await page.goto(`${base}/?query=renderDashboard`);
    assert.match(await page.locator('#results').innerText(), /No results|Nothing is indexed/);

    assert.deepEqual(errors, []);
    await context.close();
  });

  it('asks for the token, keeps it for the tab only and sends it as a header, never in a URL', async () => {
    const base = await serve({ apiToken: TOKEN });
    const { page, context, errors, requests } = await tab(base);
    const res = await page.goto(`${base}/ui/sites`);
    assert.equal(res?.status(), 200);
    assert.doesNotMatch(await res!.text(), /<table|Nothing is indexed/, 'the page sent without a token carries no data');
    await page.getByLabel('API token', { exact: true }).waitFor();
    await page.getByLabel('API token', { exact: true }).fill('wrong-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('The server refused that token').waitFor();
    await page.getByLabel('API token', { exact: true }).fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Sites' }).waitFor();
    await nav(page, 'Status').click();
    await page.getByText('required (DOCTOR_API_TOKEN)').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('doctor.token')), TOKEN);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    const authorised = requests.filter((r) => r.headers()['authorization'] === `Bearer ${TOKEN}`).map((r) => new URL(r.url()).pathname);
    assert.ok(authorised.includes('/ui/sites') && authorised.includes('/ui/status'), authorised.join(', '));
    assert.ok(requests.every((r) => !r.url().includes(TOKEN) && !r.url().includes('wrong-token')), 'no token in any URL');
    assert.equal((await fetch(`${base}/ui/status`, { headers: { 'x-doctor-fragment': 'main' } })).status, 401);
    // Another tab (another session) must sign in again.
    const other = await tab(base);
    await other.page.goto(`${base}/`);
    await other.page.getByLabel('API token', { exact: true }).waitFor();
    await other.context.close();
    // Signing out forgets it.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token', { exact: true }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('doctor.token')), null);
    assert.deepEqual(errors.filter((e) => !/401/.test(e)), []);
    await context.close();
  });

  it('read-only: write controls are hidden and write routes refused', async () => {
    await addPages(ctx, [{ id: 'ro-root', title: 'Read-only docs', markdown: '# Read-only docs\n\nKeep this page.', tags: ['ro'] }]);
    const base = await serve({ readOnly: true });
    const { page, context, errors } = await tab(base);
    await page.goto(`${base}/ui/sites`);
    await page.locator('table.sites tbody tr').first().waitFor();
    assert.equal(await page.getByRole('button').filter({ hasText: /Delete|Re-crawl|Cancel/ }).count(), 0);
    assert.equal(await nav(page, 'Add documentation').count(), 0);
    assert.equal(await page.locator('.badge.ro').innerText(), 'read-only');
    await page.goto(`${base}/ui/add`);
    assert.equal(await page.locator('form').filter({ hasText: 'Start crawl' }).count(), 0);
    const status = await page.evaluate(async () => (await fetch('/delete_docs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"tags":["ro"]}' })).status);
    assert.equal(status, 403);
    assert.equal(await ctx.store.pages.count(), 1);
    await page.goto(`${base}/ui/status`);
    assert.match(await page.locator('[data-status="mode"]').innerText(), /read-only/);
    assert.deepEqual(errors.filter((e) => !/403/.test(e)), []);
    await context.close();
  });

  it('shows hostile titles, tags and page text as text', async () => {
    const title = '<img src=x onerror="window.pwned=1">Evil <b>title</b>';
    await addPages(ctx, [
      {
        id: 'xss-page',
        title,
        tags: ['<script>window.pwned=2</script>'],
        markdown: [
          '# Hostile zanzibar page',
          '',
          '<script>window.pwned=3</script><img src=x onerror="window.pwned=4"> zanzibar',
          '',
          '[click](javascript:window.pwned=5) <a href="javascript:window.pwned=6">raw</a> <iframe src="https://evil.test/"></iframe>',
          '',
          '## <span onmouseover="window.pwned=7">Section</span> zanzibar',
        ].join('\n'),
      },
    ]);
    const base = await serve();
    const { page, context, errors } = await tab(base);
    let dialogs = 0;
    page.on('dialog', (d) => {
      dialogs++;
      void d.dismiss();
    });
    await page.goto(`${base}/?query=zanzibar`);
    const result = page.locator('.results .result').first();
    assert.equal(await result.locator('a.title').innerText(), title);
    assert.match(await result.locator('.tag').first().innerText(), /<script>window\.pwned=2<\/script>/);
    await result.locator('a.title').click();
    await page.locator('.page-head h1').waitFor();
    assert.equal(await page.locator('.page-head h1').innerText(), title);
    await page.locator('article.doc h2').hover();
    // a word no page holds is named under the count, as text
    await page.goto(`${base}/?query=${encodeURIComponent('zanzibar <i>quxzzy</i>')}`);
    assert.match(await page.locator('#results .search-note').innerText(), /^No indexed page contains "i>quxzzy<\/i": the results match the query's other words/);
    assert.equal(await page.locator('#results .search-note i').count(), 0);
    await page.goto(`${base}/ui/sites`);
    assert.ok((await page.locator('table.sites').innerText()).includes(title));
    await page.goto(`${base}/ui/page/xss-page`);
    for (const a of await page.locator('article.doc a').all()) assert.doesNotMatch((await a.getAttribute('href')) ?? '', /javascript:/i);
    assert.equal(await page.locator('main script, main iframe, main [onerror], main [onmouseover], main [onclick]').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined);
    assert.equal(dialogs, 0);
    const res = await fetch(`${base}/ui/page/xss-page`);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self';.*style-src 'self'/);
    assert.doesNotMatch(await res.text(), /<script>|style=|<style/, 'no inline script or style in the page');
    assert.deepEqual(errors.filter((e) => !/Content Security Policy|ERR_|net::/.test(e)), []);
    await context.close();
  });

  it('the search screen\'s hint fits a box that already has focus: typing searches, / is for coming back', async () => {
    await addPages(ctx, [{ id: 'hint-page', title: 'Kettle descaling', markdown: '# Kettle descaling\n\nDescale the kettle monthly.', tags: ['hint'] }]);
    const base = await serve();
    const { page, context, errors } = await tab(base);
    await page.goto(`${base}/`);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'q', 'the box has focus on arrival');
    // It said "Press / to type": done as written, that typed a "/" into the focused box ("/descaling").
    assert.match(await page.locator('#results .hint').innerText(), /^Search \d+ pages? \(\d+ chunks?\)\. Type and press Enter to search; ↓ ↑ move through the results; \/ comes back to this box\.$/);
    await page.keyboard.type('descaling');
    await page.keyboard.press('Enter');
    await page.locator('.results .result').first().waitFor();
    await page.locator('.results .result a.title').first().focus();
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'q');
    assert.equal(await page.locator('#q').inputValue(), 'descaling');
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('a mistyped interface address shows a page of the interface saying so, with its navigation; the API keeps JSON', async () => {
    const base = await serve();
    const { page, context } = await tab(base);
    const res = await page.goto(`${base}/ui/site`);
    assert.equal(res?.status(), 404);
    assert.equal(await page.locator('main h1').innerText(), 'Not found');
    assert.match(await page.locator('main').innerText(), /There is no screen at \/ui\/site\./);
    await nav(page, 'Sites').click();
    await page.waitForURL(`${base}/ui/sites`);
    for (const path of ['/no_such_route', '/ui/site']) {
      const api = await fetch(`${base}${path}`, { headers: { accept: 'application/json' } });
      assert.equal(api.status, 404);
      assert.match((await api.json() as { detail: string }).detail, /^no route GET \//, path);
    }
    const post = await fetch(`${base}/ui/sites`, { method: 'POST' });
    assert.equal(post.status, 405);
    await context.close();
  });

  it('on a phone every link of the navigation is shown whole, none cut off at the screen\'s edge', async () => {
    const base = await serve();
    const { page, context } = await tab(base);
    for (const width of [320, 360, 390]) {
      await page.setViewportSize({ width, height: 700 });
      await page.goto(`${base}/`);
      const links = page.getByRole('navigation', { name: 'Main' }).getByRole('link');
      assert.equal(await links.count(), 5);
      for (const link of await links.all()) {
        const box = (await link.boundingBox())!;
        const name = await link.innerText();
        assert.ok(box.x >= 0 && box.x + box.width <= width, `"${name}" spans ${Math.round(box.x)}-${Math.round(box.x + box.width)} px on a ${width} px screen`);
      }
      assert.ok(await page.evaluate('document.documentElement.scrollWidth') as number <= width, `the page scrolls sideways at ${width} px`);
    }
    await context.close();
  });

  it('a query longer than the limit is refused with its real length, and the tab title stays short', async () => {
    const base = await serve();
    const { page, context, errors } = await tab(base);
    await page.goto(`${base}/?query=${'x'.repeat(5000)}`);
    assert.equal(await page.locator('#results [role=alert]').innerText(), 'query is too long: at most 2,000 characters (got 5000)');
    const title = await page.title();
    assert.ok(title.length < 100, `tab title of ${title.length} characters`);
    assert.match(title, /^“x+…” · Doctor$/);
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('a title with a right-to-left override reverses only itself, not the links and text beside it', async () => {
    // U+202E (RIGHT-TO-LEFT OVERRIDE) left open in a title: without isolation it runs on to the end of the line.
    const evil = '\u202Eevil title';
    await addPages(ctx, [
      { id: 'rlo-root', title: 'Rlo root', markdown: '# Root\n\nquixotic', url: 'https://rlo.test/' },
      { id: 'rlo-page', title: evil, markdown: '# Evil\n\nquixotic', url: 'https://rlo.test/evil.html', parent: 'rlo-root', root: 'rlo-root', depth: 1 },
      { id: 'rlo-child', title: 'Child page', markdown: '# Child\n\nquixotic', url: 'https://rlo.test/evil/child.html', parent: 'rlo-page', root: 'rlo-root', depth: 2 },
      { id: 'rlo-grand', title: 'Grandchild', markdown: '# Grandchild\n\nquixotic', url: 'https://rlo.test/evil/child/grand.html', parent: 'rlo-child', root: 'rlo-root', depth: 3 },
    ]);
    const base = await serve();
    const { page, context } = await tab(base);
    const lefts = (selector: string) => page.locator(selector).evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().left)));
    const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]!);
    // Breadcrumbs of the web interface: Sites / Rlo root / (evil) / Child page, left to right.
    await page.goto(`${base}/ui/page/rlo-grand`);
    const crumbs = await page.locator('nav.crumbs a').allInnerTexts();
    assert.ok(crumbs.includes(evil) && crumbs.indexOf(evil) < crumbs.length - 1, `the evil title is a crumb with one after it: ${JSON.stringify(crumbs)}`);
    const xs = await lefts('nav.crumbs a');
    assert.ok(increasing(xs), `crumbs ${JSON.stringify(crumbs)} shown in order, at x = ${xs}`);
    // The site map's tree: each page's link, then its path.
    await page.goto(`${base}/map/site/rlo-root`);
    const line = page.locator('a[href="/map/page/rlo-page"]').locator('xpath=..');
    const [link, path] = await Promise.all([line.locator('a').first(), line.locator('.meta').first()].map((l) => l.evaluate((e) => e.getBoundingClientRect().left)));
    assert.ok(link! < path!, `the path is shown after the title (link at x = ${link}, path at x = ${path})`);
    await context.close();
  });
  it('a page in Arabic reads right to left, paragraph by paragraph (web interface and site map); English and code beside it stay left to right', async () => {
    const arabic = 'يشرح هذا الدليل كيفية إنشاء فهرس زنجبيل للجدول.';
    await addPages(ctx, [{
      id: 'rtl-page', title: 'دليل الفهارس', url: 'https://rtl.test/guide.html',
      markdown: `# دليل الفهارس\n\n${arabic}\n\nThis paragraph is in English.\n\n\`\`\`sql\nSELECT 1;\n\`\`\`\n`,
    }]);
    const base = await serve();
    const { page, context } = await tab(base);
    /** Where a block's text sits inside the block: gaps (px) to its left and right edges. */
    const gaps = (selector: string) =>
      page.locator(selector).first().evaluate((e) => {
        const box = e.getBoundingClientRect();
        const range = document.createRange();
        range.selectNodeContents(e);
        const text = range.getBoundingClientRect();
        return { left: Math.round(text.left - box.left), right: Math.round(box.right - text.right), width: Math.round(box.width) };
      });
    await page.goto(`${base}/ui/page/rtl-page`);
    const ar = await gaps(`article.doc p:has-text("${arabic.slice(0, 10)}")`);
    assert.ok(ar.right <= 2 && ar.left > 100, `the Arabic paragraph starts at the right edge: ${JSON.stringify(ar)}`);
    const en = await gaps('article.doc p:has-text("This paragraph is in English")');
    assert.ok(en.left <= 2 && en.right > 100, `the English paragraph starts at the left edge: ${JSON.stringify(en)}`);
    const code = await gaps('article.doc pre code');
    assert.ok(code.left <= 2, `code stays left to right: ${JSON.stringify(code)}`);
    const title = await gaps('.page-head h1');
    assert.ok(title.right <= 2 && title.left > 100, `the Arabic title starts at the right: ${JSON.stringify(title)}`);
    await page.goto(`${base}/map/page/rtl-page`); // the site map's page view (its own stylesheet)
    const mapped = await gaps(`article p:has-text("${arabic.slice(0, 10)}")`);
    assert.ok(mapped.right <= 2 && mapped.left > 100, `the site map's Arabic paragraph starts at the right: ${JSON.stringify(mapped)}`);
    const mappedEn = await gaps('article p:has-text("This paragraph is in English")');
    assert.ok(mappedEn.left <= 2, `the site map's English paragraph starts at the left: ${JSON.stringify(mappedEn)}`);
    await page.goto(`${base}/?query=${encodeURIComponent('زنجبيل')}`);
    const snippet = await gaps('.result .snippet');
    assert.ok(snippet.right <= 2 && snippet.left > 100, `the Arabic snippet starts at the right: ${JSON.stringify(snippet)}`);
    await context.close();
  });
});
