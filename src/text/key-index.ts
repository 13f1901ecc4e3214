/**
 * The distinct keys of one text's features or terms, numbered 0, 1, 2... in first-seen order: an
 * open-addressing table in typed arrays over 64-bit keys (two int32 words), emptied in O(1) by a generation
 * stamp, so that embedding or indexing a text allocates nothing per key (a Map per text cost a third of
 * embedding). Callers keep what they count per key in their own arrays, indexed by the key's number.
 */
export class KeyIndex {
  /** The keys by number (low and high words). */
  lo = new Int32Array(512);
  hi = new Int32Array(512);
  /** How many keys have been added since the last reset. */
  size = 0;
  /** Key number per slot, valid where the slot's stamp is the current one. */
  private slots = new Int32Array(1024);
  private stamps = new Uint32Array(1024);
  private stamp = 1;

  reset(): this {
    this.size = 0;
    if (++this.stamp === 0xffffffff) {
      this.stamps.fill(0);
      this.stamp = 1;
    }
    return this;
  }

  /** The key's number; a key not seen since the reset gets the next one (the `size` before the call). */
  add(lo: number, hi: number): number {
    const mask = this.slots.length - 1;
    let slot = mix(lo, hi) & mask;
    while (this.stamps[slot] === this.stamp) {
      const k = this.slots[slot]!;
      if (this.lo[k] === lo && this.hi[k] === hi) return k;
      slot = (slot + 1) & mask;
    }
    const k = this.size++;
    if (k === this.lo.length) {
      this.lo = doubled(this.lo);
      this.hi = doubled(this.hi);
    }
    this.lo[k] = lo;
    this.hi[k] = hi;
    this.stamps[slot] = this.stamp;
    this.slots[slot] = k;
    if (this.size * 2 > this.slots.length) this.rehash();
    return k;
  }

  private rehash(): void {
    const cap = this.slots.length * 2;
    this.slots = new Int32Array(cap);
    this.stamps = new Uint32Array(cap);
    this.stamp = 1;
    for (let k = 0; k < this.size; k++) {
      let slot = mix(this.lo[k]!, this.hi[k]!) & (cap - 1);
      while (this.stamps[slot] === this.stamp) slot = (slot + 1) & (cap - 1);
      this.stamps[slot] = this.stamp;
      this.slots[slot] = k;
    }
  }
}

/** A typed array of twice the length holding `a`'s values (for per-key arrays that outgrow their keys). */
export function doubled<T extends Int32Array | Uint32Array | Float64Array | Uint8Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a);
  return b;
}

/** The slot hash of a key: both words mixed by murmur3's finaliser. */
function mix(lo: number, hi: number): number {
  return fmix32(lo ^ Math.imul(hi, 0x9e3779b1));
}

/** murmur3's 32-bit finaliser: mixes every input bit into every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
