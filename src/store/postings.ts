/**
 * Posting lists of the in-memory keyword index, in typed arrays.
 *
 * A term's postings (doc ordinal, term count) are sorted by doc and live in two parts:
 * - the base: one CSR layout for all terms (offsets, docs, counts), built in one pass at load or compaction;
 * - the tail: per-term growable arrays for documents added since (doc ordinals only grow, so appending keeps
 *   every list sorted, and a list reads as its base part followed by its tail part).
 * Both are cut into blocks of BLOCK postings, each with its last doc and the largest BM25 saturation
 * tf / (tf + k1 (1 - b + b len / A0)) of its postings, computed against a reference average length A0 (see
 * `saturationBound`). A query uses the blocks to skip postings (`advance`) and to bound what a block can
 * add to a score (block-max pruning) without decoding it.
 */

export const BLOCK = 128;
export const BLOCK_SHIFT = 7;
/** Doc ordinal meaning "no more postings". */
export const NO_MORE = 0xffffffff;

export const K1 = 1.2;
export const B = 0.75;

/** tf / (tf + k1 (1 - b + b len / avgdl)): BM25's term-frequency part without the (k1 + 1) factor. */
export function saturation(tf: number, len: number, avgdl: number): number {
  return tf / (tf + K1 * (1 - B + (B * len) / avgdl));
}

/**
 * The stored block maxima were computed with the reference average length `ref`. Saturation grows with the
 * average length, so they stay upper bounds while avgdl <= ref, and (avgdl / ref) times them bounds it
 * beyond: 1 - b + b len / avgdl >= (1 - b + b len / ref) ref / avgdl when avgdl >= ref.
 */
export const boundScale = (avgdl: number, ref: number): number => (avgdl > ref ? avgdl / ref : 1);

/** The base part: every term's postings in one CSR layout. */
export class BasePostings {
  constructor(
    /** Term t's postings are docs[offsets[t] .. offsets[t + 1]). */
    readonly offsets: Uint32Array,
    readonly docs: Uint32Array,
    readonly tfs: Uint16Array,
    /** Term t's blocks are blockLast/blockMax[blockOffsets[t] .. blockOffsets[t + 1]). */
    readonly blockOffsets: Uint32Array,
    readonly blockLast: Uint32Array,
    readonly blockMax: Float32Array,
    /** The largest saturation in each term's base list. */
    readonly listMax: Float32Array,
  ) {}

  static empty(): BasePostings {
    return new BasePostings(new Uint32Array(1), new Uint32Array(0), new Uint16Array(0), new Uint32Array(1), new Uint32Array(0), new Float32Array(0), new Float32Array(0));
  }

  /** Terms with a base part (ids 0..terms-1). */
  get terms(): number {
    return this.offsets.length - 1;
  }

  get postings(): number {
    return this.docs.length;
  }

  get bytes(): number {
    return this.offsets.byteLength + this.docs.byteLength + this.tfs.byteLength + this.blockOffsets.byteLength + this.blockLast.byteLength + this.blockMax.byteLength + this.listMax.byteLength;
  }
}

/** A term's postings added since the base was built. */
export class TailList {
  docs = new Uint32Array(4);
  tfs = new Uint16Array(4);
  n = 0;
  blockLast = new Uint32Array(1);
  blockMax = new Float32Array(1);
  max = 0;

  append(doc: number, tf: number, sat: number): void {
    if (this.n === this.docs.length) {
      const docs = new Uint32Array(this.n * 2);
      docs.set(this.docs);
      this.docs = docs;
      const tfs = new Uint16Array(this.n * 2);
      tfs.set(this.tfs);
      this.tfs = tfs;
    }
    const block = this.n >> BLOCK_SHIFT;
    if (block >= this.blockLast.length) {
      const last = new Uint32Array(this.blockLast.length * 2);
      last.set(this.blockLast);
      this.blockLast = last;
      const max = new Float32Array(this.blockMax.length * 2);
      max.set(this.blockMax);
      this.blockMax = max;
    }
    this.docs[this.n] = doc;
    this.tfs[this.n] = tf;
    this.n++;
    this.blockLast[block] = doc;
    if (sat > this.blockMax[block]!) this.blockMax[block] = sat;
    if (sat > this.max) this.max = sat;
  }

  get bytes(): number {
    return this.docs.byteLength + this.tfs.byteLength + this.blockLast.byteLength + this.blockMax.byteLength + 64;
  }
}

/**
 * Reads one term's list (base part, then tail part) in doc order. `doc` is the current posting's doc
 * (NO_MORE past the end), `tf` its count. Cursors are created per query and never outlive it.
 */
export class Cursor {
  doc = NO_MORE;
  tf = 0;
  // the current part
  private docs: Uint32Array;
  private tfs: Uint16Array;
  private pos: number;
  private start: number;
  private end: number;
  private blockLast: Uint32Array;
  private blockMax: Float32Array;
  private blockStart: number;
  private onTail: boolean;

  constructor(
    base: BasePostings,
    term: number,
    private readonly tail: TailList | undefined,
  ) {
    if (term < base.terms && base.offsets[term + 1]! > base.offsets[term]!) {
      this.docs = base.docs;
      this.tfs = base.tfs;
      this.start = base.offsets[term]!;
      this.end = base.offsets[term + 1]!;
      this.blockLast = base.blockLast;
      this.blockMax = base.blockMax;
      this.blockStart = base.blockOffsets[term]!;
      this.onTail = false;
    } else {
      this.docs = tail?.docs ?? new Uint32Array(0);
      this.tfs = tail?.tfs ?? new Uint16Array(0);
      this.start = 0;
      this.end = tail?.n ?? 0;
      this.blockLast = tail?.blockLast ?? new Uint32Array(0);
      this.blockMax = tail?.blockMax ?? new Float32Array(0);
      this.blockStart = 0;
      this.onTail = true;
    }
    this.pos = this.start;
    this.load();
  }

  private load(): void {
    if (this.pos < this.end) {
      this.doc = this.docs[this.pos]!;
      this.tf = this.tfs[this.pos]!;
      return;
    }
    if (!this.onTail && this.tail && this.tail.n > 0) {
      this.onTail = true;
      this.docs = this.tail.docs;
      this.tfs = this.tail.tfs;
      this.start = 0;
      this.pos = 0;
      this.end = this.tail.n;
      this.blockLast = this.tail.blockLast;
      this.blockMax = this.tail.blockMax;
      this.blockStart = 0;
      this.doc = this.docs[0]!;
      this.tf = this.tfs[0]!;
      return;
    }
    this.doc = NO_MORE;
    this.tf = 0;
  }

  next(): void {
    this.pos++;
    this.load();
  }

  /** Moves to the first posting with doc >= target (never backwards). */
  advance(target: number): void {
    if (this.doc >= target) return;
    for (;;) {
      // Skip whole blocks whose last doc is below the target: gallop, then binary search.
      const nBlocks = ((this.end - this.start + BLOCK - 1) >> BLOCK_SHIFT) + this.blockStart;
      let b = ((this.pos - this.start) >> BLOCK_SHIFT) + this.blockStart;
      if (this.blockLast[b]! < target) {
        let step = 1;
        let lo = b;
        let hi = b + 1;
        while (hi < nBlocks && this.blockLast[hi]! < target) {
          lo = hi;
          step *= 2;
          hi = lo + step;
        }
        if (hi >= nBlocks) hi = nBlocks;
        // blockLast[lo] < target; the answer is in (lo, hi]
        while (lo + 1 < hi) {
          const mid = (lo + hi) >> 1;
          if (this.blockLast[mid]! < target) lo = mid;
          else hi = mid;
        }
        b = hi;
        if (b >= nBlocks) {
          this.pos = this.end;
          this.load();
          if (this.doc === NO_MORE || this.doc >= target) return;
          continue; // moved onto the tail part: search it too
        }
        this.pos = this.start + ((b - this.blockStart) << BLOCK_SHIFT);
      }
      const docs = this.docs;
      let pos = this.pos;
      while (pos < this.end && docs[pos]! < target) pos++;
      this.pos = pos;
      this.load();
      return;
    }
  }

  /** The largest saturation in the block holding the current posting. */
  blockBound(): number {
    return this.blockMax[((this.pos - this.start) >> BLOCK_SHIFT) + this.blockStart]!;
  }

  /** The last doc of the block holding the current posting. */
  blockEnd(): number {
    return this.blockLast[((this.pos - this.start) >> BLOCK_SHIFT) + this.blockStart]!;
  }

  /** Moves past the current block. */
  skipBlock(): void {
    const end = this.start + (((this.pos - this.start) >> BLOCK_SHIFT) + 1) * BLOCK;
    this.pos = Math.min(end, this.end);
    this.load();
  }
}
