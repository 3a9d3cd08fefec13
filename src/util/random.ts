/**
 * Seeded pseudo-random numbers. Everything random in evspike (weight initialisation, the
 * training shuffle) draws from an instance of {@link SeededRandom} passed in explicitly, so the
 * same seed gives a bit-identical run. There is no global generator and no `Math.random`.
 *
 * Each use draws from its own named stream ({@link SeededRandom.derive}): a stream depends on
 * the seed and its name only, never on how much another stream has drawn, so adding, removing
 * or resizing one layer changes nothing that another layer or the shuffle draws.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state),
 * seeded through splitmix32 so that nearby seeds give unrelated streams; a stream's name is
 * hashed (FNV-1a, then murmur3's finaliser) into each of the four state words.
 */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | undefined;

  /**
   * @param seed any integer; it is reduced to 32 bits.
   * @param stream the name of the stream (default `''`, the root stream of the seed).
   */
  constructor(
    readonly seed: number,
    readonly stream = '',
  ) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if (stream !== '') {
      this.a ^= hashString(stream, 1);
      this.b ^= hashString(stream, 2);
      this.c ^= hashString(stream, 3);
      this.d ^= hashString(stream, 4);
    }
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /**
   * An independent generator for one use, named by `path` below this one's stream (for
   * example `derive('weights', 1)` for the initial weights of layer 1). It depends on the seed
   * and the names only: what this generator has drawn so far does not matter.
   */
  derive(...path: (string | number)[]): SeededRandom {
    const name = path.map(String).join('/');
    return new SeededRandom(this.seed, this.stream === '' ? name : `${this.stream}/${name}`);
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /**
   * The generator's four state words, for native code that draws from this stream in its
   * place ({@link setState} puts them back); drawing there and here gives the same numbers.
   */
  getState(out: Uint32Array): void {
    out[0] = this.a;
    out[1] = this.b;
    out[2] = this.c;
    out[3] = this.d;
  }

  /** Take the state words {@link getState} gave, advanced by native code. */
  setState(state: ArrayLike<number>): void {
    this.a = state[0] >>> 0;
    this.b = state[1] >>> 0;
    this.c = state[2] >>> 0;
    this.d = state[3] >>> 0;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n) without modulo bias, for n ≤ 2^32. */
  nextInt(n: number): number {
    if (n <= 0) throw new RangeError(`nextInt: n must be positive, got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** Normal deviate with the given mean and standard deviation (Box–Muller, both halves used). */
  normal(mean = 0, sd = 1): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return mean + sd * z;
    }
    let u = 0;
    while (u === 0) u = this.nextFloat();
    const v = this.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + sd * r * Math.cos(2 * Math.PI * v);
  }

  /** In-place Fisher–Yates shuffle; returns its argument. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }
}

/** A 32-bit hash of `text` salted by `salt`: FNV-1a over the UTF-16 units, murmur3's finaliser. */
function hashString(text: string, salt: number): number {
  let h = (0x811c9dc5 ^ Math.imul(salt, 0x9e3779b9)) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** The permutation 0 … n−1 shuffled by `random`. */
export function shuffledIndices(n: number, random: SeededRandom): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return random.shuffle(order);
}
