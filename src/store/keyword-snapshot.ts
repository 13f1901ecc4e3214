/**
 * The in-memory keyword index saved to a file beside the database (`<db>.keywords`), so that opening a large
 * database reads typed arrays back instead of rebuilding the postings from `kw_docs` (1M chunks: seconds
 * instead of tens of seconds). Like the usearch file, it is derived: DuckDB stays the source of truth, and
 * keyword-index.ts compares the file's documents with `kw_docs` on open, taking in what changed since the
 * save. A file that is damaged, truncated, from another tokeniser or format is ignored (and replaced at the
 * next save).
 *
 * Layout: 8-byte magic, u32 header length, header JSON (format, tokeniser, counts, array table, CRC-32 of
 * the body), then the body: every array's bytes, 8-byte aligned. Written to a temporary file and renamed.
 */
import { open, rename, rm } from 'node:fs/promises';
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { BasePostings } from './postings.js';
import { InvertedIndex } from './inverted-index.js';

const MAGIC = 'DRKWIDX1';
const FORMAT = 2;

type Typed = Uint8Array<ArrayBuffer> | Uint16Array<ArrayBuffer> | Uint32Array<ArrayBuffer> | Int32Array<ArrayBuffer> | Float32Array<ArrayBuffer> | Float64Array<ArrayBuffer>;
type AnyTyped = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float32Array | Float64Array;
const CTORS = { Uint8Array, Uint16Array, Uint32Array, Int32Array, Float32Array, Float64Array } as const;
type TypeName = keyof typeof CTORS;

interface Header {
  format: number;
  tokenizer: string;
  crc: number;
  arrays: { name: string; type: TypeName; length: number; offset: number }[];
  strings: { offset: number; length: number };
  refAvgdl: number;
  termCount: number;
}

export const snapshotPathOf = (dbPath: string) => `${dbPath}.keywords`;

/**
 * Serialises a compacted index (no tail, no dead documents: call `compact()` first) into one buffer.
 * Synchronous, so the state it captures is consistent.
 */
export function serialise(idx: InvertedIndex, tokenizer: string): Buffer {
  if (idx.tailPostings > 0 || idx.deadDocs > 0) throw new Error('serialise needs a compacted index');
  const n = idx.nDocs;
  const p = idx.pageKeys.length;
  const t = idx.terms.size;
  const table = idx.terms.arrays();
  const b = idx.base;
  const arrays: [string, AnyTyped][] = [
    ['termKeys', table.keys],
    ['termIds', table.ids],
    ['df', idx.df.subarray(0, t)],
    ['offsets', b.offsets],
    ['docs', b.docs],
    ['tfs', b.tfs],
    ['blockOffsets', b.blockOffsets],
    ['blockLast', b.blockLast],
    ['blockMax', b.blockMax],
    ['listMax', b.listMax],
    ['len', idx.len.subarray(0, n)],
    ['page', idx.page.subarray(0, n)],
    ['tagSet', idx.tagSet.subarray(0, n)],
    ['seq', idx.seq.subarray(0, n)],
    ...idx.stopTf.map((s, i): [string, AnyTyped] => [`stop${i}`, s.subarray(0, n)]),
    ['pageLive', idx.pageLive.subarray(0, p)],
    ['pageLen', idx.pageLen.subarray(0, p)],
  ];
  const ids = packStrings(idx.ids.slice(0, n));
  const pageKeys = packStrings(idx.pageKeys);
  const pageIds = packStrings(idx.pageIds);
  arrays.push(['idLengths', ids.lengths], ['pageKeyLengths', pageKeys.lengths], ['pageIdLengths', pageIds.lengths]);
  const strings = Buffer.from(JSON.stringify({ ids: ids.text, pageKeys: pageKeys.text, pageIds: pageIds.text, tagSets: idx.tagSets }));
  const entries: Header['arrays'] = [];
  let at = 0;
  for (const [name, a] of arrays) {
    entries.push({ name, type: a.constructor.name as TypeName, length: a.length, offset: at });
    at += Math.ceil(a.byteLength / 8) * 8;
  }
  const stringsAt = at;
  const body = Buffer.alloc(stringsAt + strings.length);
  arrays.forEach(([, a], i) => body.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), entries[i]!.offset));
  body.set(strings, stringsAt);
  const header: Header = {
    format: FORMAT,
    tokenizer,
    crc: crc32(body),
    arrays: entries,
    strings: { offset: stringsAt, length: strings.length },
    refAvgdl: idx.refAvgdl,
    termCount: t,
  };
  const head = Buffer.from(JSON.stringify(header));
  const pre = Buffer.alloc(16);
  pre.write(MAGIC, 0, 'latin1');
  pre.writeUInt32LE(head.length, 8);
  const pad = (8 - ((16 + head.length) % 8)) % 8;
  return Buffer.concat([pre, head, Buffer.alloc(pad), body]);
}

/** Strings as one text and their lengths in UTF-16 units (0xffffffff: null): slicing back is cheap. */
function packStrings(list: readonly (string | null | undefined)[]): { text: string; lengths: Uint32Array } {
  const lengths = new Uint32Array(list.length);
  list.forEach((v, i) => (lengths[i] = v == null ? 0xffffffff : v.length));
  return { text: list.map((v) => v ?? '').join(''), lengths };
}

function unpackStrings(text: string, lengths: Uint32Array): (string | null)[] {
  const out: (string | null)[] = new Array(lengths.length);
  let at = 0;
  for (let i = 0; i < lengths.length; i++) {
    const n = lengths[i]!;
    if (n === 0xffffffff) out[i] = null;
    else {
      out[i] = text.slice(at, at + n);
      at += n;
    }
  }
  if (at !== text.length) throw new Error('saved keyword index: string table does not add up');
  return out;
}

/**
 * Writes a serialised index next to the database: temporary file, fsync, rename. A write that fails (a full
 * disk) removes the temporary file, which would otherwise keep the space it took.
 */
export async function writeSnapshot(path: string, data: Buffer): Promise<void> {
  const tmp = `${path}.tmp`;
  try {
    const f = await open(tmp, 'w');
    try {
      await f.write(data);
      await f.sync();
    } finally {
      await f.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
}

export async function removeSnapshot(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** Reads a saved index, or explains why it cannot be used. */
export function readSnapshot(path: string, tokenizer: string): { index: InvertedIndex } | { reason: string } {
  if (!existsSync(path)) return { reason: 'no saved index' };
  const fd = openSync(path, 'r');
  let header: Header;
  let body: Uint8Array<ArrayBuffer>;
  try {
    const size = fstatSync(fd).size;
    const pre = Buffer.alloc(16);
    if (size < 16 || readSync(fd, pre, 0, 16, 0) !== 16 || pre.toString('latin1', 0, 8) !== MAGIC) return { reason: 'not a keyword index file' };
    const headLen = pre.readUInt32LE(8);
    if (16 + headLen > size) return { reason: 'truncated' };
    const head = Buffer.alloc(headLen);
    readSync(fd, head, 0, headLen, 16);
    try {
      header = JSON.parse(head.toString('utf8')) as Header;
    } catch {
      return { reason: 'damaged header' };
    }
    if (header.format !== FORMAT) return { reason: `format ${header.format}, expected ${FORMAT}` };
    if (header.tokenizer !== tokenizer) return { reason: 'made with another tokeniser' };
    const bodyAt = 16 + headLen + ((8 - ((16 + headLen) % 8)) % 8);
    if (bodyAt + header.strings.offset + header.strings.length !== size) return { reason: 'truncated' };
    // Read straight into an aligned buffer (typed array views need aligned offsets).
    body = new Uint8Array(size - bodyAt);
    for (let at = 0; at < body.length; ) {
      const n = readSync(fd, body, at, body.length - at, bodyAt + at);
      if (n <= 0) return { reason: 'truncated' };
      at += n;
    }
  } finally {
    closeSync(fd);
  }
  if (crc32(body) !== header.crc) return { reason: 'checksum mismatch' };
  const arrays = new Map<string, Typed>();
  for (const e of header.arrays) {
    const Ctor = CTORS[e.type];
    if (!Ctor) return { reason: `unknown array type ${e.type}` };
    arrays.set(e.name, new Ctor(body.buffer, e.offset, e.length));
  }
  const strings = JSON.parse(Buffer.from(body.buffer, header.strings.offset, header.strings.length).toString('utf8')) as {
    ids: string;
    pageKeys: string;
    pageIds: string;
    tagSets: string[][];
  };
  const get = <T extends Typed>(name: string): T => {
    const a = arrays.get(name);
    if (!a) throw new Error(`saved keyword index: no ${name} array`);
    return a as T;
  };
  const u32 = (name: string) => get<Uint32Array<ArrayBuffer>>(name);
  const base = new BasePostings(u32('offsets'), u32('docs'), get<Uint16Array<ArrayBuffer>>('tfs'), u32('blockOffsets'), u32('blockLast'), get<Float32Array<ArrayBuffer>>('blockMax'), get<Float32Array<ArrayBuffer>>('listMax'));
  const index = InvertedIndex.restore({
    termKeys: get<Int32Array<ArrayBuffer>>('termKeys'),
    termIds: get<Int32Array<ArrayBuffer>>('termIds'),
    termCount: header.termCount,
    df: u32('df'),
    base,
    refAvgdl: header.refAvgdl,
    len: u32('len'),
    page: get<Int32Array<ArrayBuffer>>('page'),
    tagSet: get<Int32Array<ArrayBuffer>>('tagSet'),
    seq: get<Float64Array<ArrayBuffer>>('seq'),
    stopTf: header.arrays.filter((a) => a.name.startsWith('stop')).map((a) => get<Uint8Array<ArrayBuffer>>(a.name)),
    pageLive: u32('pageLive'),
    pageLen: get<Float64Array<ArrayBuffer>>('pageLen'),
    ids: unpackStrings(strings.ids, u32('idLengths')) as string[],
    pageKeys: unpackStrings(strings.pageKeys, u32('pageKeyLengths')) as string[],
    pageIds: unpackStrings(strings.pageIds, u32('pageIdLengths')),
    tagSets: strings.tagSets,
  });
  return { index };
}
