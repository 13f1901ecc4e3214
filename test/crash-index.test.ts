import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config/config.js';
import { silentLogger } from '../src/log.js';
import { openStore } from '../src/store/store.js';
import { ExactEngine } from '../src/vector/exact.js';
import type { UsearchEngine } from '../src/vector/usearch.js';
import { topicSpace } from './helpers/vectors.js';
import { tempDir } from './helpers/tmp.js';

const DIM = 256;
const N = 30_000;
const identity = { provider: 'lexical', model: 'lexical-hash-v1', dimension: DIM };

describe('SIGKILL during an index build', () => {
  it('the database opens, the index is rebuilt, and search agrees with the table', async () => {
    const dir = tempDir();
    const path = join(dir, 'doctor.duckdb');
    // Embedding-like vectors; the last 20 (not stored) are queries from the same topics.
    const sample = topicSpace(DIM, { seed: 5 }).sample(N + 20);
    const vectors = sample.slice(0, N);
    let store = await openStore({ path, embedding: identity });
    for (let s = 0; s < N; s += 5000) {
      const part = vectors.slice(s, s + 5000);
      await store.chunks.indexBatch(part, part.map((_, i) => ({ text: `row ${s + i}`, tags: ['t'] })), part.map((_, i) => `r${s + i}`));
    }
    await store.close();

    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--data-dir', dir, 'index', 'rebuild'], {
      env: { ...process.env, DOCTOR_VECTOR_ENGINE: 'usearch', DOCTOR_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    // kill once the build has added some rows but not all
    for (let i = 0; i < 1200 && !/indexing: [1-9]\d*\/30000/.test(stderr); i++) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(child.exitCode, null, `the build was still running when killed (${stderr})`);
    child.kill('SIGKILL');
    await exited;

    const config = loadConfig({ dbPath: path, vectorEngine: 'usearch' }, {});
    store = await openStore({ path, embedding: identity, vector: { ...config, log: silentLogger, options: { allowVssInstall: false } } });
    try {
      assert.equal(await store.chunks.count(), N, 'every row is still in the table');
      const engine = store.chunks.vectorEngine as UsearchEngine;
      await engine.whenReady();
      const st = await engine.status();
      assert.equal(st.indexedRows, N, 'the index holds every row again');
      assert.ok(existsSync(`${path}.usearch`));
      // consistent with the table: stored rows (from the whole range, before and after the kill point) find themselves
      let found = 0;
      for (let i = 0; i < N; i += 600) {
        const [top] = await store.chunks.search(vectors[i]!, 1);
        if (top?.id === `r${i}`) found++;
      }
      assert.ok(found >= 49, `self-retrieval ${found}/50`);
      // and ranks like exact search on fresh queries
      const exact = new ExactEngine(store.db, DIM);
      let agree = 0;
      const queries = sample.slice(N);
      for (const q of queries) {
        const ann = new Set((await store.chunks.search(q, 10)).map((h) => h.id));
        for (const h of await exact.search({ query: q, limit: 10 })) if (ann.has(h.id)) agree++;
      }
      assert.ok(agree / (queries.length * 10) >= 0.95, `recall@10 after the rebuild: ${agree / (queries.length * 10)}`);
    } finally {
      await store.close();
    }
  });
});
