import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrapGuard, makeScopeFilter, normalizeUrl, validateStartUrl } from '../src/ingest/fetch/url.js';
import { AddressPolicy, isBlockedAddress } from '../src/ingest/fetch/net-guard.js';

describe('URL normalisation and scope', () => {
  it('normalises', () => {
    assert.equal(normalizeUrl('HTTP://Docs.Example.COM:80//a//b/./c/../d#frag'), 'http://docs.example.com/a/b/d');
    assert.equal(normalizeUrl('https://x.test:443/p?q=1'), 'https://x.test/p?q=1');
    assert.equal(normalizeUrl('../up', 'https://x.test/a/b/c.html'), 'https://x.test/a/up');
    assert.equal(normalizeUrl('mailto:a@b.c'), null);
    assert.equal(normalizeUrl('javascript:alert(1)'), null);
    assert.equal(normalizeUrl('ftp://x.test/f'), null);
    assert.equal(normalizeUrl('https://user:pw@x.test/'), null);
    assert.equal(normalizeUrl('https://x.test/' + 'a'.repeat(3000)), null);
  });

  it('validates start URLs with readable errors', () => {
    assert.throws(() => validateStartUrl('not a url'), /not a valid URL/);
    assert.throws(() => validateStartUrl('file:///etc/passwd'), /only http and https/);
    assert.throws(() => validateStartUrl('https://u:p@x.test/'), /credentials/);
    assert.equal(validateStartUrl(' https://x.test/docs/#top '), 'https://x.test/docs/');
  });

  it('prefix scope keeps the start directory; host and domain widen it; include/exclude filter', () => {
    const prefix = makeScopeFilter('https://docs.x.test/v2/index.html', 'prefix');
    assert.ok(prefix('https://docs.x.test/v2/guide/a.html'));
    assert.ok(!prefix('https://docs.x.test/v1/a.html'));
    assert.ok(!prefix('https://other.x.test/v2/a.html'));
    const host = makeScopeFilter('https://docs.x.test/v2/', 'host');
    assert.ok(host('https://docs.x.test/blog/'));
    const domain = makeScopeFilter('https://docs.example.co.uk/', 'domain');
    assert.ok(domain('https://api.example.co.uk/ref'));
    assert.ok(!domain('https://example.org/'));
    const filtered = makeScopeFilter('https://d.test/', 'host', ['*/api/*'], ['/\\.pdf$/']);
    assert.ok(filtered('https://d.test/api/x.html'));
    assert.ok(!filtered('https://d.test/guide/x.html'));
    assert.ok(!filtered('https://d.test/api/x.pdf'));
  });

  it('guards against link traps', () => {
    const g = new TrapGuard(3);
    assert.ok(g.allow('https://d.test/a/b/c'));
    assert.ok(!g.allow('https://d.test/a/b/a/b/a/b'), 'repeated segments');
    assert.ok(!g.allow('https://d.test/' + Array.from({ length: 25 }, (_, i) => `s${i}`).join('/')), 'too deep');
    assert.ok(g.allow('https://d.test/cal?d=1') && g.allow('https://d.test/cal?d=2') && g.allow('https://d.test/cal?d=3'));
    assert.ok(!g.allow('https://d.test/cal?d=4'), 'endless query variants');
    assert.ok(g.allow('https://d.test/cal?d=2'), 'a variant already seen stays allowed');
  });
});

describe('address policy (no traffic sent)', () => {
  it('blocks loopback, private, link-local, metadata, CGNAT, unspecified and mapped forms', () => {
    for (const a of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.1.2.3']) {
      assert.ok(isBlockedAddress(a), a);
    }
    for (const a of ['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111']) assert.ok(!isBlockedAddress(a), a);
  });

  it('allowlists by host name, IP or CIDR', () => {
    const p = new AddressPolicy({ allowPrivate: false, allowlist: ['docs.internal', '10.1.0.0/16', '127.0.0.1'] });
    assert.doesNotThrow(() => p.check('docs.internal', '10.9.9.9'));
    assert.doesNotThrow(() => p.check('x', '10.1.2.3'));
    assert.doesNotThrow(() => p.check('localhost', '127.0.0.1'));
    assert.throws(() => p.check('x', '10.2.0.1'), /blocked/);
    assert.throws(() => p.check('metadata', '169.254.169.254'), /DOCTOR_ALLOW_HOSTS/);
    assert.doesNotThrow(() => new AddressPolicy({ allowPrivate: true, allowlist: [] }).check('x', '10.0.0.1'));
  });
});
