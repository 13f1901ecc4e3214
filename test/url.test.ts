import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_URL_LENGTH, TrapGuard, checkUrlPattern, compileUrlPattern, makeScopeFilter, normalizeUrl, validateStartUrl } from '../src/ingest/fetch/url.js';

describe('normalizeUrl', () => {
  it('lowercases scheme and host, drops fragment and default ports, collapses slashes, resolves dots', () => {
    assert.equal(normalizeUrl('HTTP://Docs.Example.COM:80//a//b/./c/../d#frag'), 'http://docs.example.com/a/b/d');
    assert.equal(normalizeUrl('https://x.test:443/p'), 'https://x.test/p');
    assert.equal(normalizeUrl('https://x.test:8443/p'), 'https://x.test:8443/p', 'a non-default port is kept');
    assert.equal(normalizeUrl('http://x.test:443/p'), 'http://x.test:443/p', '443 is not the default for http');
    assert.equal(normalizeUrl('https://X.test'), 'https://x.test/');
    assert.equal(normalizeUrl('https://docs.x.test./a'), 'https://docs.x.test/a', 'trailing dot of the host');
    assert.equal(normalizeUrl('  https://x.test/a  '), 'https://x.test/a');
    assert.equal(normalizeUrl('https://x.test/Case/Path'), 'https://x.test/Case/Path', 'the path keeps its case');
  });

  it('writes percent-escapes one way: unreserved characters decoded, other escapes in upper case (RFC 3986)', () => {
    assert.equal(normalizeUrl('https://x.test/%7Euser/a%2db%5Fc%2E%41.html'), 'https://x.test/~user/a-b_c.A.html');
    assert.equal(normalizeUrl('https://x.test/~user/'), normalizeUrl('https://x.test/%7euser/'));
    assert.equal(normalizeUrl('https://x.test/a%2fb%e2%82%ac%20c'), 'https://x.test/a%2Fb%E2%82%AC%20c', 'reserved and non-ASCII bytes stay escaped');
    assert.equal(normalizeUrl('https://x.test/p?q=%7e%3d%26&r=%41'), 'https://x.test/p?q=~%3D%26&r=A', 'in the query too; = and & stay escaped');
    assert.equal(normalizeUrl('https://x.test/a/%2E%2E/b'), 'https://x.test/b', 'encoded dot segments are resolved');
    assert.equal(normalizeUrl('https://x.test/a%2E%2E/b'), 'https://x.test/a../b', 'dots inside a segment are plain characters');
    assert.equal(normalizeUrl('https://x.test/100%25/%zz'), 'https://x.test/100%25/%zz', 'an escaped % and a stray % stay');
  });

  it('keeps the query string as it is (order included)', () => {
    assert.equal(normalizeUrl('https://x.test/p?b=2&a=1#x'), 'https://x.test/p?b=2&a=1');
    assert.equal(normalizeUrl('https://x.test/p?q=a%20b'), 'https://x.test/p?q=a%20b');
  });

  it('resolves relative links against a base', () => {
    assert.equal(normalizeUrl('../up', 'https://x.test/a/b/c.html'), 'https://x.test/a/up');
    assert.equal(normalizeUrl('sib.html', 'https://x.test/a/b/c.html'), 'https://x.test/a/b/sib.html');
    assert.equal(normalizeUrl('/root', 'https://x.test/a/b/'), 'https://x.test/root');
    assert.equal(normalizeUrl('//other.test/p', 'https://x.test/'), 'https://other.test/p');
    assert.equal(normalizeUrl('?page=2', 'https://x.test/list'), 'https://x.test/list?page=2');
    assert.equal(normalizeUrl('#section', 'https://x.test/doc'), 'https://x.test/doc');
    assert.equal(normalizeUrl('../../../../x', 'https://x.test/a/'), 'https://x.test/x', 'cannot climb above the root');
  });

  it('refuses other schemes, credentials, garbage and over-long URLs', () => {
    for (const bad of ['mailto:a@b.c', 'javascript:alert(1)', 'ftp://x.test/f', 'file:///etc/passwd', 'data:text/html,hi', 'not a url', '', 'http://']) {
      assert.equal(normalizeUrl(bad), null, bad);
    }
    assert.equal(normalizeUrl('https://user:pw@x.test/'), null);
    assert.equal(normalizeUrl('https://user@x.test/'), null);
    assert.equal(normalizeUrl('//u:p@x.test/', 'https://y.test/'), null, 'credentials in a relative link');
    const long = 'https://x.test/' + 'a'.repeat(MAX_URL_LENGTH);
    assert.equal(normalizeUrl(long), null);
    const justFits = 'https://x.test/' + 'a'.repeat(MAX_URL_LENGTH - 'https://x.test/'.length);
    assert.equal(normalizeUrl(justFits), justFits);
  });
});

describe('validateStartUrl', () => {
  it('returns the normalised URL', () => {
    assert.equal(validateStartUrl(' https://X.test/docs/#top '), 'https://x.test/docs/');
  });

  it('explains what is wrong', () => {
    assert.throws(() => validateStartUrl('not a url'), /not a valid URL.*https:\/\/docs\.example\.com/);
    assert.throws(() => validateStartUrl('docs.example.com'), /not a valid URL/);
    assert.throws(() => validateStartUrl('file:///etc/passwd'), /only http and https.*file:/);
    assert.throws(() => validateStartUrl('https://u:p@x.test/'), /credentials/);
    assert.throws(() => validateStartUrl('https://x.test/' + 'a'.repeat(3000)), /longer than 2048/);
  });
});

describe('makeScopeFilter', () => {
  it('prefix: same host and the start directory', () => {
    const inScope = makeScopeFilter('https://docs.x.test/v2/index.html', 'prefix');
    assert.ok(inScope('https://docs.x.test/v2/'));
    assert.ok(inScope('https://docs.x.test/v2/guide/a.html'));
    assert.ok(!inScope('https://docs.x.test/v1/a.html'));
    assert.ok(!inScope('https://docs.x.test/v2'), 'the directory itself without slash is outside');
    assert.ok(!inScope('https://other.x.test/v2/a.html'));
    assert.ok(!inScope('http://docs.x.test:8080/v2/a.html'), 'another port is another host');
    assert.ok(!inScope('mailto:x@docs.x.test'));
    assert.ok(!inScope('garbage'));
  });

  it('host: same host, any path; domain: same registrable domain', () => {
    const host = makeScopeFilter('https://docs.x.test/v2/', 'host');
    assert.ok(host('https://docs.x.test/blog/'));
    assert.ok(!host('https://api.x.test/'));
    const domain = makeScopeFilter('https://docs.example.co.uk/', 'domain');
    assert.ok(domain('https://api.example.co.uk/ref'));
    assert.ok(domain('https://example.co.uk/'));
    assert.ok(!domain('https://other.co.uk/'), 'co.uk is a public suffix, not a shared domain');
    assert.ok(!domain('https://example.org/'));
    const gh = makeScopeFilter('https://alice.github.io/proj/', 'domain');
    assert.ok(!gh('https://mallory.github.io/'), 'github.io sites are separate registrable domains');
  });

  it('include and exclude patterns: globs and /regex/', () => {
    const filtered = makeScopeFilter('https://d.test/', 'host', ['*/api/*', '/guide\\/v\\d/'], ['/\\.pdf$/i', '*?print=*']);
    assert.ok(filtered('https://d.test/api/x.html'));
    assert.ok(filtered('https://d.test/guide/v3/x.html'));
    assert.ok(!filtered('https://d.test/guide/x.html'), 'matches no include');
    assert.ok(!filtered('https://d.test/api/x.PDF'), 'excluded by regex with flag');
    assert.ok(!filtered('https://d.test/api/x.html?print=1'), 'excluded by glob');
  });

  it('globs match the whole URL literally apart from *', () => {
    const m = compileUrlPattern('https://d.test/a.b/*');
    assert.ok(m('https://d.test/a.b/c'));
    assert.ok(!m('https://d.test/aXb/c'), 'a dot is a dot');
    assert.ok(!m('xhttps://d.test/a.b/c'), 'anchored');
    assert.throws(() => compileUrlPattern('/(unclosed/'), /invalid regular expression in URL pattern \/\(unclosed\//);
  });

  it('a new pattern that could match no URL is refused with how to write it: /html/x (unknown flag) and /docs/* (a glob from "/")', () => {
    assert.throws(() => checkUrlPattern('/html/x'), /^Error: URL pattern \/html\/x is neither a regular expression \("x" is not a flag: use i, m or s\).*write \/html\/ with valid flags, or \*\/html\/x\* for a glob$/);
    assert.throws(() => checkUrlPattern('/a/b/xq'), /"x", "q" are not flags/);
    assert.throws(() => checkUrlPattern('/docs/*'), /^Error: URL pattern \/docs\/\* is a glob, which must match the whole URL .*: write \*\/docs\/\* or https:\/\/<host>\/docs\/\*/);
    // as before: both matched nothing, which is why they are refused (a stored crawl with one still runs)
    assert.equal(compileUrlPattern('/html/x')('https://d.test/html/x'), false);
    assert.equal(compileUrlPattern('/docs/*')('https://d.test/docs/a'), false);
    // valid regexes and globs are taken as they were
    for (const [pattern, url] of [['/html/i', 'https://d.test/HTML/a'], ['/docs/', 'https://d.test/docs/a'], ['*/docs/*', 'https://d.test/docs/a'], ['/\\.pdf$/g', 'https://d.test/a.pdf'], ['https://d.test/*', 'https://d.test/a']] as const) {
      assert.ok(checkUrlPattern(pattern)(url), pattern);
    }
  });
});

describe('TrapGuard', () => {
  it('refuses repeated segments and deep paths, with a reason', () => {
    const g = new TrapGuard();
    assert.ok(g.allow('https://d.test/a/b/c'));
    assert.ok(g.allow('https://d.test/a/b/a/c'), 'twice is fine');
    assert.match(g.check('https://d.test/a/b/a/b/a/b') ?? '', /"a" repeated 3 times/);
    assert.ok(g.allow('https://d.test/' + Array.from({ length: 20 }, (_, i) => `s${i}`).join('/')), '20 segments');
    assert.match(g.check('https://d.test/' + Array.from({ length: 21 }, (_, i) => `s${i}`).join('/')) ?? '', /deeper than 20/);
  });

  it('allows 10 query variants per path by default and refuses the 11th; known variants stay allowed', () => {
    const g = new TrapGuard();
    for (let i = 0; i < 10; i++) assert.ok(g.allow(`https://d.test/cal?d=${i}`), `variant ${i}`);
    assert.match(g.check('https://d.test/cal?d=10') ?? '', /more than 10 query-string variants/);
    assert.ok(g.allow('https://d.test/cal?d=3'));
    assert.ok(g.allow('https://d.test/cal'), 'the bare path is not a variant');
    assert.ok(g.allow('https://d.test/other?d=10'), 'budgets are per path');
  });

  it('takes custom limits', () => {
    const g = new TrapGuard({ maxQueryVariants: 2, maxDepth: 3, maxSegmentRepeats: 2 });
    assert.ok(g.allow('https://d.test/a/b/c'));
    assert.ok(!g.allow('https://d.test/a/b/c/d'));
    assert.ok(!g.allow('https://d.test/a/a'));
    assert.ok(g.allow('https://d.test/p?1') && g.allow('https://d.test/p?2'));
    assert.ok(!g.allow('https://d.test/p?3'));
  });
});
