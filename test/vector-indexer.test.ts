import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore, type Store } from '../src/store/store.js';
import { ValidationError } from '../src/store/validation.js';
import { bruteForce, randomVectors } from './helpers/vectors.js';
import { tempDir } from './helpers/tmp.js';

const DIM = 128;
const identity = { provider: 'test', model: 'test-model', dimension: DIM };

describe('VectorIndexer search matches a brute-force cosine ranking', () => {
  let store: Store;
  const N = 3000;
  const vectors = randomVectors(N, DIM, 42);
  const ids = vectors.map((_, i) => `chunk-${i}`);
  const tagsOf = (i: number) => (i % 10 === 0 ? ['rare', 'all'] : i % 2 === 0 ? ['even', 'all'] : ['odd', 'all']);

  before(async () => {
    store = await openStore({ path: ':memory:', embedding: identity });
    const payloads = vectors.map((_, i) => ({ text: `text ${i}`, page_id: `p${i % 100}`, url: `https://x.test/${i}`, domain: 'x.test', tags: tagsOf(i), job_id: 'j1' }));
    const written = await store.chunks.indexBatch(vectors, payloads, ids);
    assert.deepEqual(written, ids);
  });
  after(() => store.close());

  it('returns the same ids in the same order, with score = 1 - cosine distance', async () => {
    const queries = randomVectors(20, DIM, 7);
    for (const q of queries) {
      const got = await store.chunks.search(q, 10);
      const want = bruteForce(vectors, ids, q, 10);
      assert.deepEqual(got.map((r) => r.id), want.map((r) => r.id));
      got.forEach((r, i) => assert.ok(Math.abs(r.score - want[i]!.score) < 1e-4, `score ${r.score} vs ${want[i]!.score}`));
      for (let i = 1; i < got.length; i++) assert.ok(got[i - 1]!.score >= got[i]!.score);
    }
  });

  it('returns payloads with the stored fields', async () => {
    const [top] = await store.chunks.search(vectors[123]!, 1);
    assert.equal(top!.id, 'chunk-123');
    assert.ok(Math.abs(top!.score - 1) < 1e-5);
    assert.deepEqual(
      { text: top!.payload.text, page_id: top!.payload.page_id, url: top!.payload.url, domain: top!.payload.domain, tags: top!.payload.tags, job_id: top!.payload.job_id },
      { text: 'text 123', page_id: 'p23', url: 'https://x.test/123', domain: 'x.test', tags: ['odd', 'all'], job_id: 'j1' },
    );
  });

  it('tag filter keeps only matching rows and still fills the limit', async () => {
    const q = randomVectors(1, DIM, 99)[0]!;
    const got = await store.chunks.search(q, 50, { tags: ['rare'] });
    assert.equal(got.length, 50);
    assert.ok(got.every((r) => r.payload.tags.includes('rare')));
    const rareIdx = vectors.map((_, i) => i).filter((i) => i % 10 === 0);
    const want = bruteForce(rareIdx.map((i) => vectors[i]!), rareIdx.map((i) => ids[i]!), q, 50);
    assert.deepEqual(got.map((r) => r.id), want.map((r) => r.id));
  });

  it('accepts the Qdrant-style filter and matches any of several tags', async () => {
    const q = randomVectors(1, DIM, 5)[0]!;
    const a = await store.chunks.search(q, 20, { must: [{ key: 'tags', match: { any: ['rare', 'odd'] } }] });
    const b = await store.chunks.search(q, 20, { tags: ['rare', 'odd'] });
    assert.deepEqual(a.map((r) => r.id), b.map((r) => r.id));
    assert.ok(a.every((r) => r.payload.tags.includes('rare') || r.payload.tags.includes('odd')));
    assert.ok(a.some((r) => r.payload.tags.includes('rare')));
  });

  it('a filter matching nothing returns no rows; tags with quotes and wildcards are plain values', async () => {
    const q = randomVectors(1, DIM, 5)[0]!;
    assert.deepEqual(await store.chunks.search(q, 5, { tags: ["o'dd%_"] }), []);
    assert.deepEqual(await store.chunks.search(q, 5, { tags: ['%'] }), []);
  });
});

describe('VectorIndexer validation', () => {
  let store: Store;
  before(async () => {
    store = await openStore({ path: ':memory:', embedding: identity });
    await store.chunks.indexBatch(randomVectors(5, DIM, 1), Array.from({ length: 5 }, (_, i) => ({ text: `t${i}` })));
  });
  after(() => store.close());

  const good = () => randomVectors(1, DIM, 3)[0]!;
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    ['empty vector', () => store.chunks.indexVector([], { text: 'x' }), /empty/],
    ['wrong dimension', () => store.chunks.indexVector(new Float32Array(DIM + 1).fill(0.1), { text: 'x' }), /129 dimensions.*128/],
    ['NaN', () => store.chunks.indexVector(Object.assign(good(), { 3: NaN }), { text: 'x' }), /non-finite.*position 3/],
    ['Infinity', () => store.chunks.indexVector([...good()].map((x, i) => (i === 0 ? Infinity : x)), { text: 'x' }), /non-finite/],
    ['all zeros', () => store.chunks.indexVector(new Float32Array(DIM), { text: 'x' }), /all zeros/],
    ['vectors/payloads lengths', () => store.chunks.indexBatch([good(), good()], [{ text: 'a' }]), /mismatched lengths: 2 vectors, 1 payloads/],
    ['ids length', () => store.chunks.indexBatch([good()], [{ text: 'a' }], ['a', 'b']), /mismatched lengths.*2 ids/],
    ['duplicate id in batch', () => store.chunks.indexBatch([good(), good()], [{ text: 'a' }, { text: 'b' }], ['same', 'same']), /appears twice/],
    ['limit 0', () => store.chunks.search(good(), 0), /limit must be an integer from 1/],
    ['limit too large', () => store.chunks.search(good(), 100_000), /limit must be an integer from 1/],
    ['limit not integer', () => store.chunks.search(good(), 2.5), /limit must be an integer/],
    ['query wrong dimension', () => store.chunks.search([1, 2, 3], 5), /query vector has 3 dimensions/],
    ['query empty', () => store.chunks.search([], 5), /query vector is empty/],
    ['unknown filter key', () => store.chunks.search(good(), 5, { must: [{ key: 'url', match: { any: ['x'] } }] }), /only "tags"/],
  ];
  for (const [name, fn, re] of cases) {
    it(`refuses ${name} with a clear message`, async () => {
      await assert.rejects(fn, (e: Error) => e instanceof ValidationError && re.test(e.message));
    });
  }

  it('a batch with one bad vector writes nothing', async () => {
    const before = await store.chunks.count();
    const vs = randomVectors(100, DIM, 11);
    vs[57] = new Float32Array(DIM).fill(NaN);
    await assert.rejects(store.chunks.indexBatch(vs, vs.map((_, i) => ({ text: `b${i}` }))), /vector #57/);
    assert.equal(await store.chunks.count(), before);
  });

  it('a batch colliding with a stored id writes nothing; replace overwrites it', async () => {
    const [id] = await store.chunks.indexBatch([good()], [{ text: 'first' }], ['fixed-id']);
    const before = await store.chunks.count();
    await assert.rejects(store.chunks.indexBatch([good(), good()], [{ text: 'new' }, { text: 'dup' }], ['new-id', id!]), /already exists/);
    assert.equal(await store.chunks.count(), before);
    await store.chunks.indexBatch([good(), good()], [{ text: 'new' }, { text: 'second' }], ['new-id', id!], { replace: true });
    assert.equal(await store.chunks.count(), before + 1);
    const payloads = await store.chunks.payloads([id!]);
    assert.equal(payloads.get(id!)!.text, 'second');
  });

  it('indexVector without id returns a UUID', async () => {
    const id = await store.chunks.indexVector(good(), { text: 'u' });
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});

describe('VectorIndexer on disk, 1536 dimensions', () => {
  it('data survives closing and reopening the file', async () => {
    const path = join(tempDir(), 'doctor.duckdb');
    const id1536 = { provider: 'openai', model: 'text-embedding-3-small', dimension: 1536 };
    const vs = randomVectors(500, 1536, 3);
    let store = await openStore({ path, embedding: id1536 });
    const ids = await store.chunks.indexBatch(vs, vs.map((_, i) => ({ text: `chunk ${i}`, tags: ['a'] })));
    await store.close();
    store = await openStore({ path, embedding: id1536 });
    assert.equal(await store.chunks.count(), 500);
    const [top] = await store.chunks.search(vs[250]!, 1, { tags: ['a'] });
    assert.equal(top!.id, ids[250]);
    assert.equal(top!.payload.text, 'chunk 250');
    await store.close();
  });
});
