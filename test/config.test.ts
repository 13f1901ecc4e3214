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
    assert.throws(() => loadConfig({}, { DOCTOR_CHUNK_SIZE: '500', DOCTOR_CHUNK_OVERLAP: '600' }), /must be smaller/);
  });
});
