/**
 * The gRPC scroll call with vectors read straight from the wire. The official client decodes every float of
 * a page into a JS number array (protobuf-es): measured as slow as JSON.parse of the REST answer, ~4x
 * slower than reading REST bytes directly (bench/results/migrate-qdrant.md), which would make gRPC the
 * slower path. So scroll goes through the same connect-node gRPC transport the client uses, with the
 * client's own `qdrant.ScrollPoints` request message, but its answer is declared with the points as raw
 * bytes (`repeated bytes result = 2`: the same wire format as `repeated RetrievedPoint`). Each point's id and
 * payload are then decoded with the client's schema (protobuf-es), and its packed floats are copied into
 * a Float32Array in one step. Everything else (collection info, count, retrieve) uses the client as it is.
 */
import { endianness } from 'node:os';
import { create, createFileRegistry, fromBinary, type DescService } from '@bufbuild/protobuf';
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { createClient, type Interceptor } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { PointIdSchema, RetrievedPointSchema, file_points, type PointId as GrpcPointId, type RetrievedPoint } from '@qdrant/js-client-grpc';

/** `qdrant.Points/Scroll`, answering `ScrollResponseRaw` (points left encoded). */
function scrollService(): DescService {
  const { BYTES, DOUBLE } = FieldDescriptorProto_Type;
  const { OPTIONAL, REPEATED } = FieldDescriptorProto_Label;
  const file = create(FileDescriptorProtoSchema, {
    name: 'doctor/points_scroll_raw.proto',
    package: 'qdrant',
    dependency: ['points.proto'],
    syntax: 'proto3',
    messageType: [
      {
        name: 'ScrollResponseRaw',
        field: [
          { name: 'next_page_offset', jsonName: 'nextPageOffset', number: 1, label: OPTIONAL, type: BYTES },
          { name: 'result', jsonName: 'result', number: 2, label: REPEATED, type: BYTES },
          { name: 'time', jsonName: 'time', number: 3, label: OPTIONAL, type: DOUBLE },
        ],
      },
    ],
    service: [{ name: 'Points', method: [{ name: 'Scroll', inputType: '.qdrant.ScrollPoints', outputType: '.qdrant.ScrollResponseRaw' }] }],
  });
  const registry = createFileRegistry(file, (name) => (name === 'points.proto' ? file_points : undefined));
  return registry.getService('qdrant.Points')!;
}

export interface RawScrollAnswer {
  nextPageOffset: Uint8Array;
  result: Uint8Array[];
}

/** A client for the raw scroll call, over its own connect-node gRPC transport (as the official client's). */
export function createRawScroll(url: string, apiKey: string | undefined, timeoutMs: number): (req: Record<string, unknown>) => Promise<RawScrollAnswer> {
  const interceptors: Interceptor[] = [];
  if (apiKey !== undefined) {
    interceptors.push((next) => (req) => {
      req.header.set('api-key', apiKey);
      return next(req);
    });
  }
  // No compression (connect-node would otherwise accept gzip and brotli, and Qdrant sends gzip when asked): float
  // vectors barely compress, and compressing 1.6 MB per page costs CPU on both ends.
  const transport = createGrpcTransport({ baseUrl: url, interceptors, defaultTimeoutMs: timeoutMs, acceptCompression: [], sendCompression: undefined });
  const client = createClient(scrollService(), transport) as unknown as { scroll(req: Record<string, unknown>): Promise<RawScrollAnswer> };
  return (req) => client.scroll(req);
}

export function decodePointId(bytes: Uint8Array): GrpcPointId | undefined {
  return bytes.length ? fromBinary(PointIdSchema, bytes) : undefined;
}

const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * Where a dense vector of `n` floats is copied to (a row of the page's one Float32Array), or undefined for a
 * new array of its own (a vector of another length, reported by the page's checks).
 */
export type VectorTarget = (n: number) => Float32Array | undefined;

/**
 * One encoded RetrievedPoint: id and payload decoded by the client's schema, the vector read here (into
 * `into`'s array when given, else in place where aligned, else into a new array).
 */
export function decodeRetrievedPoint(bytes: Uint8Array, vectorName: string | undefined, into?: VectorTarget): { point: RetrievedPoint; vector: Float32Array | undefined } {
  const r = new WireReader(bytes);
  let vectors: Uint8Array | undefined;
  const rest: Uint8Array[] = [];
  let restStart = 0;
  while (r.pos < bytes.length) {
    const fieldStart = r.pos;
    const { no, wire } = r.tag();
    const value = r.skip(wire);
    if (no === 4 && wire === 2) {
      if (fieldStart > restStart) rest.push(bytes.subarray(restStart, fieldStart));
      restStart = r.pos;
      vectors = value;
    }
  }
  if (restStart < bytes.length) rest.push(bytes.subarray(restStart));
  const meta = rest.length === 1 ? rest[0]! : Buffer.concat(rest);
  return { point: fromBinary(RetrievedPointSchema, meta), vector: vectors ? vectorOf(vectors, vectorName, into) : undefined };
}

/** The dense vector in a VectorsOutput: its unnamed vector, or the one named `vectorName`. */
function vectorOf(bytes: Uint8Array, vectorName: string | undefined, into: VectorTarget | undefined): Float32Array | undefined {
  const r = new WireReader(bytes);
  while (r.pos < bytes.length) {
    const { no, wire } = r.tag();
    const value = r.skip(wire);
    if (wire !== 2) continue;
    if (no === 1) return dense(value, into);
    if (no === 2 && vectorName !== undefined) {
      // NamedVectorsOutput: map<string, VectorOutput> vectors = 1 (entries: key = 1, value = 2)
      const m = new WireReader(value);
      while (m.pos < value.length) {
        const e = m.tag();
        const entry = m.skip(e.wire);
        if (e.no !== 1 || e.wire !== 2) continue;
        const er = new WireReader(entry);
        let key: string | undefined;
        let out: Uint8Array | undefined;
        while (er.pos < entry.length) {
          const f = er.tag();
          const v = er.skip(f.wire);
          if (f.no === 1) key = Buffer.from(v).toString('utf8');
          else if (f.no === 2) out = v;
        }
        if (key === vectorName) return out ? dense(out, into) : undefined;
      }
    }
  }
  return undefined;
}

/** VectorOutput: `dense` (101: DenseVector, floats in field 1), else the deprecated `data` (1) when it is dense. */
function dense(bytes: Uint8Array, into: VectorTarget | undefined): Float32Array | undefined {
  const r = new WireReader(bytes);
  let legacy: number[] | Float32Array | undefined;
  let sparseOrMulti = false;
  while (r.pos < bytes.length) {
    const { no, wire } = r.tag();
    if (no === 1 && wire === 5) {
      // an unpacked float
      if (!Array.isArray(legacy)) legacy = [];
      legacy.push(r.float());
      continue;
    }
    const value = r.skip(wire);
    if (no === 101 && wire === 2) return floatsOf(value, into);
    if (no === 1 && wire === 2) legacy = floatsOf(value, into);
    else if (no === 2 || no === 3 || no === 102 || no === 103) sparseOrMulti = true;
  }
  if (sparseOrMulti || legacy === undefined || legacy.length === 0) return undefined;
  return legacy instanceof Float32Array ? legacy : Float32Array.from(legacy);
}

/** DenseVector (repeated float data = 1, packed), or a bare packed float run. */
function floatsOf(bytes: Uint8Array, into: VectorTarget | undefined): Float32Array {
  // A DenseVector message: its one field is the packed floats.
  const r = new WireReader(bytes);
  const first = bytes.length ? r.tag() : undefined;
  if (first && first.no === 1 && first.wire === 2) {
    const packed = r.skip(2);
    if (r.pos === bytes.length) return packedFloats(packed, into);
  }
  return packedFloats(bytes, into);
}

function packedFloats(bytes: Uint8Array, into: VectorTarget | undefined): Float32Array {
  const n = bytes.length >>> 2;
  const target = into?.(n);
  // without a target, aligned little-endian floats are read in place (the page's decoder copies them once, into its own buffer)
  if (!target && LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
  const out = target ?? new Float32Array(n);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer, out.byteOffset, n * 4).set(bytes.subarray(0, n * 4));
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

/** Just enough of the protobuf wire format to walk fields. */
class WireReader {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}

  varint(): number {
    let x = 0;
    let shift = 1;
    for (;;) {
      const c = this.b[this.pos++];
      if (c === undefined) throw new Error('truncated protobuf message');
      x += (c & 0x7f) * shift;
      if (c < 0x80) return x;
      shift *= 128;
    }
  }

  tag(): { no: number; wire: number } {
    const t = this.varint();
    return { no: Math.floor(t / 8), wire: t & 7 };
  }

  float(): number {
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  /** Skips a value of this wire type; returns its bytes (the payload, for length-delimited values). */
  skip(wire: number): Uint8Array {
    const start = this.pos;
    switch (wire) {
      case 0:
        this.varint();
        break;
      case 1:
        this.pos += 8;
        break;
      case 2: {
        const len = this.varint();
        const from = this.pos;
        this.pos += len;
        if (this.pos > this.b.length) throw new Error('truncated protobuf message');
        return this.b.subarray(from, this.pos);
      }
      case 5:
        this.pos += 4;
        break;
      default:
        throw new Error(`unsupported protobuf wire type ${wire}`);
    }
    return this.b.subarray(start, this.pos);
  }
}
