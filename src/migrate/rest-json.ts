/**
 * Reads Qdrant's REST answers with points (scroll, retrieve) straight from the response bytes. A scroll page
 * of 256 x 1536-d points is ~4.5 MB of JSON, almost all of it vector components; decoding it to a string and
 * JSON.parse-ing it cost ~30 ms per page in profiles (most of the migration's CPU). Here each component is
 * parsed from its ASCII digits into a Float32Array (the value is the same as JSON.parse + Math.fround: see
 * `number`), and only ids and payloads go through JSON.parse. Integer ids above 2^53 come back exactly, as
 * BigInts. Anything unexpected (a null in a vector, another layout) falls back to JSON.parse of the whole
 * answer, so odd input is read exactly as before, only slower.
 */
import type { PointId } from './points.js';
import type { RawPage, RawPoint } from './source.js';

class Unexpected extends Error {}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
const decoder = new TextDecoder();

/**
 * Points of a scroll answer (`{"result":{"points":[..],"next_page_offset":..}}`). With the page size
 * `limit`, the vectors of a full-sized page are views, in point order, on one Float32Array of
 * limit x dimension floats (decodePage then keeps it as the page's packed vectors instead of copying them).
 */
export function parseScrollAnswer(buf: Uint8Array, vectorName: string | undefined, dimension = 0, limit = 0): RawPage {
  try {
    return new Reader(buf, vectorName, dimension, limit).scroll();
  } catch (e) {
    if (!(e instanceof Unexpected)) throw e;
    const r = JSON.parse(decoder.decode(buf)) as { result?: { points?: unknown; next_page_offset?: PointId | null } | null } | null;
    const points = r?.result?.points;
    if (!Array.isArray(points)) throw new SyntaxError(`the scroll answer has no "result.points" array`);
    return { points: points.map((p) => restPoint(p as RestPoint, vectorName)), next: r!.result!.next_page_offset ?? null };
  }
}

/** Points of a retrieve answer (`{"result":[..]}`). */
export function parseRetrieveAnswer(buf: Uint8Array, vectorName: string | undefined, dimension = 0): RawPoint[] {
  try {
    return new Reader(buf, vectorName, dimension).retrieve();
  } catch (e) {
    if (!(e instanceof Unexpected)) throw e;
    const result = (JSON.parse(decoder.decode(buf)) as { result?: unknown } | null)?.result;
    if (!Array.isArray(result)) throw new SyntaxError(`the retrieve answer has no "result" array`);
    return result.map((p) => restPoint(p as RestPoint, vectorName));
  }
}

interface RestPoint {
  id: PointId;
  vector?: number[] | Record<string, number[]> | null;
  payload?: Record<string, unknown> | null;
}

function restPoint(p: RestPoint, vectorName: string | undefined): RawPoint {
  if (!p || typeof p !== 'object') return { id: JSON.stringify(p) ?? String(p), vector: undefined, payload: null };
  const v = p.vector;
  const vector = Array.isArray(v) ? v : v && vectorName ? v[vectorName] : undefined;
  return { id: p.id, vector, payload: p.payload ?? null };
}

const QUOTE = 34;
const COMMA = 44;
const COLON = 58;
const LBRACKET = 91;
const RBRACKET = 93;
const LBRACE = 123;
const RBRACE = 125;

class Reader {
  private i = 0;
  /** Where the next vectors go (see parseScrollAnswer), and how many of its rows are used. */
  private slab: Float32Array | undefined;
  private slabRows = 0;
  constructor(
    private readonly b: Uint8Array,
    private readonly vectorName: string | undefined,
    private readonly dimension: number,
    private readonly slabCapacity = 0,
  ) {}

  scroll(): RawPage {
    let page: RawPage | undefined;
    this.object((key) => {
      if (key !== 'result') return false;
      const out: RawPage = { points: [], next: null };
      this.object((k) => {
        if (k === 'points') out.points = this.points();
        else if (k === 'next_page_offset') out.next = this.id(true);
        else return false;
        return true;
      });
      page = out;
      return true;
    });
    if (!page) throw new Unexpected();
    return page;
  }

  retrieve(): RawPoint[] {
    let points: RawPoint[] | undefined;
    this.object((key) => {
      if (key !== 'result') return false;
      points = this.points();
      return true;
    });
    if (!points) throw new Unexpected();
    return points;
  }

  private points(): RawPoint[] {
    const out: RawPoint[] = [];
    this.expect(LBRACKET);
    if (this.peek() === RBRACKET) {
      this.i++;
      return out;
    }
    for (;;) {
      const p: RawPoint = { id: '', vector: undefined, payload: null };
      this.object((k) => {
        if (k === 'id') p.id = this.id(false) ?? '';
        else if (k === 'payload') p.payload = this.json() as Record<string, unknown> | null;
        else if (k === 'vector') p.vector = this.vectorValue();
        else return false;
        return true;
      });
      out.push(p);
      if (this.sep(RBRACKET)) return out;
    }
  }

  /** A point's `vector`: one array, or an object of named arrays (only `vectorName`'s is read), or null. */
  private vectorValue(): Float32Array | undefined {
    const c = this.peek();
    if (c === LBRACKET) return this.floats();
    if (c !== LBRACE) {
      this.json();
      return undefined;
    }
    let v: Float32Array | undefined;
    this.object((name) => {
      if (name !== this.vectorName) return false;
      v = this.floats();
      return true;
    });
    return v;
  }

  /**
   * An array of numbers, into a Float32Array sized for the expected dimension (grown if longer): the next
   * row of the page's slab while there is one, else its own.
   */
  private floats(): Float32Array {
    this.expect(LBRACKET);
    const dim = this.dimension;
    if (dim > 0 && this.slabCapacity > 0 && this.slabRows < this.slabCapacity) {
      this.slab ??= new Float32Array(this.slabCapacity * dim);
      const row = this.slab.subarray(this.slabRows * dim, (this.slabRows + 1) * dim);
      const v = this.floatsInto(row);
      if (v.buffer === this.slab.buffer) this.slabRows++;
      return v;
    }
    return this.floatsInto(new Float32Array(dim));
  }

  /** The numbers up to `]` into `out`; a longer array continues in a new, larger copy. */
  private floatsInto(out: Float32Array): Float32Array {
    if (this.peek() === RBRACKET) {
      this.i++;
      return out.subarray(0, 0);
    }
    for (let n = 0; ; n++) {
      if (n === out.length) {
        const grown = new Float32Array(Math.max(16, out.length * 2));
        grown.set(out);
        out = grown;
      }
      out[n] = this.number();
      if (this.sep(RBRACKET)) return n + 1 === out.length ? out : out.subarray(0, n + 1);
    }
  }

  /**
   * A JSON number from its digits. With at most 15 significant digits (Qdrant prints at most 9 for an f32)
   * and a decimal exponent within +-22, digits / 10^k (or digits * 10^k) is one correctly rounded IEEE
   * operation on exact operands, which is exactly the double JSON.parse returns; others go through Number().
   */
  private number(): number {
    const b = this.b;
    const start = this.skipWs();
    let i = start;
    let neg = false;
    if (b[i] === 45) {
      neg = true;
      i++;
    }
    let mant = 0;
    let digits = 0;
    let scale = 0;
    let c = b[i]!;
    if (c < 48 || c > 57) throw new Unexpected();
    while (c >= 48 && c <= 57) {
      if (digits > 0 || c !== 48) digits++;
      mant = mant * 10 + (c - 48);
      c = b[++i]!;
    }
    if (c === 46) {
      c = b[++i]!;
      while (c >= 48 && c <= 57) {
        if (digits > 0 || c !== 48) digits++;
        mant = mant * 10 + (c - 48);
        scale--;
        c = b[++i]!;
      }
    }
    if (c === 101 || c === 69) {
      c = b[++i]!;
      let eneg = false;
      if (c === 45 || c === 43) {
        eneg = c === 45;
        c = b[++i]!;
      }
      let e = 0;
      while (c >= 48 && c <= 57) {
        e = e * 10 + (c - 48);
        c = b[++i]!;
      }
      scale += eneg ? -e : e;
    }
    this.i = i;
    let v: number;
    if (digits <= 15 && scale >= -22 && scale <= 22) v = scale < 0 ? mant / POW10[-scale]! : mant * POW10[scale]!;
    else v = Number(decoder.decode(b.subarray(start, i)));
    return neg ? -v : v;
  }

  /** An id (number or string) or null; integers above 2^53 as exact BigInts. */
  private id(nullable: boolean): PointId | null {
    const start = this.skipWs();
    const c = this.b[start];
    if (c === QUOTE) return this.json() as string;
    const v = this.json();
    if (v === null && nullable) return null;
    if (typeof v !== 'number') throw new Unexpected();
    if (!Number.isSafeInteger(v) && Number.isInteger(v)) return BigInt(decoder.decode(this.b.subarray(start, this.i)).trim());
    return v;
  }

  /** Any JSON value, through JSON.parse of its bytes. */
  private json(): unknown {
    const start = this.skipWs();
    this.skipValue();
    return JSON.parse(decoder.decode(this.b.subarray(start, this.i)));
  }

  /** Reads an object, calling `onKey` for each key; it reads the value and returns true, or false to skip it. */
  private object(onKey: (key: string) => boolean): void {
    this.expect(LBRACE);
    if (this.peek() === RBRACE) {
      this.i++;
      return;
    }
    for (;;) {
      const key = this.key();
      this.expect(COLON);
      if (!onKey(key)) this.skipValue();
      if (this.sep(RBRACE)) return;
    }
  }

  private key(): string {
    const start = this.skipWs();
    if (this.b[start] !== QUOTE) throw new Unexpected();
    this.skipString();
    return JSON.parse(decoder.decode(this.b.subarray(start, this.i))) as string;
  }

  /** After a value: true at the closing `close`, false after a comma. */
  private sep(close: number): boolean {
    const c = this.b[this.skipWs()];
    this.i++;
    if (c === close) return true;
    if (c === COMMA) return false;
    throw new Unexpected();
  }

  private expect(c: number): void {
    if (this.b[this.skipWs()] !== c) throw new Unexpected();
    this.i++;
  }

  private peek(): number | undefined {
    return this.b[this.skipWs()];
  }

  private skipWs(): number {
    const b = this.b;
    let i = this.i;
    for (let c = b[i]; c === 32 || c === 10 || c === 13 || c === 9; c = b[++i]);
    this.i = i;
    return i;
  }

  private skipString(): void {
    const b = this.b;
    let i = this.i + 1;
    for (;;) {
      const c = b[i];
      if (c === undefined) throw new Unexpected();
      if (c === 92) i += 2;
      else if (c === QUOTE) break;
      else i++;
    }
    this.i = i + 1;
  }

  private skipValue(): void {
    const b = this.b;
    const c = b[this.skipWs()];
    if (c === QUOTE) return this.skipString();
    if (c === LBRACE || c === LBRACKET) {
      let depth = 0;
      let i = this.i;
      for (;;) {
        const x = b[i];
        if (x === undefined) throw new Unexpected();
        if (x === QUOTE) {
          this.i = i;
          this.skipString();
          i = this.i;
          continue;
        }
        if (x === LBRACE || x === LBRACKET) depth++;
        else if (x === RBRACE || x === RBRACKET) {
          depth--;
          if (depth === 0) {
            this.i = i + 1;
            return;
          }
        }
        i++;
      }
    }
    // a number or a literal
    let i = this.i;
    for (let x = b[i]; x !== undefined && x !== COMMA && x !== RBRACE && x !== RBRACKET && x !== 32 && x !== 10 && x !== 13 && x !== 9; x = b[++i]);
    if (i === this.i) throw new Unexpected();
    this.i = i;
  }
}
