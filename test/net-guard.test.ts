// SSRF guard tests. Traffic only ever goes to loopback: addresses outside 127/8 and ::1 are tested
// through a connector that records and refuses any connection attempt, so a broken guard fails the
// test instead of sending a packet.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { LookupAddress } from 'node:dns';
import { after, before, describe, it } from 'node:test';
import { Agent, buildConnector, request } from 'undici';
import {
  AddressPolicy,
  BlockedAddressError,
  createGuardedDispatcher,
  guardConnector,
  guardedLookup,
  isBlockedAddress,
  type Resolver,
} from '../src/ingest/fetch/net-guard.js';
import { Fetcher } from '../src/ingest/fetch/fetcher.js';

let server: Server;
let port = 0;
let base = '';
let hits = 0;

before(async () => {
  server = createServer((req, res) => {
    hits++;
    const path = new URL(req.url!, 'http://x').pathname;
    if (path === '/to-ip') return res.writeHead(302, { location: `http://127.0.0.1:${port}/ok` }).end();
    if (path === '/to-metadata') return res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    if (path === '/to-private') return res.writeHead(301, { location: 'http://10.0.0.1/admin' }).end();
    res.writeHead(200, { 'content-type': 'text/plain' }).end('hello from loopback');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
  base = `http://127.0.0.1:${port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * A real connector that only ever connects to loopback; any other target is recorded and refused,
 * so it shows whether the guard let an address through without sending traffic there.
 */
function loopbackOnlyConnector(policy: AddressPolicy, attempts: string[]): buildConnector.connector {
  const real = buildConnector({ lookup: guardedLookup(policy) } as buildConnector.BuildOptions);
  return (options, callback) => {
    if (LOOPBACK_HOSTS.has(options.hostname)) return real(options, callback);
    attempts.push(options.hostname);
    callback(new Error(`test safety net: refused to connect to ${options.hostname}`), null);
  };
}

function lookupOnce(lookup: ReturnType<typeof guardedLookup>, host: string): Promise<{ err: unknown; addresses?: LookupAddress[] }> {
  return new Promise((resolve) => {
    (lookup as unknown as (h: string, o: object, cb: (err: unknown, a?: LookupAddress[]) => void) => void)(host, { all: true }, (err, addresses) =>
      resolve({ err, addresses }),
    );
  });
}

describe('isBlockedAddress', () => {
  it('blocks loopback, private, link-local, metadata, CGNAT, unspecified and their IPv6 forms', () => {
    for (const a of [
      '127.0.0.1', '127.1.2.3', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
      '100.127.255.254', '0.0.0.0', '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', '::ffff:127.0.0.1', '::ffff:7f00:1',
      '0:0:0:0:0:ffff:a9fe:a9fe', '::ffff:10.1.2.3', '64:ff9b::10.0.0.1', '2002:a9fe:a9fe::1', '[::1]', 'not-an-ip',
      '::ffff:0:a9fe:a9fe', '::ffff:0:127.0.0.1', '64:ff9b:1::a9fe:a9fe', '64:ff9b:1:a9fe:a9fe::', '2001:0:4136:e378:8000:63bf:f5ff:fffe',
    ]) {
      assert.ok(isBlockedAddress(a), a);
    }
  });

  it('lets public addresses through, including their IPv6 forms', () => {
    for (const a of ['93.184.216.34', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:1.1.1.1', '64:ff9b::1.1.1.1', '::ffff:0:1.1.1.1', '2001:0:4136:e378:8000:63bf:fefe:fefe', '2001:4860::8888']) {
      assert.ok(!isBlockedAddress(a), a);
    }
  });
});

describe('AddressPolicy', () => {
  it('allowlists by host name, *.suffix, IP or CIDR, and says how to allow a refused address', () => {
    const p = new AddressPolicy({ allowPrivate: false, allowlist: ['Docs.Internal', '*.corp.test', '10.1.0.0/16', '127.0.0.1', '[::1]'] });
    assert.ok(p.allows('docs.internal', '10.9.9.9'));
    assert.ok(p.allows('wiki.corp.test', '192.168.3.3'));
    assert.ok(!p.allows('corp.test.evil', '192.168.3.3'));
    assert.ok(p.allows('anything', '10.1.2.3'));
    assert.ok(p.allows('anything', '::ffff:10.1.2.3'), 'a mapped address matches its IPv4 network');
    assert.ok(p.allows('localhost', '::1'));
    assert.ok(!p.allows('anything', '10.2.0.1'));
    assert.throws(
      () => p.check('metadata.test', '169.254.169.254'),
      (e: unknown) => e instanceof BlockedAddressError && /169\.254\.169\.254.*DOCTOR_ALLOW_HOSTS/.test(e.message) && e.address === '169.254.169.254',
    );
    assert.ok(new AddressPolicy({ allowPrivate: true, allowlist: [] }).allows('x', '10.0.0.1'));
  });

  it('rejects malformed networks in the allowlist with a clear message', () => {
    assert.throws(() => new AddressPolicy({ allowPrivate: false, allowlist: ['10.0.0.0/40'] }), /invalid network "10\.0\.0\.0\/40".*DOCTOR_ALLOW_HOSTS/);
    assert.throws(() => new AddressPolicy({ allowPrivate: false, allowlist: ['intranet/8'] }), /invalid network/);
  });
});

describe('guardedLookup (resolution, no connection)', () => {
  const fakeDns: Resolver = async (host) => {
    const table: Record<string, LookupAddress[]> = {
      'metadata.test': [{ address: '169.254.169.254', family: 4 }],
      'mixed.test': [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.5', family: 4 }],
      'mapped.test': [{ address: '::ffff:192.168.0.1', family: 6 }],
      'public.test': [{ address: '93.184.216.34', family: 4 }],
    };
    const found = table[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found;
  };
  const policy = new AddressPolicy({ allowPrivate: false, allowlist: [] });
  const lookup = guardedLookup(policy, fakeDns);

  it('refuses a name when any of its addresses is blocked', async () => {
    for (const host of ['metadata.test', 'mixed.test', 'mapped.test']) {
      const { err } = await lookupOnce(lookup, host);
      assert.ok(err instanceof BlockedAddressError, host);
    }
  });

  it('passes public names and DNS errors through', async () => {
    const ok = await lookupOnce(lookup, 'public.test');
    assert.equal(ok.err, null);
    assert.deepEqual(ok.addresses, [{ address: '93.184.216.34', family: 4 }]);
    const missing = await lookupOnce(lookup, 'nowhere.test');
    assert.equal((missing.err as { code?: string }).code, 'ENOTFOUND');
  });

  it('resolves localhost with the system resolver and refuses it', async () => {
    const { err } = await lookupOnce(guardedLookup(policy), 'localhost');
    assert.ok(err instanceof BlockedAddressError);
  });
});

describe('guarded dispatcher', () => {
  it('refuses loopback by IP, by name, as [::1] and as ::ffff:127.0.0.1, without reaching the server', async () => {
    const fetcher = new Fetcher({ dispatcher: createGuardedDispatcher({ allowPrivate: false, allowlist: [] }), maxRetries: 0, perHostDelayMs: 0 });
    const before = hits;
    for (const url of [`${base}/ok`, `http://localhost:${port}/ok`, `http://[::1]:${port}/ok`, `http://[::ffff:127.0.0.1]:${port}/ok`]) {
      const r = await fetcher.fetch(url);
      assert.ok(!r.ok && r.kind === 'blocked_address', `${url}: ${JSON.stringify(r)}`);
      assert.match(r.reason, /refused to connect.*DOCTOR_ALLOW_HOSTS/);
    }
    assert.equal(hits, before, 'no request reached the server');
  });

  it('refuses non-loopback literal IPs before any connection is attempted', async () => {
    const policy = new AddressPolicy({ allowPrivate: false, allowlist: [] });
    const attempts: string[] = [];
    const dispatcher = new Agent({ connect: guardConnector(policy, loopbackOnlyConnector(policy, attempts)) });
    for (const url of ['http://10.0.0.1/', 'http://169.254.169.254/latest/meta-data/', 'http://192.168.1.1:8080/', 'http://100.64.0.1/', 'http://0.0.0.0/', 'http://[::ffff:10.0.0.1]/', 'http://[fd00::1]/', 'http://[fe80::1]/']) {
      await assert.rejects(request(url, { dispatcher }), (e: unknown) => e instanceof BlockedAddressError, url);
    }
    const fetcher = new Fetcher({ dispatcher, maxRetries: 0 });
    const r = await fetcher.fetch('http://169.254.169.254/latest/meta-data/');
    assert.ok(!r.ok && r.kind === 'blocked_address', JSON.stringify(r));
    assert.deepEqual(attempts, [], 'the guard refused before the connector was asked');
    await dispatcher.close();
  });

  it('lets allowlisted loopback through (by IP, by name, or with allowPrivate)', async () => {
    for (const opts of [
      { allowPrivate: false, allowlist: ['127.0.0.1'] },
      { allowPrivate: false, allowlist: ['127.0.0.0/8'] },
      { allowPrivate: true, allowlist: [] },
    ]) {
      const fetcher = new Fetcher({ dispatcher: createGuardedDispatcher(opts), perHostDelayMs: 0 });
      const r = await fetcher.fetch(`${base}/ok`);
      assert.ok(r.ok && r.body === 'hello from loopback', JSON.stringify(opts));
    }
    const byName = new Fetcher({ dispatcher: createGuardedDispatcher({ allowPrivate: false, allowlist: ['localhost'] }), perHostDelayMs: 0 });
    const r = await byName.fetch(`http://localhost:${port}/ok`);
    assert.ok(r.ok, JSON.stringify(r));
  });

  it('checks every redirect hop: an allowlisted host cannot redirect to a blocked address', async () => {
    const policy = new AddressPolicy({ allowPrivate: false, allowlist: ['localhost'] });
    const attempts: string[] = [];
    const dispatcher = new Agent({ connect: guardConnector(policy, loopbackOnlyConnector(policy, attempts)) });
    const fetcher = new Fetcher({ dispatcher, maxRetries: 0, perHostDelayMs: 0 });

    const toIp = await fetcher.fetch(`http://localhost:${port}/to-ip`);
    assert.ok(!toIp.ok && toIp.kind === 'blocked_address', JSON.stringify(toIp));
    assert.equal(toIp.url, `${base}/ok`, 'the failure names the refused hop');

    for (const path of ['/to-metadata', '/to-private']) {
      const r = await fetcher.fetch(`http://localhost:${port}${path}`);
      assert.ok(!r.ok && r.kind === 'blocked_address', `${path}: ${JSON.stringify(r)}`);
    }
    assert.deepEqual(attempts, [], 'no connection to 169.254.169.254 or 10.0.0.1 was attempted');
    await dispatcher.close();
  });
});
