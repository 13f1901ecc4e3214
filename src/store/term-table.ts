/**
 * Term hash -> term id: an open-addressing hash table over the two 32-bit words of a term's 64-bit hash
 * (src/text/chunk-terms.ts), in typed arrays. A JS Map keyed by BigInt is several times slower and larger;
 * this one costs 12 bytes a slot at a load factor of at most 1/2.
 */
export class TermTable {
  private keys: Int32Array;
  private ids: Int32Array;
  private mask: number;
  private count = 0;

  constructor(capacity = 1024) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.keys = new Int32Array(size * 2);
    this.ids = new Int32Array(size).fill(-1);
    this.mask = size - 1;
  }

  /** Distinct terms added so far; ids are 0..size-1 in order of addition. */
  get size(): number {
    return this.count;
  }

  /** The id of a term hash, or -1. */
  get(lo: number, hi: number): number {
    const keys = this.keys;
    const ids = this.ids;
    let slot = slotOf(lo, hi) & this.mask;
    for (;;) {
      const id = ids[slot]!;
      if (id < 0) return -1;
      if (keys[2 * slot] === lo && keys[2 * slot + 1] === hi) return id;
      slot = (slot + 1) & this.mask;
    }
  }

  /** The id of a term hash, adding it (with the next id) when new. */
  intern(lo: number, hi: number): number {
    let slot = slotOf(lo, hi) & this.mask;
    for (;;) {
      const id = this.ids[slot]!;
      if (id < 0) break;
      if (this.keys[2 * slot] === lo && this.keys[2 * slot + 1] === hi) return id;
      slot = (slot + 1) & this.mask;
    }
    const id = this.count++;
    this.keys[2 * slot] = lo;
    this.keys[2 * slot + 1] = hi;
    this.ids[slot] = id;
    if (this.count * 2 > this.ids.length) this.grow();
    return id;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldIds = this.ids;
    const size = oldIds.length * 2;
    this.keys = new Int32Array(size * 2);
    this.ids = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    for (let s = 0; s < oldIds.length; s++) {
      const id = oldIds[s]!;
      if (id < 0) continue;
      const lo = oldKeys[2 * s]!;
      const hi = oldKeys[2 * s + 1]!;
      let slot = slotOf(lo, hi) & this.mask;
      while (this.ids[slot]! >= 0) slot = (slot + 1) & this.mask;
      this.keys[2 * slot] = lo;
      this.keys[2 * slot + 1] = hi;
      this.ids[slot] = id;
    }
  }

  /** The table's arrays (for saving; see fromArrays). */
  arrays(): { keys: Int32Array; ids: Int32Array } {
    return { keys: this.keys, ids: this.ids };
  }

  /** A table from saved arrays (ids.length a power of two, keys twice as long). */
  static fromArrays(keys: Int32Array, ids: Int32Array, count: number): TermTable {
    const t = new TermTable(1);
    if (ids.length & (ids.length - 1) || keys.length !== ids.length * 2) throw new Error('term table arrays have the wrong shape');
    t.keys = keys;
    t.ids = ids;
    t.mask = ids.length - 1;
    t.count = count;
    return t;
  }

  /** Bytes held by the table's arrays. */
  get bytes(): number {
    return this.keys.byteLength + this.ids.byteLength;
  }
}

/** The words are hash outputs already; mixing them once spreads clustered low bits. */
function slotOf(lo: number, hi: number): number {
  let h = lo ^ Math.imul(hi, 0x9e3779b1);
  h ^= h >>> 16;
  return h >>> 0;
}
