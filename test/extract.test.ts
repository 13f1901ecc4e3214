import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractPage, looksLikeJsOnly } from '../src/ingest/extract.js';

const DOC = `<!DOCTYPE html><html><head><title>Install — Acme Docs</title><base href="https://docs.acme.test/v2/"></head>
<body>
<header><a href="/">Acme</a> <nav><a href="guide/">Guide</a><a href="api/">API</a></nav></header>
<div class="cookie-banner">We use cookies to improve your experience</div>
<aside class="sidebar"><ul><li><a href="intro.html">Intro</a></li><li><a href="setup.html#linux">Setup</a></li></ul></aside>
<main>
  <h1>Install</h1>
  <p>Install <strong>Acme</strong> with pip. See <a href="../v1/old.html">the old docs</a> or <a href="javascript:alert(1)">this</a>.</p>
  <div class="highlight-python"><pre><span>import acme</span>
acme.run()</pre></div>
  <pre><code class="language-bash">pip install acme</code></pre>
  <table><thead><tr><th>Option</th><th>Default</th></tr></thead><tbody><tr><td>timeout</td><td>30</td></tr></tbody></table>
  <p><img src="img/arch.png" alt="architecture"></p>
  <script>document.write('tracking')</script>
</main>
<footer>Copyright Acme <a href="mailto:x@acme.test">mail</a></footer>
</body></html>`;

describe('HTML extraction', () => {
  const page = extractPage({ body: DOC, contentType: 'text/html', url: 'https://docs.acme.test/v2/install.html' });

  it('keeps the main content as Markdown and drops navigation, banners, sidebars, footers and scripts', () => {
    assert.match(page.markdown, /^# Install/);
    assert.match(page.markdown, /Install \*\*Acme\*\* with pip/);
    for (const gone of ['We use cookies', 'Copyright', 'tracking', 'Intro', 'Guide']) assert.ok(!page.markdown.includes(gone), `dropped: ${gone}`);
  });

  it('fenced code keeps its language (class="language-x" and Sphinx highlight-x)', () => {
    assert.match(page.markdown, /```bash\npip install acme\n```/);
    assert.match(page.markdown, /```python\nimport acme\nacme.run\(\)\n```/);
  });

  it('tables become GFM tables', () => {
    assert.match(page.markdown, /\| Option \| Default \|\n\| --- \| --- \|\n\| timeout \| 30 \|/);
  });

  it('links and images are absolute (against <base href>); javascript: links lose their href', () => {
    assert.match(page.markdown, /\[the old docs\]\(https:\/\/docs\.acme\.test\/v1\/old\.html\)/);
    assert.match(page.markdown, /!\[architecture\]\(https:\/\/docs\.acme\.test\/v2\/img\/arch\.png\)/);
    assert.ok(!page.markdown.includes('javascript:'));
  });

  it('title prefers the <h1> the <title> starts with', () => {
    assert.equal(page.title, 'Install');
  });

  it('returns every http(s) link of the document, absolute, without fragments, de-duplicated', () => {
    assert.ok(page.links.includes('https://docs.acme.test/v2/guide/'));
    assert.ok(page.links.includes('https://docs.acme.test/v2/setup.html'));
    assert.ok(page.links.includes('https://docs.acme.test/'));
    assert.ok(!page.links.some((l) => l.startsWith('mailto:') || l.startsWith('javascript:') || l.includes('#')));
    assert.equal(new Set(page.links).size, page.links.length);
  });
});

describe('other content and hostile input', () => {
  it('Markdown passes through, with title and links', () => {
    const p = extractPage({ body: '# Guide\n\nSee [setup](setup.md) and [x](https://other.test/a).', contentType: 'text/markdown', url: 'https://d.test/docs/guide.md' });
    assert.equal(p.title, 'Guide');
    assert.deepEqual(p.links, ['https://d.test/docs/setup.md', 'https://other.test/a']);
  });

  it('plain text passes through with a title from the URL', () => {
    const p = extractPage({ body: 'hello\nworld', contentType: 'text/plain', url: 'https://d.test/notes/README.txt' });
    assert.equal(p.markdown, 'hello\nworld');
    assert.equal(p.title, 'README');
  });

  it('deeply nested HTML does not crash and keeps the text', () => {
    const depth = 10_000;
    const html = `<html><body><main>${'<div>'.repeat(depth)}deep text here${'</div>'.repeat(depth)}</main></body></html>`;
    const p = extractPage({ body: html, contentType: 'text/html', url: 'https://d.test/deep' });
    assert.match(p.markdown, /deep text here/);
  });

  it('a huge single line and invalid markup are handled', () => {
    const line = 'word '.repeat(400_000);
    const p = extractPage({ body: `<html><body><main><p>${line}<p><b>unclosed <i>tags</main>`, contentType: 'text/html', url: 'https://d.test/huge' });
    assert.ok(p.markdown.length > 1_000_000);
    assert.match(p.markdown, /unclosed/);
  });

  it('script injection in text stays inert text in the Markdown', () => {
    const p = extractPage({ body: '<main><p>&lt;script&gt;alert(1)&lt;/script&gt; is shown, not run</p><script>alert(2)</script></main>', contentType: 'text/html', url: 'https://d.test/x' });
    assert.ok(!p.markdown.includes('alert(2)'));
    assert.match(p.markdown, /alert\(1\)/);
  });

  it('flags pages whose static HTML is almost empty but has scripts as JS-only', () => {
    const html = '<html><body><div id="root"></div><script src="app.js"></script></body></html>';
    const p = extractPage({ body: html, contentType: 'text/html', url: 'https://d.test/spa' });
    assert.equal(looksLikeJsOnly(p, html), true);
    const long = DOC.replace('<p>Install', `<p>${'Plenty of static documentation text. '.repeat(20)}</p><p>Install`);
    const doc = extractPage({ body: long, contentType: 'text/html', url: 'https://docs.acme.test/v2/install.html' });
    assert.equal(looksLikeJsOnly(doc, long), false);
  });
});
