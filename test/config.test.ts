import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/config.js';

describe('config', () => {
  it('defaults: data dir "data", database inside it, port 9111, loopback host', () => {
    const c = loadConfig({}, {});
    assert.equal(c.dataDir, 'data');
    assert.equal(c.dbPath, join('data', 'doctor.duckdb'));
    assert.equal(c.port, 9111);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.embeddingProvider, 'auto');
  });

  it('environment overrides defaults, flags override environment', () => {
    const env = { DATA_DIR: '/tmp/dd', DOCTOR_PORT: '9000', DOCTOR_ALLOW_HOSTS: 'a.test, 127.0.0.1', DOCTOR_RESPECT_ROBOTS: 'false' };
    const c = loadConfig({}, env);
    assert.equal(c.dbPath, join('/tmp/dd', 'doctor.duckdb'));
    assert.equal(c.port, 9000);
    assert.deepEqual(c.allowHosts, ['a.test', '127.0.0.1']);
    assert.equal(c.respectRobots, false);
    assert.equal(loadConfig({ port: 1234 }, env).port, 1234);
  });

  it('a bad value fails with a message naming the variable', () => {
    assert.throws(() => loadConfig({}, { DOCTOR_PORT: 'abc' }), (e: Error) => e instanceof ConfigError && /DOCTOR_PORT="abc"/.test(e.message));
    assert.throws(() => loadConfig({}, { DOCTOR_EMBEDDING_PROVIDER: 'cohere' }), /DOCTOR_EMBEDDING_PROVIDER="cohere"/);
    assert.throws(() => loadConfig({ port: 70000 }, {}), /option --port=70000/);
    // one message a user can act on, whatever is wrong with the number
    for (const [value, shown] of [['abc', '"abc"'], ['1.5', '"1.5"'], ['-1', '"-1"'], ['99999', '"99999"']]) {
      assert.throws(() => loadConfig({}, { DOCTOR_PORT: value }), (e: Error) => {
        assert.equal(e.message.split('\n')[1], `  - DOCTOR_PORT=${shown}: must be a whole number from 0 to 65,535`);
        return true;
      });
    }
    assert.throws(() => loadConfig({}, { DOCTOR_CHUNK_SIZE: '500', DOCTOR_CHUNK_OVERLAP: '600' }), /must be smaller/);
    // a secret is not printed (error output ends up in terminals, logs and CI output)
    assert.throws(() => loadConfig({}, { DOCTOR_API_TOKEN: 's3cret' }), (e: Error) => {
      assert.match(e.message, /DOCTOR_API_TOKEN=\(hidden, 6 characters\): .*8/);
      assert.ok(!e.message.includes('s3cret'), e.message);
      return true;
    });
  });

  it('DOCTOR_ALLOW_HOSTS: every entry must be a host name, IP or CIDR network', () => {
    const ok = ['docs.intranet', '*.intranet', 'localhost', '127.0.0.1', '::1', '[::1]', '10.1.0.0/16', 'fd00::/8', 'my_host.lan.', '0.0.0.0/0'];
    assert.deepEqual(loadConfig({}, { DOCTOR_ALLOW_HOSTS: ok.join(',') }).allowHosts, ok);
    for (const bad of ['not a cidr/99', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/abc', 'docs.test/8', 'http://docs.test', 'a..b', '-x.test', '10.0.0.1/8/2', 'host name']) {
      assert.throws(
        () => loadConfig({}, { DOCTOR_ALLOW_HOSTS: `127.0.0.1,${bad}` }),
        (e: Error) => e instanceof ConfigError && e.message.includes('DOCTOR_ALLOW_HOSTS') && e.message.includes(`"${bad}"`),
        bad,
      );
    }
    assert.throws(() => loadConfig({ allowHosts: '10.0.0.0/40' }, {}), /option --allow-hosts=.*prefix length must be a number from 0 to 32/);
  });
});
