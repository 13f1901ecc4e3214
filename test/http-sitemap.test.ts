import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildHttpApp } from '../src/http/app.js';
import { makeContext, type TestContext } from './helpers/context.js';
import { addPages } from './helpers/pages.js';
import { RENDER_DEADLINE_MS } from '../src/http/markdown-renderer.js';
import { linkHrefs } from '../src/http/markdown-sanitize.js';

const HOSTILE = [
  '# Hostile <script>alert("title")</script>',
  '',
  '<script>alert(1)</script>',
  '',
  '<img src=x onerror=alert(2)>',
  '',
  '[click me](javascript:alert(3)) and <a href="javascript:alert(4)">raw link</a>',
  '',
  '<iframe src="https://evil.test"></iframe><style>body{display:none}</style>',
  '',
  '<div onclick="alert(5)">div</div>',
  '',
  '<input type="text" autofocus onfocus="alert(6)"><form action="https://evil.test/"><button formaction="javascript:alert(7)">go</button></form>',
  '',
  '[spaced](  JaVaScRiPt:alert(8)) <a href="java&#x09;script:alert(9)">tab</a> ![svg](data:image/svg+xml,<svg onload=alert(10)>)',
  '',
  'Fine **bold** and `code` and [a real link](https://docs.test/ok.html).',
].join('\n');

describe('site map', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let base = '';
  before(async () => {
    ctx = await makeContext({ runner: false });
    await addPages(ctx, [
      { id: 'root', title: 'Home <b>docs</b>', markdown: '# Home\n\nWelcome.', tags: ['<tag onload=x>'] },
      { id: 'guide', title: 'Guide', markdown: '# Guide', parent: 'root', root: 'root', depth: 1 },
      { id: 'api', title: 'API', markdown: '# API', parent: 'root', root: 'root', depth: 1 },
      { id: 'deep', title: 'Deep', markdown: '# Deep\n\n```js\nconst a = 1 < 2;\n```', parent: 'guide', root: 'root', depth: 2 },
      { id: 'orphan', title: 'Orphan', markdown: '# Orphan', parent: 'gone', root: 'root', depth: 2 },
      { id: 'evil', title: '<script>alert("t")</script>', markdown: HOSTILE, parent: 'api', root: 'root', depth: 2 },
      // marked reads a long word of intraword underscores in time that grows with its square: ~a minute here
      { id: 'slow', title: 'Slow', markdown: `# Slow\n\n${'x_a_'.repeat(60_000)}`, parent: 'api', root: 'root', depth: 2 },
      {
        id: 'links', title: 'Links', parent: 'guide', root: 'root', depth: 3, url: 'https://docs.test/sub/links.html',
        markdown:
          '[Guide](../guide.html#setup) [Deep](/deep.html) [Missing](missing.html) [Anchor](#here) ![pic](img/p.png)\n\n- [x] done\n- [ ] todo\n\n' +
          "Raw HTML: <a title='t' href='/deep.html#raw'>Raw</a> <A HREF=../guide.html>Caps</A> <a href=\"/deep.html?a=1&amp;b=2\">Amp</a>",
      },
    ]);
    app = await buildHttpApp(ctx, {});
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  after(async () => {
    await app.close();
    await ctx.close();
  });
  /** As a browser asks for a page. */
  const html = async (path: string, accept = 'text/html,application/xhtml+xml,*/*;q=0.8') => {
    const r = await fetch(base + path, { headers: { accept } });
    return {
      status: r.status,
      type: r.headers.get('content-type') ?? '',
      csp: r.headers.get('content-security-policy') ?? '',
      frame: r.headers.get('x-frame-options') ?? '',
      text: await r.text(),
    };
  };

  it('/map lists sites with escaped titles and tags', async () => {
    const r = await html('/map');
    assert.equal(r.status, 200);
    assert.match(r.type, /text\/html/);
    assert.match(r.text, /Home &#60;b&#62;docs&#60;\/b&#62;/);
    assert.match(r.text, /8 pages/);
    assert.ok(!r.text.includes('<tag onload'));
  });

  it('/map/site/{root} is a collapsible tree; pages with a missing parent hang under the root', async () => {
    const r = await html('/map/site/root');
    assert.equal(r.status, 200);
    assert.match(r.text, /<details open><summary>/);
    const guideAt = r.text.indexOf('>Guide<');
    const deepAt = r.text.indexOf('>Deep<');
    assert.ok(guideAt > 0 && deepAt > guideAt, 'Deep is nested after Guide');
    assert.ok(r.text.includes('>Orphan<'));
    assert.equal((await html('/map/site/nope')).status, 404);
  });

  it('/map/page/{id} renders Markdown with navigation', async () => {
    const r = await html('/map/page/guide');
    assert.equal(r.status, 200);
    assert.match(r.text, /<h1>Guide<\/h1>/);
    assert.match(r.text, /href="\/map\/page\/deep"/, 'children');
    assert.match(r.text, /↑ <a href="\/map\/page\/root">/, 'parent');
    assert.match(r.text, /href="\/map\/page\/api">API<\/a> →|← <a href="\/map\/page\/api">/, 'sibling navigation');
    const deep = await html('/map/page/deep');
    assert.match(deep.text, /<code class="language-js">const a = 1 &lt; 2;/);
    const nf = await html('/map/page/nope');
    assert.equal(nf.status, 404);
    assert.match(nf.type, /text\/html/);
    assert.match(nf.text, /href="\/map"/);
  });

  it('breadcrumbs go up to the root; links to crawled pages stay in the site map, others go to the original site', async () => {
    const r = await html('/map/page/links');
    assert.equal(r.status, 200);
    const crumbs = /<nav class="crumbs">(.*?)<\/nav>/s.exec(r.text)![1]!;
    assert.ok(crumbs.indexOf('/map/page/root') < crumbs.indexOf('/map/page/guide'), 'root before guide');
    assert.match(r.text, /<a href="\/map\/page\/guide#setup"[^>]*>Guide<\/a>/);
    assert.match(r.text, /<a href="\/map\/page\/deep"[^>]*>Deep<\/a>/);
    assert.match(r.text, /<a href="https:\/\/docs\.test\/sub\/missing\.html"[^>]*>Missing<\/a>/);
    assert.match(r.text, /<a href="#here"/);
    // links written as raw HTML too, whatever their quotes, capitals or entities
    assert.match(r.text, /<a title="t" href="\/map\/page\/deep#raw"[^>]*>Raw<\/a>/);
    assert.match(r.text, /<a href="\/map\/page\/guide"[^>]*>Caps<\/a>/);
    assert.match(r.text, /<a href="https:\/\/docs\.test\/deep\.html\?a=1&amp;b=2"[^>]*>Amp<\/a>/, 'a query makes it another page');
    // Images are not loaded from the crawled site (a third party): a link to the image stands in for it.
    assert.match(r.text, /<a href="https:\/\/docs\.test\/sub\/img\/p\.png"[^>]*>\[image: pic\]<\/a>/);
    assert.ok(!/<img/.test(r.text));
    assert.match(r.text, /<li><input checked disabled type="checkbox" \/> done<\/li>/);
    assert.ok(/↑ <a href="\/map\/page\/guide">/.test(r.text), 'parent link');
  });

  it('the links of a page are found in one pass over its HTML, however many unclosed tags it holds', () => {
    assert.deepEqual(linkHrefs('<p><a href="a?x=1&amp;y=&#50;">1</a> <A HREF=b>2</A> <a\nhref = \'c\'>3</a> <a name="n">4</a> <abbr href="no">5</abbr></p>'), ['a?x=1&y=2', 'b', 'c']);
    // a scan restarting at every "<a" would read the rest of the text each time: hours for these 3 MB
    assert.deepEqual(linkHrefs(`${'<a '.repeat(1_000_000)}href="x">`), ['x']);
    assert.deepEqual(linkHrefs('<a '.repeat(1_000_000)), []);
  });

  it('hostile Markdown and titles are rendered inert', async () => {
    const r = await html('/map/page/evil');
    assert.equal(r.status, 200);
    assert.ok(!/<script/i.test(r.text), 'no script element');
    assert.ok(!/onerror|onclick|onload|onfocus/i.test(r.text.replace(/&#\d+;/g, '')), 'no event handlers');
    assert.ok(!/(href|src|action)="\s*(javascript|data|java\s)/i.test(r.text), 'no javascript: or data: URLs in links or images');
    assert.equal((r.text.match(/<a rel="nofollow noopener noreferrer">/g) ?? []).length, 4, 'the four javascript: links lost their href');
    assert.ok(!/<input(?![^>]*type="checkbox")|<form|<button/i.test(r.text), 'no form controls');
    assert.ok(!/href="javascript:/i.test(r.text), 'no javascript: links');
    assert.ok(!/<iframe|display:none/i.test(r.text), 'no iframes or injected styles');
    assert.match(r.text, /<strong>bold<\/strong>/);
    assert.match(r.text, /href="https:\/\/docs\.test\/ok\.html"/);
    assert.match(r.csp, /default-src 'none'/);
  });

  it('a page marked cannot render in time is shown as plain text after the deadline, and the server answers meanwhile', async () => {
    for (const path of ['/map/page/slow', '/ui/page/slow']) {
      const started = Date.now();
      const page = html(path);
      await new Promise((r) => setTimeout(r, 300)); // the render is under way
      const t = Date.now();
      const health = await fetch(`${base}/health`);
      assert.equal(health.status, 200);
      assert.ok(Date.now() - t < RENDER_DEADLINE_MS / 2, `/health took ${Date.now() - t} ms while ${path} rendered`);
      const r = await page;
      const ms = Date.now() - started;
      assert.equal(r.status, 200, path);
      assert.match(r.text, /shown as plain text: its Markdown could not be rendered in time/);
      assert.match(r.text, /<pre># Slow\n\nx_a_x_a_x_a_/, 'the text itself, escaped');
      assert.ok(ms >= RENDER_DEADLINE_MS && ms < RENDER_DEADLINE_MS + 10_000, `${path} answered after ${ms} ms`);
    }
    const after = await html('/map/page/guide');
    assert.match(after.text, /<h1>Guide<\/h1>/, 'the next page renders as usual');
  });

  it('a 20 MB page is rendered and marked in full while the server goes on answering (sanitising it held the event loop for 3.5 s)', async () => {
    const words = 'the of and to a in is that for it as with on be by this are or from at which can data function value table query index'.split(' ');
    const parts: string[] = ['# Huge manual\n'];
    let size = 0;
    for (let i = 0; size < 20_000_000; i++) {
      const text = Array.from({ length: 300 }, (_, j) => words[(i * 7 + j * 13) % words.length]).join(' ');
      const part = `## Section ${i}\n\n${text} [guide](/guide.html).\n`;
      parts.push(part);
      size += part.length;
    }
    parts.push('## Last zymurgy\n\nThe zymurgy notes end the manual.\n');
    const markdown = parts.join('\n');
    await ctx.store.db.transaction((tx) =>
      ctx.store.pages.upsert(tx, {
        id: 'huge', url: 'https://docs.test/huge.html', domain: 'docs.test', title: 'Huge', raw_text: markdown, crawl_date: new Date(), tags: [],
        job_id: 'job-test', parent_page_id: 'root', root_page_id: 'root', depth: 1, path: '/huge.html', content_hash: 'huge',
      }),
    );
    let longest = 0;
    let done = false;
    const page = html('/ui/page/huge?q=zymurgy').finally(() => (done = true));
    while (!done) {
      const t = performance.now();
      assert.equal((await fetch(`${base}/health`)).status, 200);
      longest = Math.max(longest, performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
    const r = await page;
    assert.equal(r.status, 200);
    // (not assert.match: a failure would print the 20 MB page)
    assert.ok(!/shown as plain text/.test(r.text), 'rendered, not shown as plain text');
    assert.ok(/<h2 id="h-last-zymurgy">Last <mark>zymurgy<\/mark><\/h2>/.test(r.text), 'the last heading, with its id and the term marked');
    assert.ok(/<a href="\/ui\/page\/guide" rel="nofollow noopener noreferrer">guide<\/a>/.test(r.text), 'links to stored pages open them');
    assert.ok(longest < 1500, `/health took up to ${Math.round(longest)} ms while the page was prepared`);
    await ctx.store.pages.delete({ ids: ['huge'] });
  });

  it('a page of several MB in the web interface is gzipped whole and intact: emoji and CJK across the compressor\'s 1 MB slices come back as they were', async () => {
    const line = `${'😀🎉'.repeat(20)} and 中文字符 `; // mostly surrogate pairs: the slice ends fall inside some
    const markdown = `# Wide\n\n${Array.from({ length: 60_000 }, (_, i) => `${line}${i}`).join('\n\n')}\n\nThe quixotry ends it. 😀\n`;
    await ctx.store.db.transaction((tx) =>
      ctx.store.pages.upsert(tx, {
        id: 'wide', url: 'https://docs.test/wide.html', domain: 'docs.test', title: 'Wide', raw_text: markdown, crawl_date: new Date(), tags: [],
        job_id: 'job-test', parent_page_id: 'root', root_page_id: 'root', depth: 1, path: '/wide.html', content_hash: 'wide',
      }),
    );
    const r = await fetch(`${base}/ui/page/wide`, { headers: { accept: 'text/html', 'accept-encoding': 'gzip' } });
    assert.equal(r.headers.get('content-encoding'), 'gzip');
    const text = await r.text(); // fetch gunzips it
    assert.ok(text.length > 4_000_000, String(text.length));
    assert.ok(!text.includes('\uFFFD'), 'no character was split between two slices');
    assert.equal(text.split('😀🎉 and 中文字符').length - 1, 60_000);
    assert.equal(text.split('😀').length - 1, 60_000 * 20 + 1);
    assert.ok(text.includes('The quixotry ends it. 😀'), 'the end of the page is there');
    await ctx.store.pages.delete({ ids: ['wide'] });
  });

  it('/map/page/{id}/raw returns the Markdown as it is', async () => {
    const r = await html('/map/page/evil/raw');
    assert.match(r.type, /text\/markdown/);
    assert.equal(r.text, HOSTILE);
    const missing = await html('/map/page/nope/raw');
    assert.equal(missing.status, 404);
    assert.match(missing.type, /application\/json/);
    assert.match(JSON.parse(missing.text).detail, /no page with id "nope"/);
  });

  it('pages cannot be framed by other sites and load no third-party images', async () => {
    for (const path of ['/map', '/map/site/root', '/map/page/links', '/map/page/nope', '/map/page/evil/raw']) {
      const r = await html(path);
      assert.match(r.csp, /frame-ancestors 'none'/, path);
      assert.match(r.csp, /img-src 'self' data:(;|$)/, path);
      assert.equal(r.frame, 'DENY', path);
    }
    // A small inline (data:) raster image still shows; SVG and other data: types do not.
    const { renderMarkdown } = await import('../src/http/markdown.js');
    assert.match(renderMarkdown('![dot](data:image/png;base64,iVBORw0KGgo=)'), /<img src="data:image\/png;base64,iVBORw0KGgo=" alt="dot" \/>/);
    assert.ok(!/<img/.test(renderMarkdown('<img src="data:image/svg+xml;base64,PHN2Zz4=" alt="s">')));
  });

  it('a missing page is an HTML page for browsers and JSON {detail} for API clients', async () => {
    const browser = await html('/map/page/nope');
    assert.match(browser.type, /text\/html/);
    const api = await html('/map/site/nope', 'application/json');
    assert.equal(api.status, 404);
    assert.match(api.type, /application\/json/);
    assert.match(JSON.parse(api.text).detail, /no site with root page "nope"/);
  });

  it('a site whose pages chain 20,000 deep (as an imported export may hold) is shown nested at most 50 deep; pages in a parent cycle are shown under the root', async () => {
    // Written as doctor import writes pages: any parent links the export holds.
    await ctx.store.db.run(`INSERT INTO pages (id, url, domain, title, raw_text, crawl_date, tags, job_id, parent_page_id, root_page_id, depth, path, content_hash)
      SELECT 'd' || i, 'https://deep.test/d' || i, 'deep.test', 'Deep ' || i, 'text', now(), [], 'job-deep',
        CASE WHEN i = 0 THEN NULL WHEN i = 1 THEN 'd0' WHEN i = 20001 THEN 'd20002' WHEN i = 20002 THEN 'd20001' ELSE 'd' || (i - 1) END,
        'd0', i, '/d' || i, 'h'
      FROM range(0, 20003) t(i)`);
    const r = await html('/map/site/d0');
    assert.equal(r.status, 200, r.text.slice(0, 200));
    assert.equal(r.text.match(/href="\/map\/page\/d\d+"/g)?.length, 20003, 'every page is in the tree, the two in a cycle too');
    let depth = 0;
    let deepest = 0;
    for (const tag of r.text.matchAll(/<(\/?)details\b/g)) {
      depth += tag[1] ? -1 : 1;
      deepest = Math.max(deepest, depth);
    }
    assert.equal(deepest, 50);
  });

  it('a page titled with 30,000 characters (as an imported export may hold) opens in the web interface: the title header is clipped', async () => {
    await addPages(ctx, [{ id: 'long-title', title: '€'.repeat(30_000), markdown: '# Long\n\ntext', root: 'root', parent: 'root', depth: 1 }]);
    const r = await fetch(`${base}/ui/page/long-title`, { headers: { 'x-doctor-fragment': 'main' } });
    assert.equal(r.status, 200);
    const title = decodeURIComponent(r.headers.get('x-doctor-title') ?? '');
    assert.equal(title, `${'€'.repeat(299)}… · Doctor`);
  });
});
