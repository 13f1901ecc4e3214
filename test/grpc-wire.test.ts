/**
 * Scroll pages over gRPC are decoded straight from the wire (src/migrate/grpc-wire.ts) instead of through the
 * official client's schema. Each case here is encoded with the client's own schema (protobuf-es), and the
 * result must equal what the client's decoding gives after the conversion `retrieve` uses (toRawPoint).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { RetrievedPointSchema, type Value } from '@qdrant/js-client-grpc';
import { decodePointId, decodeRetrievedPoint } from '../src/migrate/grpc-wire.js';
import { toRawPoint } from '../src/migrate/grpc-source.js';

const v = (kind: Value['kind']): Value => ({ kind }) as Value;
const int = (n: bigint) => v({ case: 'integerValue', value: n });
const str = (s: string) => v({ case: 'stringValue', value: s });
const dense = (data: number[]) => ({ vector: { case: 'dense' as const, value: { data } } });

function encode(point: Record<string, unknown>): Uint8Array {
  return toBinary(RetrievedPointSchema, create(RetrievedPointSchema, point as never));
}

/** Both decodings of `bytes`, vectors as plain arrays. */
function both(bytes: Uint8Array, vectorName?: string) {
  const mine = decodeRetrievedPoint(bytes, vectorName);
  const client = toRawPoint(fromBinary(RetrievedPointSchema, bytes), vectorName);
  const plain = (p: { id: unknown; payload: Record<string, unknown>; vector: unknown }) => ({ ...p, vector: p.vector ? Array.from(p.vector as ArrayLike<number>) : undefined });
  return { mine: plain(mine), client: plain({ ...client, payload: client.payload ?? {} }) };
}

const payload = {
  text: str('chunk 7 — ünïcödé 文档 🚀'),
  empty: str(''),
  '': str('empty key'),
  negative: int(-7n),
  big: int(2n ** 60n + 1n),
  min: int(-(2n ** 63n)),
  small: int(0n),
  double: v({ case: 'doubleValue', value: 0.1 }),
  nan: v({ case: 'doubleValue', value: Number.NaN }),
  yes: v({ case: 'boolValue', value: true }),
  no: v({ case: 'boolValue', value: false }),
  nothing: v({ case: 'nullValue', value: 0 }),
  unset: v({ case: undefined }),
  tags: v({ case: 'listValue', value: { values: [str('py'), int(3n), v({ case: 'listValue', value: { values: [] } as never })] } as never }),
  nested: v({ case: 'structValue', value: { fields: { a: int(1n), b: v({ case: 'structValue', value: { fields: {} } as never }), c: v({ case: 'listValue', value: { values: [v({ case: 'structValue', value: { fields: { d: str('deep') } } as never })] } as never }) } } as never }),
};

describe('gRPC scroll points read from the wire', () => {
  const cases: [string, Record<string, unknown>, string?][] = [
    ['an integer id, every kind of payload value, a dense vector', { id: { pointIdOptions: { case: 'num', value: 42n } }, payload, vectors: { vectorsOptions: { case: 'vector', value: dense([0.5, -1.25, 3.0e-8]) } } }],
    ['a UUID id', { id: { pointIdOptions: { case: 'uuid', value: '00000000-0000-4000-8000-000000000007' } }, payload: { text: str('x') }, vectors: { vectorsOptions: { case: 'vector', value: dense([1]) } } }],
    ['an id needing 8 varint bytes but below 2^53', { id: { pointIdOptions: { case: 'num', value: 2n ** 50n + 3n } } }],
    ['an id above 2^53 (a BigInt, exact)', { id: { pointIdOptions: { case: 'num', value: 2n ** 64n - 1n } } }],
    ['no id, no payload, no vector', {}],
    ['the deprecated `data` field', { id: { pointIdOptions: { case: 'num', value: 1n } }, vectors: { vectorsOptions: { case: 'vector', value: { data: [1, 2, 3] } } } }],
    ['a named vector', { id: { pointIdOptions: { case: 'num', value: 2n } }, vectors: { vectorsOptions: { case: 'vectors', value: { vectors: { text: dense([4, 5]), image: dense([6, 7]) } } } } }, 'image'],
    ['a named vector that is missing', { id: { pointIdOptions: { case: 'num', value: 2n } }, vectors: { vectorsOptions: { case: 'vectors', value: { vectors: { text: dense([4, 5]) } } } } }, 'image'],
    ['a sparse vector (not migrated)', { id: { pointIdOptions: { case: 'num', value: 3n } }, vectors: { vectorsOptions: { case: 'vector', value: { vector: { case: 'sparse', value: { values: [1], indices: [4] } } } } } }],
  ];
  for (const [name, point, vectorName] of cases) {
    it(name, () => {
      const { mine, client } = both(encode(point), vectorName);
      assert.deepEqual(mine, client);
    });
  }

  it('repeated fields merge as protobuf says: the last id wins, map entries accumulate, the last entry for a key wins', () => {
    const first = encode({ id: { pointIdOptions: { case: 'num', value: 1n } }, payload: { a: int(1n), b: str('kept') } });
    const second = encode({ id: { pointIdOptions: { case: 'uuid', value: 'u-2' } }, payload: { a: int(2n) } });
    const { mine, client } = both(Buffer.concat([first, second]));
    assert.deepEqual(mine, client);
    assert.deepEqual(mine, { id: 'u-2', payload: { a: 2, b: 'kept' }, vector: undefined });
  });

  it('invalid UTF-8 reads as U+FFFD, as over REST (the client refuses the whole page)', () => {
    const bytes = Buffer.from(encode({ payload: { text: str('abc') } }));
    bytes[bytes.indexOf('abc') + 1] = 0xff;
    assert.throws(() => fromBinary(RetrievedPointSchema, bytes), /not valid for encoding utf-8/);
    assert.equal(decodeRetrievedPoint(bytes, undefined).payload.text, 'a\ufffdc');
  });

  it('a "__proto__" payload key stays a field (as JSON.parse keeps it over REST)', () => {
    const bytes = encode({ payload: { ['__proto__']: str('not a prototype'), text: str('t') } });
    assert.ok(Buffer.from(bytes).includes('__proto__'), 'the key is on the wire');
    const mine = decodeRetrievedPoint(bytes, undefined);
    assert.deepEqual(Object.keys(mine.payload), ['__proto__', 'text']);
    assert.equal(Object.getOwnPropertyDescriptor(mine.payload, '__proto__')?.value, 'not a prototype');
    assert.equal(Object.getPrototypeOf(mine.payload), Object.prototype);
  });

  it('truncated messages are refused', () => {
    const bytes = encode({ id: { pointIdOptions: { case: 'num', value: 1n } }, payload });
    assert.throws(() => decodeRetrievedPoint(bytes.subarray(0, bytes.length - 3), undefined), /truncated protobuf message/);
  });

  it('page offsets', () => {
    const id = (value: Record<string, unknown>) => toBinary(RetrievedPointSchema, create(RetrievedPointSchema, { id: value } as never)).subarray(2);
    assert.equal(decodePointId(id({ pointIdOptions: { case: 'num', value: 7n } })), 7);
    assert.equal(decodePointId(id({ pointIdOptions: { case: 'num', value: 2n ** 63n } })), 2n ** 63n);
    assert.equal(decodePointId(id({ pointIdOptions: { case: 'uuid', value: 'abc' } })), 'abc');
    assert.equal(decodePointId(new Uint8Array(0)), undefined);
  });
});
