/**
 * Compact binary features: for each sample, the indices of the output neurons (pool neurons of
 * the last layer) that spiked, as compressed rows. A sample of the paper's network has about
 * 150 of 5,670 features set, so this is ~40× smaller than a dense matrix.
 */
export interface SparseFeatures {
  /** Number of samples. */
  readonly rows: number;
  /** Number of features (output neurons). */
  readonly cols: number;
  /** The features of sample i are `indices[offsets[i] … offsets[i+1])`, ascending. */
  readonly offsets: Int32Array;
  readonly indices: Int32Array;
  /**
   * The value of each stored feature, parallel to `indices`; absent for binary features (every
   * stored feature is 1), which is what the network's spikes give. Raw-pixel baselines use it.
   */
  readonly values?: Float64Array;
}

const narrowed = new WeakMap<Int32Array, Uint16Array>();

/**
 * The feature indices in the narrowest array that holds them: 16-bit when there are fewer than
 * 65,536 features (the paper's network has 5,670), which halves the memory a solver pass reads.
 * Made once per features object (cached), values unchanged.
 */
export function compactIndices(features: SparseFeatures): Int32Array | Uint16Array {
  if (features.cols > 0xffff) return features.indices;
  let small = narrowed.get(features.indices);
  if (small === undefined) {
    small = Uint16Array.from(features.indices);
    narrowed.set(features.indices, small);
  }
  return small;
}

/** Builds a {@link SparseFeatures} one sample at a time. */
export class FeatureBuilder {
  private offsets: Int32Array;
  private indices: Int32Array;
  private rows = 0;
  private nnz = 0;

  constructor(
    readonly cols: number,
    expectedRows = 1024,
    expectedPerRow = 160,
  ) {
    this.offsets = new Int32Array(expectedRows + 1);
    this.indices = new Int32Array(Math.max(16, expectedRows * expectedPerRow));
  }

  /** Append one sample's active features (any order; they are sorted here). */
  add(active: ArrayLike<number>, count = active.length): void {
    if (this.rows + 2 > this.offsets.length) {
      const o = new Int32Array(this.offsets.length * 2);
      o.set(this.offsets);
      this.offsets = o;
    }
    if (this.nnz + count > this.indices.length) {
      const n = new Int32Array(Math.max(this.indices.length * 2, this.nnz + count));
      n.set(this.indices.subarray(0, this.nnz));
      this.indices = n;
    }
    const start = this.nnz;
    if (!this.addBySet(active, count)) {
      for (let i = 0; i < count; i++) this.indices[this.nnz++] = active[i];
      this.indices.subarray(start, this.nnz).sort();
    }
    this.rows++;
    this.offsets[this.rows] = this.nnz;
  }

  /** Bits of the features of the sample being added ({@link addBySet}), all clear between samples. */
  private set: Uint32Array | undefined;

  /**
   * Append `active` in ascending order through a bit set over the features, when its entries
   * are distinct integer features (a network's spikes are): a pass over the set's words
   * instead of a sort. Returns false, having appended nothing, where that does not hold.
   */
  private addBySet(active: ArrayLike<number>, count: number): boolean {
    const set = (this.set ??= new Uint32Array(Math.ceil(this.cols / 32)));
    let lo = set.length;
    let hi = -1;
    let distinct = true;
    let i = 0;
    for (; i < count; i++) {
      const f = active[i];
      if (!(f >= 0 && f < this.cols && f === (f | 0))) break;
      const word = f >>> 5;
      const bit = 1 << (f & 31);
      if ((set[word] & bit) !== 0) distinct = false;
      set[word] |= bit;
      if (word < lo) lo = word;
      if (word > hi) hi = word;
    }
    if (i < count || !distinct) {
      // clear what was set, and let the caller sort
      for (let j = 0; j < i; j++) set[active[j] >>> 5] = 0;
      return false;
    }
    const indices = this.indices;
    let n = this.nnz;
    for (let word = lo; word <= hi; word++) {
      let bits = set[word];
      if (bits === 0) continue;
      set[word] = 0;
      while (bits !== 0) {
        const low = bits & -bits;
        indices[n++] = (word << 5) + 31 - Math.clz32(low);
        bits ^= low;
      }
    }
    this.nnz = n;
    return true;
  }

  build(): SparseFeatures {
    return {
      rows: this.rows,
      cols: this.cols,
      offsets: this.offsets.slice(0, this.rows + 1),
      indices: this.indices.slice(0, this.nnz),
    };
  }
}

/** The 16-bit shared copies of index arrays that a {@link FeatureAppender} kept alongside. */
const sharedNarrowed = new WeakMap<Int32Array, Uint16Array>();

/**
 * The indices of `features` as 16-bit integers in shared memory, where a
 * {@link FeatureAppender} kept them alongside; undefined otherwise.
 */
export function sharedCompactIndices(features: SparseFeatures): Uint16Array | undefined {
  return sharedNarrowed.get(features.indices);
}

/**
 * Feature blocks appended in order into one set as they come, so that the copying happens
 * while the blocks still coming are being made (the worker pool appends each chunk as soon as
 * the chunks before it are in), rather than in one concatenation at the end: for MNIST's
 * 60,000 training rows, ~100 ms of copying and page faults, plus ~60 for the readout's 16-bit
 * copy. With `shared16`, the indices are also kept as 16-bit integers in shared memory (the
 * readout's form, {@link sharedCompactIndices}); they must then be below 65,536.
 */
export class FeatureAppender {
  private offsets: Int32Array;
  private indices: Int32Array;
  private small: Uint16Array | undefined;
  private rows = 0;
  private nnz = 0;

  /**
   * @param expectedRows the rows expected in all (room is made for them as the first blocks come)
   * @param expectedIndices the indices expected in all, where known (room for them from the start)
   */
  constructor(
    readonly cols: number,
    private readonly expectedRows: number,
    shared16 = false,
    expectedIndices = 0,
  ) {
    if (shared16 && cols > 0x10000) throw new RangeError(`16-bit indices for ${cols} features`);
    this.offsets = new Int32Array(expectedRows + 1);
    this.indices = new Int32Array(expectedIndices);
    if (shared16) this.small = new Uint16Array(new SharedArrayBuffer(expectedIndices * 2));
  }

  append(block: SparseFeatures): void {
    if (block.cols !== this.cols) throw new RangeError(`feature block of ${block.cols} columns, expected ${this.cols}`);
    const n = block.indices.length;
    if (this.rows + block.rows + 1 > this.offsets.length) {
      const o = new Int32Array(Math.max(2 * this.offsets.length, this.rows + block.rows + 1));
      o.set(this.offsets.subarray(0, this.rows + 1));
      this.offsets = o;
    }
    if (this.nnz + n > this.indices.length) this.grow(this.nnz + n, this.rows + block.rows);
    this.indices.set(block.indices, this.nnz);
    this.small?.set(block.indices, this.nnz);
    for (let i = 1; i <= block.rows; i++) this.offsets[this.rows + i] = this.nnz + block.offsets[i];
    this.rows += block.rows;
    this.nnz += n;
  }

  /** The set so far (views of the appender's arrays: append no more after this). */
  build(): SparseFeatures {
    const features = { rows: this.rows, cols: this.cols, offsets: this.offsets.subarray(0, this.rows + 1), indices: this.indices.subarray(0, this.nnz) };
    if (this.small !== undefined) sharedNarrowed.set(features.indices, this.small.subarray(0, this.nnz));
    return features;
  }

  /** Room for `needed` indices: as many per row as so far for every expected row, and some. */
  private grow(needed: number, rows: number): void {
    const perRow = needed / Math.max(1, rows);
    const capacity = Math.max(needed, 2 * this.indices.length, Math.ceil(perRow * Math.max(rows, this.expectedRows) * 1.05));
    const indices = new Int32Array(capacity);
    indices.set(this.indices.subarray(0, this.nnz));
    this.indices = indices;
    if (this.small !== undefined) {
      const small = new Uint16Array(new SharedArrayBuffer(capacity * 2));
      small.set(this.small.subarray(0, this.nnz));
      this.small = small;
    }
  }
}

/** Concatenate feature blocks (in order) into one. */
export function concatFeatures(blocks: readonly SparseFeatures[], cols: number): SparseFeatures {
  const rows = blocks.reduce((n, b) => n + b.rows, 0);
  const nnz = blocks.reduce((n, b) => n + b.indices.length, 0);
  const appender = new FeatureAppender(cols, rows, false, nnz);
  for (const b of blocks) appender.append(b);
  return appender.build();
}

/** Whether two feature sets are identical. */
export function sameFeatures(a: SparseFeatures, b: SparseFeatures): boolean {
  if (a.rows !== b.rows || a.cols !== b.cols || a.indices.length !== b.indices.length) return false;
  for (let i = 0; i <= a.rows; i++) if (a.offsets[i] !== b.offsets[i]) return false;
  for (let i = 0; i < a.indices.length; i++) if (a.indices[i] !== b.indices[i]) return false;
  return true;
}
