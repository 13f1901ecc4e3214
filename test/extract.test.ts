import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomUtils, parseDocument } from 'htmlparser2';
import { marked } from 'marked';
import { extractPage, looksLikeJsOnly } from '../src/ingest/extract/extract.js';
import { chunkMarkdown } from '../src/ingest/extract/chunker.js';
import { plainText, queryTerms, snippet } from '../src/text/highlight.js';
import { linksToText } from '../src/text/markdown-links.js';
import { MAX_DOM_TAGS } from '../src/ingest/extract/extract-html.js';
import { MAX_MARKER_NESTING } from '../src/ingest/extract/markdown-writer.js';
import { linkText } from '../src/ingest/extract/markdown-escape.js';
import { MAX_LINKS, MAX_TITLE_CHARS, MAX_WORD_CHARS } from '../src/ingest/extract/bounds.js';
import { escapedMarkupPage, hugeTitlePage, longWordPage } from './helpers/hostile-pages.js';
import { cpuMs } from './helpers/cpu-time.js';

const html = (body: string, url = 'https://d.test/docs/page.html') => extractPage({ body, contentType: 'text/html; charset=utf-8', url });

const DOC = `<!DOCTYPE html><html><head><title>Install — Acme Docs</title><base href="https://docs.acme.test/v2/"></head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header><a href="/">Acme</a> <nav><a href="guide/">Guide</a><a href="api/">API</a></nav></header>
<div id="CybotCookiebotDialog"><h2>This website uses cookies</h2><p>We use cookies to improve your experience</p></div>
<aside class="sidebar"><ul><li><a href="intro.html">Intro</a></li><li><a href="setup.html#linux">Setup</a></li></ul></aside>
<main>
  <div class="theme-doc-breadcrumbs"><a href="./">Docs</a> / Install</div>
  <article>
  <h1>Install<a class="hash-link" href="#install">#</a></h1>
  <p>Install <strong>Acme</strong> with pip. See <a href="../v1/old.html">the old docs</a> or <a href="javascript:alert(1)">this</a>.
     Call <code>acme.run_all()</code> on <em>my_config</em> and read <code>items[0]</code>.</p>
  <div class="highlight-python notranslate"><div class="highlight"><pre><span>import acme</span>
acme.run()</pre></div></div>
  <pre><code class="language-bash">pip install acme</code></pre>
  <pre>no code element
    indented line</pre>
  <pre><code class="lang-md">Use \`\`\`python fences</code></pre>
  <table>
    <thead>
      <tr>
        <th>Option</th>
        <th>Default</th>
      </tr>
    </thead>
    <tbody>
      <tr>
        <td>timeout</td>
        <td><p>30 seconds</p><p>or <code>a|b</code></p></td>
      </tr>
    </tbody>
  </table>
  <table><tr><td>name</td><td>kettle</td></tr><tr><td>version</td><td>2.1</td></tr></table>
  <p>Old <del>deprecated</del> flag. <img src="img/arch.png" alt="architecture"> <img src="data:image/png;base64,AAAA" alt="inline"></p>
  <ul><li><input type="checkbox" checked> done</li><li><input type="checkbox"> todo</li></ul>
  <div class="theme-doc-toc-mobile"><a href="#opts">Options</a></div>
  <script>document.write('tracking')</script>
  </article>
  <nav class="pagination-nav"><a href="next.html">Next page</a></nav>
</main>
<footer>Copyright Acme <a href="mailto:x@acme.test">mail</a> <a href="https://acme.test/legal#terms">Legal</a></footer>
</body></html>`;

describe('HTML documentation page', () => {
  const page = html(DOC, 'https://docs.acme.test/v2/install.html');

  it('keeps the main content as Markdown and drops navigation, banners, sidebars, breadcrumbs, footers and scripts', () => {
    assert.match(page.markdown, /^# Install\n/);
    assert.match(page.markdown, /Install \*\*Acme\*\* with pip/);
    for (const gone of ['We use cookies', 'uses cookies', 'Copyright', 'tracking', 'Intro', 'Guide', 'Skip to content', 'Next page', 'Docs /', 'Options']) {
      assert.ok(!page.markdown.includes(gone), `dropped: ${gone}`);
    }
  });

  it('fenced code keeps its language (language-x, lang-x, Sphinx highlight-x); a bare <pre> is fenced too', () => {
    assert.match(page.markdown, /```bash\npip install acme\n```/);
    assert.match(page.markdown, /```python\nimport acme\nacme.run\(\)\n```/);
    assert.match(page.markdown, /```\nno code element\n {4}indented line\n```/);
    assert.match(page.markdown, /````md\nUse ```python fences\n````/, 'a fence longer than the backticks inside');
  });

  it('tables become GFM tables, multi-paragraph cells stay on their row, header-less tables too', () => {
    assert.match(page.markdown, /\| Option \| Default \|\n\| --- \| --- \|\n\| timeout \| 30 seconds or `a\\\|b` \|/);
    assert.match(page.markdown, /\| name \| kettle \|\n\| --- \| --- \|\n\| version \| 2\.1 \|/);
    assert.ok(!page.markdown.includes('<table'), 'no raw HTML tables');
  });

  it('identifiers stay readable; strikethrough and task lists are kept', () => {
    assert.match(page.markdown, /`acme\.run_all\(\)`/);
    assert.match(page.markdown, /\*my_config\*/);
    assert.match(page.markdown, /`items\[0\]`/);
    assert.match(page.markdown, /~deprecated~/);
    assert.match(page.markdown, /- \[x\] done\n- \[ \] todo/);
  });

  it('links and images are absolute (against <base href>); javascript: links and data: images are dropped', () => {
    assert.match(page.markdown, /\[the old docs\]\(https:\/\/docs\.acme\.test\/v1\/old\.html\)/);
    assert.match(page.markdown, /!\[architecture\]\(https:\/\/docs\.acme\.test\/v2\/img\/arch\.png\)/);
    assert.ok(!page.markdown.includes('javascript:'));
    assert.ok(!page.markdown.includes('data:image'));
    assert.ok(!page.markdown.includes('hash-link') && !/\[#\]/.test(page.markdown), 'heading anchors removed');
  });

  it('title is the <h1> when <title> is that heading plus the site name', () => {
    assert.equal(page.title, 'Install');
  });

  it("title is not the site's name when that is the only <h1>, in the page's header (mdBook)", () => {
    const book = html(
      '<html><head><title>What is Ownership? - The Rust Programming Language</title></head><body>' +
        '<nav id="sidebar" class="sidebar"><ol class="chapter"><li><a href="ch04-01.html">What is Ownership?</a></li></ol></nav>' +
        '<div id="page-wrapper" class="page-wrapper"><div class="page"><div id="menu-bar" class="menu-bar"><h1 class="menu-title">The Rust Programming Language</h1></div>' +
        '<div id="content" class="content"><main><h2 id="what-is-ownership"><a class="header" href="#what-is-ownership">What Is Ownership?</a></h2>' +
        '<p><em>Ownership</em> is a set of rules that governs how a Rust program manages memory.</p></main></div></div></div></body></html>',
      'https://doc.rust-lang.org/book/ch04-01-what-is-ownership.html',
    );
    assert.equal(book.title, 'What is Ownership?');
    assert.match(book.markdown, /^## \[What Is Ownership\?\]/);
  });

  it("title is not the site's name when the site's <h1> comes first in the content and the page's heading after it (Django's theme)", () => {
    const django = html(
      '<html><head><title>Validators &#8212; Django 3.2.25 documentation</title></head><body><div id="custom-doc">' +
        '<div id="hd"><h1><a href="../index.html">Django 3.2.25 documentation</a></h1></div>' +
        '<div id="bd"><div class="yui-g" id="ref-validators"><div class="section" id="s-module-django.core.validators"><h1>Validators</h1>' +
        '<p>A validator is a callable that takes a value and raises a ValidationError if it does not meet some criteria.</p></div></div></div>' +
        '</div></body></html>',
      'https://docs.djangoproject.com/en/3.2/ref/validators.html',
    );
    assert.equal(django.title, 'Validators');
    // a page titled after the site, whose first <h1> is its own heading, keeps that heading
    assert.equal(html('<html><head><title>Docs | Install</title></head><body><main><h1>Install</h1><p>Run the installer.</p></main></body></html>').title, 'Install');
  });

  it('returns every http(s) link of the document (navigation too), absolute, without fragments, de-duplicated, in order', () => {
    const expected = [
      'https://docs.acme.test/',
      'https://docs.acme.test/v2/guide/',
      'https://docs.acme.test/v2/api/',
      'https://docs.acme.test/v2/intro.html',
      'https://docs.acme.test/v2/setup.html',
      'https://docs.acme.test/v2/',
      'https://docs.acme.test/v1/old.html',
      'https://docs.acme.test/v2/next.html',
      'https://acme.test/legal',
    ];
    assert.deepEqual(page.links, expected);
  });

  it('counts the visible text of the whole page', () => {
    assert.ok(page.textLength > 300 && page.textLength < DOC.length / 2, `textLength ${page.textLength}`);
  });
});

const SPHINX = `<!DOCTYPE html><html><head><title>Retries &#8212; Kettle 2.1 documentation</title></head><body>
<div class="related" role="navigation" aria-label="related navigation"><h3>Navigation</h3><ul><li><a href="genindex.html">index</a></li></ul></div>
<div class="document">
  <div class="documentwrapper"><div class="bodywrapper"><div class="body">
    <section id="retries">
      <h1>Retries<a class="headerlink" href="#retries" title="Link to this heading">¶</a></h1>
      <p>Kettle retries failed requests with exponential backoff.</p>
      <section id="navigation">
        <h2>Navigation<a class="headerlink" href="#navigation">¶</a></h2>
        <p>The retry navigation API walks through attempts.</p>
      </section>
      <section id="cookies">
        <h2>Cookies</h2>
        <p>Retries keep the session cookies of the first attempt.</p>
      </section>
      <div class="highlight-pycon notranslate"><div class="highlight"><pre><span></span><span class="gp">&gt;&gt;&gt; </span>kettle.retry(3)
</pre></div></div>
      <dl class="py function"><dt class="sig"><span class="sig-name">retry</span>(<em>n</em>)</dt><dd><p>Retry <em>n</em> times.</p></dd></dl>
    </section>
  </div></div></div>
  <div class="sphinxsidebar" role="navigation"><h3><a href="index.html">Table of Contents</a></h3><ul><li><a href="#">Retries</a></li></ul></div>
</div>
<div class="footer">&#169;2024, Kettle team.</div>
</body></html>`;

describe('Sphinx-style page', () => {
  const page = html(SPHINX, 'https://kettle.test/en/2.1/retries.html');

  it('keeps div.body (the content) and its sections, even ones whose ids look like chrome', () => {
    assert.match(page.markdown, /^# Retries\n\nKettle retries failed requests/);
    assert.match(page.markdown, /## Navigation\n\nThe retry navigation API/);
    assert.match(page.markdown, /## Cookies\n\nRetries keep the session cookies/);
    assert.match(page.markdown, /retry\(\*n\*\)/);
  });

  it('drops the related bar, the sidebar, the footer and the ¶ anchors', () => {
    for (const gone of ['genindex', 'Table of Contents', 'Kettle team', '¶']) assert.ok(!page.markdown.includes(gone), `dropped: ${gone}`);
  });

  it('Sphinx highlight-x blocks are fenced with their language; title loses the site suffix', () => {
    assert.match(page.markdown, /```pycon\n>>> kettle\.retry\(3\)\n```/);
    assert.equal(page.title, 'Retries');
    assert.ok(page.links.includes('https://kettle.test/en/2.1/genindex.html'));
    assert.ok(!page.links.some((l) => l.includes('#')), 'in-page anchors are not links to crawl');
  });

  it('a heading whose link has a title with parentheses (Sphinx module pages) gives only its text to the heading path and snippets', () => {
    const p = html(
      `<html><body><div class="body" role="main"><section id="module-optparse">
<h1><a class="reference internal" href="#module-optparse" title="optparse: Command-line option parsing library. (deprecated)"><code class="xref py py-mod docutils literal notranslate"><span class="pre">optparse</span></code></a> — Parser for command line options<a class="headerlink" href="#module-optparse" title="Permalink to this heading">¶</a></h1>
<p>optparse is a more convenient, flexible, and powerful library for parsing command-line options than the old getopt module.</p>
<section id="using"><h2>Using <a href="api.html#OptionParser" title='the "OptionParser" class (see (api))'>OptionParser</a> objects</h2>
<p>Like <a href="https://en.wikipedia.org/wiki/Getopt_(Unix)" title="getopt (Unix)">getopt (Unix)</a>, it reads <a href="a b.html">options</a> from <code>sys.argv</code>.</p></section></section></div></body></html>`,
      'https://docs.test/library/optparse.html',
    );
    assert.equal(p.title, 'optparse — Parser for command line options');
    const paths = chunkMarkdown(p.markdown).map((c) => c.headingPath.join(' > '));
    assert.ok(paths.includes('optparse — Parser for command line options > Using OptionParser objects'), paths.join(' | '));
    assert.ok(paths.every((h) => h.startsWith('optparse — Parser for command line options')), paths.join(' | '));
    const text = snippet(p.markdown, queryTerms('getopt')).segments.map((x) => x.text).join('');
    assert.match(text, /Like getopt \(Unix\), it reads options from sys\.argv\./);
    assert.doesNotMatch(text, /wikipedia|"\)|a%20b|a b\.html/);
  });
});

/** A rustdoc page (the Rust standard library, docs.rs) as rustdoc 1.63 writes it, cut down to one method. */
const RUSTDOC = `<!DOCTYPE html><html lang="en"><head><title>Vec in std::vec - Rust</title></head><body class="rustdoc struct">
<nav class="sidebar"><h2 class="location"><a href="#">Vec</a></h2><div class="block items"><h3>Methods</h3><ul><li><a href="#method.push">push</a></li></ul></div></nav>
<main><div class="width-limiter"><section id="main-content" class="content"><div class="main-heading">
<h1 class="fqn"><span class="in-band">Struct <a href="../index.html">std</a>::<wbr><a href="index.html">vec</a>::<wbr><a class="struct" href="#">Vec</a></span></h1>
<span class="out-of-band"><span class="since" title="Stable since Rust version 1.0.0">1.0.0</span> · <a class="srclink" href="../../src/alloc/vec/mod.rs.html#400-403">source</a> · <a id="toggle-all-docs" href="javascript:void(0)" title="collapse all docs">[<span class="inner">&#x2212;</span>]</a></span></div>
<details class="rustdoc-toggle top-doc" open><summary class="hideme"><span>Expand description</span></summary><div class="docblock"><p>A contiguous growable array type.</p>
<div class="example-wrap"><pre class="rust rust-example-rendered"><code><span class="kw">let</span> <span class="kw-2">mut</span> <span class="ident">vec</span> = <span class="ident">Vec</span>::<span class="ident">new</span>();
<span class="ident">vec</span>.<span class="ident">push</span>(<span class="number">1</span>);</code></pre><a class="test-arrow" target="_blank" href="https://play.rust-lang.org/?code=%23!%5Ballow(unused)%5D%0Afn%20main()%20%7B%0Alet%20mut%20vec%20%3D%20Vec%3A%3Anew()%3B%0Avec.push(1)%3B%0A%7D&amp;edition=2021">Run</a></div></div></details>
<h2 id="implementations" class="small-section-header">Implementations<a href="#implementations" class="anchor"></a></h2>
<details class="rustdoc-toggle method-toggle" open><summary><section id="method.push" class="method has-srclink"><span class="rightside"><span class="since" title="Stable since Rust version 1.0.0">1.0.0</span> · <a class="srclink" href="../../src/alloc/vec/mod.rs.html#1829">source</a></span><a href="#method.push" class="anchor"></a><h4 class="code-header">pub fn <a href="#method.push" class="fnname">push</a>(&amp;mut self, value: T)</h4></section></summary><div class="docblock"><p>Appends an element to the back of a collection.</p></div></details>
<details class="rustdoc-toggle method-toggle" open><summary><section id="method.drain" class="method has-srclink"><h4 class="code-header">pub fn <a href="#method.drain" class="fnname">drain</a>&lt;R&gt;(&amp;mut self, range: R) -&gt; <a class="struct" href="struct.Drain.html" title="struct std::vec::Drain">Drain</a>&lt;'_, T, A&gt;<span class="notable-traits"><span class="notable-traits-tooltip">ⓘ<span class="notable-traits-tooltiptext"><span class="docblock"><span class="notable">Notable traits for <a class="struct" href="struct.Drain.html" title="struct std::vec::Drain">Drain</a>&lt;'_, T, A&gt;</span><code class="content"><span class="where fmt-newline">impl&lt;T, A:&nbsp;<a class="trait" href="../alloc/trait.Allocator.html" title="trait std::alloc::Allocator">Allocator</a>&gt; <a class="trait" href="../iter/trait.Iterator.html" title="trait std::iter::Iterator">Iterator</a> for <a class="struct" href="struct.Drain.html" title="struct std::vec::Drain">Drain</a>&lt;'_, T, A&gt;</span><span class="where fmt-newline">    type <a href="../iter/trait.Iterator.html#associatedtype.Item" class="associatedtype">Item</a> = T;</span></code></span></span></span></span></h4></section></summary><div class="docblock"><p>Removes the specified range from the vector in bulk.</p></div></details>
</section></div></main></body></html>`;

describe('rustdoc page', () => {
  const page = html(RUSTDOC, 'https://doc.rust-lang.org/std/vec/struct.Vec.html');

  it('keeps the description, the example and each method, without the playground link, version, source link and notable-traits box', () => {
    assert.match(page.markdown, /^# Struct \[std\]\(https:\/\/doc\.rust-lang\.org\/std\/index\.html\)::/);
    assert.match(page.markdown, /A contiguous growable array type\.\n\n```(rust)?\nlet mut vec = Vec::new\(\);\nvec\.push\(1\);\n```/);
    assert.match(page.markdown, /Appends an element to the back of a collection\./);
    for (const gone of ['play.rust-lang.org', '[Run]', 'source', '1.0.0', 'Notable traits', 'type Item', 'Expand description']) {
      assert.ok(!page.markdown.includes(gone), `dropped: ${gone}\n${page.markdown}`);
    }
    const paths = chunkMarkdown(page.markdown).map((c) => c.headingPath.join(' > '));
    assert.ok(paths.includes("Struct std::vec::Vec > Implementations > pub fn drain<R>(&mut self, range: R) -> Drain<'_, T, A>"), paths.join(' | '));
  });

  it('a link whose text is a lone bracket (rustdoc links "[" and "; N]" of an array type) stays a link; paired brackets and code stay unescaped', () => {
    const p = html(
      '<main><h3>impl&lt;T, const N: <a href="primitive.usize.html">usize</a>&gt; <a class="primitive" href="primitive.array.html">[</a>T<a class="primitive" href="primitive.array.html">; N]</a></h3>' +
        '<p>See <a href="a.html">a[0]</a>, <a href="b.html"><code>x[</code></a> and ticket <a href="t.html">[d02e1406]]</a>.</p></main>',
      'https://doc.rust-lang.org/std/primitive.array.html',
    );
    const links = DomUtils.getElementsByTagName('a', parseDocument(marked.parse(p.markdown, { async: false }) as string)).map((a) => DomUtils.textContent(a));
    assert.deepEqual(links, ['usize', '[', '; N]', 'a[0]', 'x[', '[d02e1406]]'], p.markdown);
    assert.match(p.markdown, /\[a\[0\]\]\(/);
    assert.deepEqual(chunkMarkdown(p.markdown)[0]?.headingPath, ['impl<T, const N: usize> [T; N]']);
  });
});

describe('Markdown writer: inline formatting, lists, quotes and escaping', () => {
  const page = html(
    '<main><p>a<b> bold </b>b <em>em</em>, <code>x_y</code> and <a href="/l" title="T">link <i>it</i></a>.<br>next line</p>' +
      '<blockquote><p>quoted</p><p>two</p></blockquote>' +
      '<ol start="3"><li>three<ul><li>nested</li><li>more</li></ul></li><li><p>para item</p><p>second para</p></li></ol>' +
      '<p>1. not a list * star _under_ snake_case [a](b) &lt;b&gt;</p><p><s>old</s> <del> </del>x</p></main>',
  );

  it('whitespace at the edges of inline elements stays outside their markers; <br> is a hard break', () => {
    assert.match(page.markdown, /^a \*\*bold\*\* b \*em\*, `x_y` and \[link \*it\*\]\(https:\/\/d\.test\/l "T"\)\. {2}\nnext line$/m);
  });

  it('quotes, ordered lists with start, nested lists and multi-paragraph items keep their structure', () => {
    assert.match(page.markdown, /^> quoted\n> \n> two$/m);
    assert.match(page.markdown, /^3\. three\n {3}- nested\n {3}- more\n4\. para item\n\n {3}second para$/m);
  });

  it('an <ol start> past what Markdown can number (over 9 digits, negative) still makes list items, not lines of text', () => {
    const md = html('<main><ol start="999999999999999999999"><li>huge</li><li>next</li></ol><ol start="-5"><li>neg</li></ol><p>end</p></main>').markdown;
    assert.match(md, /^999999999\. huge\n999999999\. next$/m);
    assert.match(md, /^0\. neg$/m);
    const items = DomUtils.getElementsByTagName('li', parseDocument(marked.parse(md, { async: false }) as string));
    assert.deepEqual(items.map((li) => DomUtils.textContent(li).trim()), ['huge', 'next', 'neg']);
  });

  it('text that looks like Markdown or HTML stays text; empty strikethrough is dropped', () => {
    assert.match(page.markdown, /^1\\\. not a list \\\* star \\_under\\_ snake_case \[a\\\]\(b\) \\<b>$/m);
    assert.match(page.markdown, /^~old~ x$/m);
  });

  it('text inside emphasis, links, code or headings gets no line-start escapes (Sphinx signatures); text that starts a line keeps them', () => {
    const sig = html(
      '<main><h1>T</h1><dl><dt class="sig"><span class="sig-name">dumps</span>(<em class="sig-param"><span class="n">obj</span></em>, ' +
        '<em class="sig-param"><span class="n">skipkeys</span><span class="o">=</span><span class="default_value">False</span></em>, ' +
        '<em class="sig-param"><span class="o">-</span><span class="n">x</span></em>)</dt><dd><p>Serialize.</p></dd></dl></main>',
    );
    assert.equal(sig.markdown, '# T\n\ndumps(*obj*, *skipkeys=False*, *-x*)\n\nSerialize.');
    const starts = html('<main><h1>T</h1><p>Some text<br><span>===</span></p><p><span>- not a list</span> and <span>= x</span></p><ul><li><span>1. x</span></li></ul></main>');
    assert.equal(starts.markdown, '# T\n\nSome text  \n\\===\n\n\\- not a list and = x\n\n- 1\\. x');
    for (const md of [sig.markdown, starts.markdown]) assert.doesNotMatch(marked.parse(md) as string, /<h2>|<ul>\s*<li>\s*<ol>|<li>not a list/);
  });

  it('text that can start no block keeps its line-start characters unescaped (a stray backslash is noise to a reader)', () => {
    const md = html(
      '<main><h2>3. Full-text Query Syntax</h2><p>As allowed by <a href="/rfc">RFC</a> 7159. Such limits.</p>' +
        '<p>Keys <code>a</code> - and <b>b</b> + c, <i>x</i> > y, <em>z</em> # w.</p>' +
        '<p>1. still escaped</p><p> <span></span>2. also escaped</p><p>a<br>3. after a break</p><h3>4) Four</h3>' +
        '<p><a href="/i">16. Installation</a></p><table><tr><th>n</th><th>note</th></tr><tr><td>1.</td><td>Older</td></tr></table></main>',
    ).markdown;
    assert.match(md, /^\[16\. Installation\]\(https:\/\/d\.test\/i\)$/m);
    assert.match(md, /^\| 1\. \| Older \|$/m);
    assert.match(md, /^## 3\. Full-text Query Syntax$/m);
    assert.match(md, /^As allowed by \[RFC\]\(https:\/\/d\.test\/rfc\) 7159\. Such limits\.$/m);
    assert.match(md, /^Keys `a` - and \*\*b\*\* \+ c, \*x\* > y, \*z\* # w\.$/m);
    assert.match(md, /^1\\\. still escaped$/m);
    assert.match(md, /^ ?2\\\. also escaped$/m);
    assert.match(md, /^3\\\. after a break$/m);
    assert.match(md, /^### 4\) Four$/m);
    // and the structure is as it was: two headings, no list
    const dom = parseDocument(marked.parse(md, { async: false }) as string);
    assert.equal(DomUtils.getElementsByTagName('li', dom).length, 0);
    assert.deepEqual(DomUtils.getElementsByTagName('h2', dom).map((h) => DomUtils.textContent(h)), ['3. Full-text Query Syntax']);
    assert.deepEqual(DomUtils.getElementsByTagName('h3', dom).map((h) => DomUtils.textContent(h)), ['4) Four']);
  });
});

describe('malformed markup real sites serve (sqlite3-doc)', () => {
  it('an unclosed <h2> does not swallow the sections after it (linkedom ran them into one heading line)', () => {
    const page = html(
      '<html><head><title>Agreement</title></head><body><h1>Agreement</h1><p>Intro text here for the page.</p><h2>2.0 Agreement<h2>\n' +
        '<h3>2.1 Duties</h3>\n<p>The developers shall answer questions.</p>\n<h3>2.2 Fees</h3>\n<p>The company shall pay.</p></body></html>',
    );
    assert.match(page.markdown, /^## 2\.0 Agreement\n\n### 2\.1 Duties\n\nThe developers shall answer questions\.\n\n### 2\.2 Fees\n\nThe company shall pay\.$/m);
  });

  it('a heading closed with another level\'s end tag (<h2>Index</h1>) ends there, as in a browser, not with the page', () => {
    // sqlite.org's keyword_index.html and docs.html: the whole page (262 KB) came out as one "## Keyword Index ..." line
    const page = html(
      '<html><head><title>Keyword Index</title></head><body><h2 align=center>Keyword Index</h1>\n<p>Other documentation indexes:</p>' +
        '<ul><li>Categorical list</li></ul><h3>A</h1><p>Text of A.</p></body></html>',
    );
    assert.equal(page.markdown, '## Keyword Index\n\nOther documentation indexes:\n\n- Categorical list\n\n### A\n\nText of A.');
  });

  it('list items without end tags (<li><p>One<li><p>Two) stay one item each, as a browser shows them, not one line', () => {
    // sqlite.org's requirements.html, lang_*.html: htmlparser2 nested each <li> in the previous item's <p>
    // ("- One.- Two.- Three" on one line)
    const page = html(
      '<html><head><title>Reqs</title></head><body><h1>Reqs</h1><ul>\n<li><p>\nFirst item.\n\n<li><p>\nSecond item.\n<li><p>Third' +
        '<ul><li>inner one<li><p>inner two</ul>\n</ul><p>After the list.</p><ol><li><p>A<li>B</ol></body></html>',
    );
    assert.equal(
      page.markdown,
      '# Reqs\n\n- First item.\n\n- Second item.\n\n- Third\n\n  - inner one\n  - inner two\n\nAfter the list.\n\n1. A\n\n2. B',
    );
  });

  it('a document with <title> but no <head> keeps its body (linkedom lost it: empty Markdown)', () => {
    const page = html(
      '<html>\n<title>Copyright Release Template</title>\n<body bgcolor="white">\n<h1 align="center">\nCopyright Release for<br>\nContributions To SQLite\n</h1>\n' +
        '<p>\nSQLite is software that implements an embeddable SQL database engine.\n</p>\n<ol><li><p>I dedicate to the public domain.</p></li><li><p>To the best of my knowledge.</p></li></ol></body></html>',
    );
    assert.equal(page.title, 'Copyright Release Template');
    assert.match(page.markdown, /^# Copyright Release for Contributions To SQLite\n\nSQLite is software/);
    assert.match(page.markdown, /1\. I dedicate to the public domain\.\n\n2\. To the best of my knowledge\.$/);
  });
});

describe('characters above U+00FF (typographic quotes and dashes, emoji, box drawing, non-Latin paths)', () => {
  // Most documentation pages have a few (475 of python3.11-doc's 530 pages): the extraction must keep exactly
  // the characters of the page, in text, code, titles, attribute values and URLs.
  it('come through unchanged in the title, text, code, link text, link and image URLs and alt text', () => {
    // Mostly ASCII, as documentation pages are.
    const filler = 'Plain ASCII text. '.repeat(250).trim();
    const page = html(`<html><head><title>Don’t panic — a guide</title></head><body><main><h1>Don’t panic — a guide</h1>
<p>“Quoted” text with an emoji 😀, a legacy &not’ reference, &amp;#8217; written out, and café.</p>
<pre><code>project/
├── src
└── README</code></pre>
<p><a href="/docs/東京.html" title="Tōkyō">Tōkyō’s page</a> <img src="img/ü.png" alt="a “diagram”"></p>
<xmp>raw ’ text</xmp><script>var s = '’';</script><p>${filler}</p>
</main></body></html>`);
    assert.equal(page.title, 'Don’t panic — a guide');
    assert.equal(
      page.markdown,
      '# Don’t panic — a guide\n\n“Quoted” text with an emoji 😀, a legacy ¬’ reference, \\&#8217; written out, and café.\n\n' +
        '```\nproject/\n├── src\n└── README\n```\n\n' +
        '[Tōkyō’s page](https://d.test/docs/%E6%9D%B1%E4%BA%AC.html "Tōkyō") ![a “diagram”](https://d.test/docs/img/%C3%BC.png)\n\nraw ’ text\n\n' + filler,
    );
    assert.deepEqual(page.links, ['https://d.test/docs/%E6%9D%B1%E4%BA%AC.html']);
  });

  it('a page written in CJK keeps its text', () => {
    const sentence = '日本語の文章です。';
    const page = html(`<html><head><title>東京の案内</title></head><body><main><h1>東京の案内</h1><p>${sentence.repeat(50)}</p></main></body></html>`);
    assert.equal(page.title, '東京の案内');
    assert.equal(page.markdown, `# 東京の案内\n\n${sentence.repeat(50)}`);
  });
});

describe('other content types', () => {
  it('Markdown passes through; title from the first "# " heading; links (not images) resolved, fragments dropped', () => {
    const md = '```sh\n# not the title\n[no](in-code.md)\n```\n\n# Guide\n\nSee [setup](setup.md#linux), [x](https://other.test/a "T") and ![logo](logo.png).\n\n[ref]: ../ref.html\n';
    const p = extractPage({ body: md, contentType: 'text/markdown; charset=utf-8', url: 'https://d.test/docs/guide.md' });
    assert.equal(p.title, 'Guide');
    assert.equal(p.markdown, md.trim());
    assert.deepEqual(p.links, ['https://d.test/docs/setup.md', 'https://other.test/a', 'https://d.test/ref.html']);
  });

  it('hand-written Markdown: a heading with a link whose destination or title holds parentheses gives its text as the title and heading path', () => {
    const md = '# The [getopt](https://en.wikipedia.org/wiki/Getopt_(Unix) "getopt (Unix)") way\n\nText.\n\n## [`a[0]`](<api ref.md> \'first (item)\') and ![i](x.png)\n\nMore text.';
    const p = extractPage({ body: md, contentType: 'text/markdown; charset=utf-8', url: 'https://d.test/docs/getopt.md' });
    assert.equal(p.title, 'The getopt way');
    assert.deepEqual(
      chunkMarkdown(p.markdown).map((c) => c.headingPath),
      [['The getopt way'], ['The getopt way', 'a[0] and i']],
    );
  });

  it('a .md URL served as text/plain (raw file hosts) is Markdown; front matter gives the title', () => {
    const p = extractPage({ body: '---\ntitle: "Deploying"\n---\n\nText [a](b.md)', contentType: 'text/plain', url: 'https://raw.test/repo/main/docs/deploy.md' });
    assert.equal(p.title, 'Deploying');
    assert.deepEqual(p.links, ['https://raw.test/repo/main/docs/b.md']);
  });

  it('plain text passes through with a title from the URL', () => {
    const p = extractPage({ body: 'hello\r\nworld\n', contentType: 'text/plain', url: 'https://d.test/notes/README.txt' });
    assert.equal(p.markdown, 'hello\nworld');
    assert.equal(p.title, 'README');
    assert.deepEqual(p.links, []);
  });

  it('without <title> the title is the first <h1>, else the URL path', () => {
    assert.equal(html('<body><main><h1>Only heading</h1><p>text</p></main></body>').title, 'Only heading');
    assert.equal(html('<body><p>just text</p></body>', 'https://d.test/guide/getting-started.html').title, 'getting-started');
  });
});

describe('hostile input', () => {
  it('10,000 levels of nested <div>s: no crash, the text and the Markdown around it are kept', () => {
    const depth = 10_000;
    const body = `<html><head><title>Deep</title></head><body><main><h1>Deep page</h1><p>before <a href="/x">x</a></p>${'<div>'.repeat(depth)}<p>deep text here</p><p>second para</p>${'</div>'.repeat(depth)}<p>after</p></main></body></html>`;
    const { value: p, ms } = cpuMs(() => html(body));
    assert.ok(ms < 5000, `took ${ms} ms of CPU`);
    assert.match(p.markdown, /^# Deep page\n\nbefore \[x\]\(https:\/\/d\.test\/x\)/);
    assert.match(p.markdown, /deep text here\n\nsecond para/);
    assert.match(p.markdown, /after$/);
  });

  it("a link's text of 1 MB with a stray bracket and 1,500 unclosed backtick runs: brackets escaped in linear time", () => {
    let text = '[';
    for (let i = 1; i < 1500; i++) text += `${'`'.repeat(i)}x`;
    const { value, ms } = cpuMs(() => linkText(text));
    assert.ok(ms < 2000, `took ${ms} ms of CPU (13.5 s with a regular expression for code spans)`);
    assert.ok(value.startsWith('\\[`x``x'), value.slice(0, 20));
  });

  it('long runs of whitespace with text after them (in <pre>, no-break spaces, a quote, a list) are converted quickly', () => {
    // Each took time quadratic in the run's length (/\s+$/ and the like): 1M newlines in a <pre> held a server for hours.
    const n = 300_000;
    const cases: [string, string, RegExp][] = [
      ['pre', `<pre>${'\n'.repeat(n)}the end</pre>`, /\n\n\nthe end\n```$/],
      ['nbsp', `<p>a${'&nbsp;'.repeat(n)}the end</p>`, /the end$/],
      ['ideographic spaces', `<p>a${'\u3000'.repeat(n)}b</p><p>the end</p>`, /the end$/],
      ['quote', `<blockquote><pre>x${'\n'.repeat(n)}y</pre>z</blockquote><p>the end</p>`, /the end$/],
      ['list item', `<ul><li><pre>x${'\n'.repeat(n)}y</pre>z</li></ul><p>the end</p>`, /the end$/],
      ['inline code', `<p><code> ${'a '.repeat(n)}b</code></p><p>the end</p>`, /the end$/],
    ];
    for (const [name, body, end] of cases) {
      const { value: p, ms } = cpuMs(() => html(`<html><head><title>Runs</title></head><body><main>${body}</main></body></html>`));
      assert.ok(ms < 3000, `${name}: took ${ms} ms of CPU`);
      assert.match(p.markdown, end, name);
    }
    // inside inline markup, table cells and deep trees, where other steps trimmed or joined the whitespace
    const more: [string, string, RegExp][] = [
      ['bold pre', `<p>a<b>x<pre>y${' '.repeat(n)}\u00a0</pre></b>c the end</p>`, /the end$/],
      ['table cell', `<table><tr><td>${'\u00a0'.repeat(n)}x</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table><p>the end</p>`, /the end$/],
      ['deep pre', `${'<div>'.repeat(105)}<pre>${' '.repeat(n)}x</pre>${'</div>'.repeat(105)}<p>the end</p>`, /the end$/],
    ];
    for (const [name, body, end] of more) {
      const { value: p, ms } = cpuMs(() => html(`<html><head><title>Runs</title></head><body><main>${body}</main></body></html>`));
      assert.ok(ms < 3000, `${name}: took ${ms} ms of CPU`);
      assert.match(p.markdown, end, name);
    }
    const front = `---\ntitle: "Runs ${' '.repeat(19_000)}guide"\n---\n\nText.`;
    const { value: md, ms } = cpuMs(() => extractPage({ body: front, contentType: 'text/markdown', url: 'https://d.test/runs.md' }));
    assert.ok(ms < 300, `front matter title: took ${ms} ms of CPU (~800 with one regular expression)`);
    assert.match(md.title, /^Runs\b/);
  });

  it('search passages of chunks with long blank or space runs, and links left open, are made quickly', () => {
    // snippet() runs on the server's thread for each search result: a chunk of 2,000 blank lines took 2.7 s
    const blank = `Intro text.\n${'\n'.repeat(20_000)}| a | b |\n|---|:-:|\n| retry | backoff |`;
    const { value: s, ms } = cpuMs(() => snippet(blank, queryTerms('retry')).segments.map((x) => x.text).join(''));
    assert.ok(ms < 500, `blank lines: took ${ms} ms of CPU`);
    assert.equal(s, 'Intro text. a b retry backoff |');
    const open = `See [the guide](${' '.repeat(20_000)}x y and [retry](<a b.html> "Retry ( policy )") here.`;
    const { value: t, ms: ms2 } = cpuMs(() => plainText(open));
    assert.ok(ms2 < 500, `an unclosed link: took ${ms2} ms of CPU`);
    assert.match(t, /^See \[the guide\]\( x y and retry here\.$/);
    assert.equal(linksToText('[a](  x  "t"  ) [b](\ty\t) [c]( )'), 'a b c');
  });

  it('a 5 MB single line of text is converted quickly', () => {
    const line = 'word '.repeat(1_000_000);
    const { value: p, ms } = cpuMs(() => html(`<html><body><main><p>${line}</p><p><b>unclosed <i>tags</main>`));
    assert.ok(ms < 5000, `took ${ms} ms of CPU`);
    assert.ok(p.markdown.length > 4_900_000);
    assert.match(p.markdown, /unclosed \*tags\*/);
  });

  it('a 5 MB line of dense markup (too many elements for a DOM) degrades to text with links, quickly', () => {
    const line = 'word <b>x</b> <a href="/p?i=1">link</a> '.repeat(130_000);
    const { value: p, ms } = cpuMs(() => html(`<html><head><title>Dense</title></head><body><h1>Dense</h1><script>var a = "<p>not text</p>";</script>${line}</body></html>`));
    assert.ok(ms < 5000, `took ${ms} ms of CPU`);
    assert.equal(p.title, 'Dense');
    assert.match(p.markdown, /^# Dense\n\nword x link word x link/);
    assert.ok(!p.markdown.includes('not text'));
    assert.deepEqual(p.links, ['https://d.test/p?i=1']);
  });

  it('unterminated markup and stray "<" do not hang', () => {
    for (const body of ['<div'.repeat(200_000), `<p>a < b and c <${'x'.repeat(1_000_000)}`, '<<<<'.repeat(500_000), `<a href="${'h'.repeat(2_000_000)}`]) {
      const { value: p, ms } = cpuMs(() => html(body));
      assert.ok(ms < 5000, `took ${ms} ms of CPU`);
      assert.equal(typeof p.markdown, 'string');
    }
  });

  it('script injection stays inert: scripts never run, escaped markup stays text', () => {
    const g = globalThis as { __doctorPwned?: number };
    const p = html(
      '<main><p>&lt;script&gt;alert(1)&lt;/script&gt; is shown, not run</p><script>globalThis.__doctorPwned = 1</script>' +
        '<img src="x" onerror="globalThis.__doctorPwned = 2"><p onclick="globalThis.__doctorPwned = 3">click</p></main>',
    );
    assert.equal(g.__doctorPwned, undefined);
    assert.ok(!p.markdown.includes('__doctorPwned'));
    assert.match(p.markdown, /\\<script>alert\(1\)\\<\/script> is shown/);
  });

  it('flags pages whose static HTML is almost empty but has scripts as JS-only', () => {
    const spa = '<html><body><div id="root"></div><noscript>You need to enable JavaScript to run this app.</noscript><script src="app.js"></script></body></html>';
    const p = html(spa, 'https://d.test/spa');
    assert.equal(looksLikeJsOnly(p, spa), true);
    const doc = html(DOC, 'https://docs.acme.test/v2/install.html');
    assert.equal(looksLikeJsOnly(doc, DOC), false);
    const tiny = '<html><body><p>Short static page.</p></body></html>';
    assert.equal(looksLikeJsOnly(html(tiny), tiny), false, 'no scripts: nothing to render');
  });
});

describe('markup shown as text stays text (issue 20)', () => {
  /** What a client that renders Markdown (CommonMark, raw HTML allowed) makes of the stored page. */
  const rendered = (md: string) => marked.parse(md, { async: false });
  const live = /<(script|img|iframe|svg|b)\b/i;

  it('&lt;script&gt; and &lt;img onerror&gt; in text never become live HTML; code keeps its markup literally', () => {
    const page = html(escapedMarkupPage());
    const out = rendered(page.markdown);
    assert.ok(!live.test(out.replace(/<img src="https:\/\/d\.test\/i\.png"[^>]*>/, '')), out);
    assert.match(out, /Use &lt;script&gt;alert\(1\)&lt;\/script&gt; and &lt;img src=x onerror=alert\(2\)&gt; as text\./);
    assert.match(out, /An entity shown as text: &amp;lt;b&amp;gt; and a &amp; b &lt; c\./, 'an entity written as text stays that text');
    assert.match(page.markdown, /`<div class="x">`/, 'inline code is not escaped');
    assert.match(page.markdown, /```\n<script src="app.js"><\/script>\n```/, 'code blocks are not escaped');
    assert.match(out, /alt="&lt;img src=x onerror=alert\(3\)&gt;"/, 'image alt text is text');
  });

  it('markup split across elements, after a text ending in a backslash, never becomes live HTML; operators keep no backslash', () => {
    const page = html(
      '<html><body><main><h1>Ops</h1><p>a\\<span>&lt;img src=x onerror=alert(4)&gt;</span></p><p>x &lt;<span>script&gt;alert(5)&lt;/script&gt;</span></p>' +
        '<p>two a\\\\<b>&lt;i&gt;</b></p><p>0 &lt;= x &lt; 256, box &lt;@ box, a &lt;-&gt; b, 1 &lt;&lt; 2</p></main></body></html>',
    );
    const out = rendered(page.markdown);
    assert.ok(!live.test(out), out);
    assert.match(out, /a\\&lt;img src=x onerror=alert\(4\)&gt;/);
    assert.match(out, /x &lt;script&gt;alert\(5\)&lt;\/script&gt;/);
    assert.match(out, /two a\\\\<strong>&lt;i&gt;<\/strong>/, 'two backslashes, then the bold text');
    assert.match(page.markdown, /^0 <= x < 256, box <@ box, a <-> b, 1 << 2$/m, 'operators as written, without backslashes');
  });

  it('the same holds for pages too large for a DOM (plain-text fallback)', () => {
    const filler = '<span>x</span>'.repeat(MAX_DOM_TAGS);
    const page = html(`<html><body><main><p>Use &lt;script&gt;alert(1)&lt;/script&gt; here.</p>${filler}</main></body></html>`);
    const out = rendered(page.markdown);
    assert.ok(!/<script/i.test(out), out.slice(0, 300));
    assert.match(out, /Use &lt;script&gt;alert\(1\)&lt;\/script&gt; here\./);
  });

  it('in that fallback, lines of code that look like Markdown (# comment, a ``` line, - , 1. ) stay text: no headings, no fence', () => {
    const filler = '<span>x</span>'.repeat(MAX_DOM_TAGS);
    const code = '# install the deps\nnpm install\n```\n- item\n1. one\n> quoted\n---';
    const page = html(`<html><body><main><h1>Big reference</h1><h2>Install</h2><pre><code>${code}</code></pre><p>After the code.</p><h3>Next</h3><p>More text.</p>${filler}</main></body></html>`);
    assert.equal(page.title, 'Big reference');
    const paths = new Set(chunkMarkdown(page.markdown, { maxChars: 1000 }).map((c) => c.headingPath.join(' > ')));
    assert.deepEqual([...paths], ['Big reference > Install', 'Big reference > Install > Next']);
    const out = rendered(page.markdown);
    assert.ok(!/<(code|pre|ul|ol|blockquote|hr)\b/.test(out), out.slice(0, 500));
    assert.match(out, /<p># install the deps\nnpm install\n```\n- item\n1\. one\n&gt; quoted\n---<\/p>/);
    assert.match(out, /<p>After the code\.<\/p>/);
  });
});

describe('extraction is bounded whatever the page (issue 20)', () => {
  it('a 2,000,000-character <title> and a 500,000-character <h1>: the title is cut to MAX_TITLE_CHARS', () => {
    const page = html(hugeTitlePage());
    assert.ok(page.title.length <= MAX_TITLE_CHARS && page.title.length > 200, `title of ${page.title.length} characters`);
    assert.match(page.markdown, /zebrafish/, 'the text is kept');
  });

  it('a 9 MB word is cut to MAX_WORD_CHARS; the text around it is kept', () => {
    const page = html(longWordPage());
    assert.match(page.markdown, new RegExp(`^before w{${MAX_WORD_CHARS}}… after$`));
  });

  it(`quotes and list items nested past MAX_MARKER_NESTING add no further markers: 2,000 nested quotes stay ~2 lines per quote`, () => {
    const quotes = html(`<html><body><main>${'<blockquote><p>q</p>'.repeat(2000)}</main></body></html>`);
    const lines = quotes.markdown.split('\n');
    assert.equal(lines[0], '> q');
    assert.equal(lines[2], '> > q', 'outer levels keep their markers');
    assert.equal(Math.max(...lines.map((l) => (/^(> )*/.exec(l)![0].length / 2))), MAX_MARKER_NESTING);
    assert.ok(quotes.markdown.length < 2000 * 2 * (2 * MAX_MARKER_NESTING + 4), `${quotes.markdown.length} characters (was 778,396: up to 100 markers a line)`);
    assert.equal(lines.filter((l) => l.endsWith('q')).length, 2000, 'every quote kept');
    const items = html(`<html><body><main>${'<ul><li>item'.repeat(40)}</main></body></html>`);
    const indents = items.markdown.split('\n').map((l) => /^ */.exec(l)![0].length);
    assert.equal(Math.max(...indents), 2 * MAX_MARKER_NESTING);
    assert.equal((items.markdown.match(/- item/g) ?? []).length, 40);
  });

  it('links per page are capped at MAX_LINKS', () => {
    const links = Array.from({ length: MAX_LINKS + 500 }, (_, i) => `<a href="/p${i}">p</a>`).join(' ');
    const page = html(`<html><body><main><p>many links</p>${links}</main></body></html>`);
    assert.equal(page.links.length, MAX_LINKS);
    assert.equal(page.links[0], 'https://d.test/p0');
  });
});
