/**
 * Scroll answers' points read straight from the protobuf wire format into what the migration stores: the id
 * as REST gives it, the payload as plain JSON values, the vector as a Float32Array over its packed floats.
 * The official client's schema (protobuf-es) builds a message object per point, per payload field and per
 * `Value`, which the migration then converted to JSON values again: 17-23 µs per point of the benchmark's
 * pages (1536-d vectors, a Python-Doctor payload), against 7 µs here, spent mostly on copying the vectors
 * that arrive unaligned for a Float32Array (three in four) and on making the payload's strings. From Qdrant's
 * points.proto and json_with_int.proto, the messages read:
 *   RetrievedPoint { PointId id = 1; map<string, Value> payload = 2; VectorsOutput vectors = 4; ... }
 *   PointId        { oneof { uint64 num = 1; string uuid = 2; } }
 *   Value          { oneof kind { NullValue null_value = 1; double double_value = 2; int64 integer_value = 3;
 *                    string string_value = 4; bool bool_value = 5; Struct struct_value = 6; ListValue list_value = 7; } }
 *   Struct         { map<string, Value> fields = 1; }      ListValue { repeated Value values = 1; }
 * Decoding follows protobuf's rules as protobuf-es applies them: the last of repeated singular fields and of
 * a oneof wins, a map's last entry for a key wins, unknown fields are skipped; test/grpc-wire.test.ts checks
 * the results against the client's own decoding. One difference: invalid UTF-8 in a string (which Qdrant,
 * written in Rust, never sends) becomes U+FFFD, as over REST, where protobuf-es refuses the whole page.
 */
import { endianness } from 'node:os';
import type { PointId } from './points.js';

const LITTLE_ENDIAN = endianness() === 'LE';

/** A point of a scroll page: what the REST source gives for it. */
export interface WirePoint {
  id: PointId;
  payload: Record<string, unknown>;
  vector: Float32Array | undefined;
}

/** One encoded RetrievedPoint (`vectorName`: the named vector to read, else the unnamed one). */
export function decodeRetrievedPoint(bytes: Uint8Array, vectorName: string | undefined): WirePoint {
  const r = new WireReader(bytes);
  let id: PointId = '';
  const payload: Record<string, unknown> = {};
  let vectors: Uint8Array | undefined;
  while (r.pos < r.end) {
    const { no, wire } = r.tag();
    if (wire !== 2) {
      r.skip(wire, r.end);
      continue;
    }
    const end = r.lengthEnd(r.end);
    if (no === 1) id = pointId(r, end);
    else if (no === 2) mapEntry(r, end, payload);
    else if (no === 4) vectors = r.view(end);
    r.pos = end;
  }
  return { id, payload, vector: vectors ? vectorOf(vectors, vectorName) : undefined };
}

/** An encoded PointId (the scroll's next page offset), or undefined for none. */
export function decodePointId(bytes: Uint8Array): PointId | undefined {
  if (!bytes.length) return undefined;
  const r = new WireReader(bytes);
  return pointId(r, r.end);
}

/** The PointId in r up to `end`, as REST would give it: a number where exact, a BigInt above 2^53, or the UUID string. */
function pointId(r: WireReader, end: number): PointId {
  let id: PointId = '';
  while (r.pos < end) {
    const { no, wire } = r.tag();
    if (no === 1 && wire === 0) {
      const n = r.uint64();
      id = typeof n === 'bigint' && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
    } else if (no === 2 && wire === 2) id = r.string(r.lengthEnd(end));
    else r.skip(wire, end);
  }
  return id;
}

/** The map<string, Value> entry (key = 1, value = 2) in r up to `end`, into `into`. */
function mapEntry(r: WireReader, end: number, into: Record<string, unknown>): void {
  let key = '';
  let value: unknown = null;
  while (r.pos < end) {
    const { no, wire } = r.tag();
    if (no === 1 && wire === 2) key = r.string(r.lengthEnd(end));
    else if (no === 2 && wire === 2) {
      const e = r.lengthEnd(end);
      value = jsonValue(r, e);
      r.pos = e;
    } else r.skip(wire, end);
  }
  // an own property even for "__proto__", as JSON.parse makes it over REST
  if (key === '__proto__') Object.defineProperty(into, key, { value, enumerable: true, writable: true, configurable: true });
  else into[key] = value;
}

/** The Value in r up to `end` as a JSON value (integers as numbers, as JSON.parse reads them over REST; no kind: null). */
function jsonValue(r: WireReader, end: number): unknown {
  let out: unknown = null;
  while (r.pos < end) {
    const { no, wire } = r.tag();
    if (no === 1 && wire === 0) {
      r.uint64();
      out = null;
    } else if (no === 2 && wire === 1) out = r.double(end);
    else if (no === 3 && wire === 0) out = r.int64();
    else if (no === 4 && wire === 2) out = r.string(r.lengthEnd(end));
    else if (no === 5 && wire === 0) out = r.uint64() !== 0;
    else if (no === 6 && wire === 2) {
      // Struct { map<string, Value> fields = 1 }
      const e = r.lengthEnd(end);
      const fields: Record<string, unknown> = {};
      while (r.pos < e) {
        const f = r.tag();
        if (f.no === 1 && f.wire === 2) {
          const fe = r.lengthEnd(e);
          mapEntry(r, fe, fields);
          r.pos = fe;
        } else r.skip(f.wire, e);
      }
      out = fields;
    } else if (no === 7 && wire === 2) {
      // ListValue { repeated Value values = 1 }
      const e = r.lengthEnd(end);
      const values: unknown[] = [];
      while (r.pos < e) {
        const f = r.tag();
        if (f.no === 1 && f.wire === 2) {
          const ve = r.lengthEnd(e);
          values.push(jsonValue(r, ve));
          r.pos = ve;
        } else r.skip(f.wire, e);
      }
      out = values;
    } else r.skip(wire, end);
  }
  return out;
}

/** The dense vector in a VectorsOutput: its unnamed vector, or the one named `vectorName`. */
function vectorOf(bytes: Uint8Array, vectorName: string | undefined): Float32Array | undefined {
  const r = new WireReader(bytes);
  while (r.pos < r.end) {
    const { no, wire } = r.tag();
    if (wire !== 2) {
      r.skip(wire, r.end);
      continue;
    }
    const end = r.lengthEnd(r.end);
    if (no === 1) return dense(r.view(end));
    if (no === 2 && vectorName !== undefined) {
      // NamedVectorsOutput: map<string, VectorOutput> vectors = 1 (entries: key = 1, value = 2)
      while (r.pos < end) {
        const e = r.tag();
        if (e.no !== 1 || e.wire !== 2) {
          r.skip(e.wire, end);
          continue;
        }
        const entryEnd = r.lengthEnd(end);
        let key: string | undefined;
        let out: Uint8Array | undefined;
        while (r.pos < entryEnd) {
          const f = r.tag();
          if (f.no === 1 && f.wire === 2) key = r.string(r.lengthEnd(entryEnd));
          else if (f.no === 2 && f.wire === 2) out = r.view(r.lengthEnd(entryEnd));
          else r.skip(f.wire, entryEnd);
        }
        if (key === vectorName) return out ? dense(out) : undefined;
      }
    }
    r.pos = end;
  }
  return undefined;
}

/** VectorOutput: `dense` (101: DenseVector, floats in field 1), else the deprecated `data` (1) when it is dense. */
function dense(bytes: Uint8Array): Float32Array | undefined {
  const r = new WireReader(bytes);
  let legacy: number[] | Float32Array | undefined;
  let sparseOrMulti = false;
  while (r.pos < r.end) {
    const { no, wire } = r.tag();
    if (no === 1 && wire === 5) {
      // an unpacked float
      if (!Array.isArray(legacy)) legacy = [];
      legacy.push(r.float(r.end));
      continue;
    }
    if (wire !== 2) {
      r.skip(wire, r.end);
      continue;
    }
    const value = r.view(r.lengthEnd(r.end));
    if (no === 101) return floatsOf(value);
    if (no === 1) legacy = floatsOf(value);
    else if (no === 2 || no === 3 || no === 102 || no === 103) sparseOrMulti = true;
  }
  if (sparseOrMulti || legacy === undefined || legacy.length === 0) return undefined;
  return legacy instanceof Float32Array ? legacy : Float32Array.from(legacy);
}

/** DenseVector (repeated float data = 1, packed), or a bare packed float run. */
function floatsOf(bytes: Uint8Array): Float32Array {
  // A DenseVector message: its one field is the packed floats.
  const r = new WireReader(bytes);
  const first = bytes.length ? r.tag() : undefined;
  if (first && first.no === 1 && first.wire === 2) {
    const packed = r.view(r.lengthEnd(r.end));
    if (r.pos === r.end) return packedFloats(packed);
  }
  return packedFloats(bytes);
}

function packedFloats(bytes: Uint8Array): Float32Array {
  const n = bytes.length >>> 2;
  // aligned little-endian floats are read in place (the page's decoder copies them once, into its own buffer)
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
  const out = new Float32Array(n);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes.subarray(0, n * 4));
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

const TRUNCATED = 'truncated protobuf message';

/**
 * Just enough of the protobuf wire format to walk fields and read scalars: one reader per message, nested
 * messages read in place between `pos` and their end (no view per field).
 */
class WireReader {
  pos = 0;
  readonly end: number;
  private readonly b: Buffer;
  private dv?: DataView;

  constructor(bytes: Uint8Array) {
    this.b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.end = bytes.byteLength;
  }

  /** A varint below 2^53 as a number; wider ones (up to 64 bits) as a BigInt. */
  uint64(): number | bigint {
    let x = 0;
    let scale = 1;
    const start = this.pos;
    for (let i = 0; i < 7; i++) {
      const c = this.b[this.pos++];
      if (c === undefined) throw new Error(TRUNCATED);
      x += (c & 0x7f) * scale;
      if (c < 0x80) return x;
      scale *= 128;
    }
    // 8 to 10 bytes: exact in a BigInt
    this.pos = start;
    let big = 0n;
    for (let i = 0; ; i++) {
      const c = this.b[this.pos++];
      if (c === undefined || i === 10) throw new Error(c === undefined ? TRUNCATED : 'malformed protobuf varint');
      big |= BigInt(c & 0x7f) << BigInt(7 * i);
      if (c < 0x80) return BigInt.asUintN(64, big);
    }
  }

  /** An int64 as a number (rounded beyond 2^53, as JSON.parse reads such integers). */
  int64(): number {
    const v = this.uint64();
    return typeof v === 'number' ? v : Number(BigInt.asIntN(64, v));
  }

  varint(): number {
    const v = this.uint64();
    return typeof v === 'number' ? v : Number(v);
  }

  tag(): { no: number; wire: number } {
    const t = this.varint();
    return { no: Math.floor(t / 8), wire: t & 7 };
  }

  /** Reads a length prefix: the end of the value that follows, which must lie within `limit`. */
  lengthEnd(limit: number): number {
    const len = this.varint();
    const end = this.pos + len;
    if (end > limit) throw new Error(TRUNCATED);
    return end;
  }

  /** The bytes from here to `end` (a view, not a copy); moves past them. */
  view(end: number): Uint8Array {
    const v = this.b.subarray(this.pos, end);
    this.pos = end;
    return v;
  }

  /** The UTF-8 text from here to `end`; moves past it. */
  string(end: number): string {
    const s = this.b.toString('utf8', this.pos, end);
    this.pos = end;
    return s;
  }

  private dataView(): DataView {
    return (this.dv ??= new DataView(this.b.buffer, this.b.byteOffset, this.b.byteLength));
  }

  float(limit: number): number {
    if (this.pos + 4 > limit) throw new Error(TRUNCATED);
    const v = this.dataView().getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(limit: number): number {
    if (this.pos + 8 > limit) throw new Error(TRUNCATED);
    const v = this.dataView().getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Skips a value of this wire type, which must end within `limit`. */
  skip(wire: number, limit: number): void {
    switch (wire) {
      case 0:
        this.varint();
        break;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.lengthEnd(limit);
        break;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new Error(`unsupported protobuf wire type ${wire}`);
    }
    if (this.pos > limit) throw new Error(TRUNCATED);
  }
}
