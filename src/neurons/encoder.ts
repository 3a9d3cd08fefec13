/**
 * Rank-order input encoding (SPEC §2): one spike per non-zero pixel at most, brighter pixels
 * earlier. Pure functions over typed arrays.
 */
import { nativeFor, SIMD_LEVEL, type NativeKernelModule } from './kernels/integrate.js';

/** Spike bin of a pixel that never spikes. */
export const NO_SPIKE = -1;

/** The counting sort's counts, reused by every call (the encoder is synchronous). */
const scratchCounts = new Int32Array(257);

/** The native kernel's encoder, where it is in use (the same bins); resolved at the first call. */
let native: NativeKernelModule | null | undefined;

/**
 * Encode one image. The N non-zero pixels are ranked brightest first (equal intensities by
 * raster index, lowest first); the pixel of rank r spikes in bin `ceil(r / (N / (T − 1)))`,
 * computed in float64 exactly so. Zero pixels get {@link NO_SPIKE}.
 *
 * @param pixels intensities 0-255, row-major
 * @param timeBins T
 * @param out spike bin per pixel (written; length of `pixels`)
 * @returns the number of spikes N
 */
export function rankOrderEncode(pixels: Uint8Array, timeBins: number, out: Int32Array): number {
  if (native === undefined) native = nativeFor('auto');
  if (native !== null && pixels instanceof Uint8Array && out instanceof Int32Array && out.length >= pixels.length) return native.rankOrderEncode(pixels, timeBins, out, SIMD_LEVEL.avx512);
  return rankOrderEncodeJs(pixels, timeBins, out);
}

/** {@link rankOrderEncode} in JavaScript (what the native kernel does; tests compare the two). */
export function rankOrderEncodeJs(pixels: Uint8Array, timeBins: number, out: Int32Array): number {
  // Counting sort by intensity: stable, so ties stay in raster order.
  const counts = scratchCounts;
  counts.fill(0);
  for (let i = 0; i < pixels.length; i++) counts[256 - pixels[i]]++;
  // counts[k] counts intensity 256 − k; prefix sums over k < 256 give each non-zero
  // intensity's first rank.
  let n = 0;
  for (let k = 0; k < 256; k++) {
    const c = counts[k];
    counts[k] = n;
    n += c;
  }
  const nonZero = n; // counts[256] (intensity 0) was left out of the prefix sum
  const binWidth = nonZero / (timeBins - 1);
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    if (v === 0) {
      out[i] = NO_SPIKE;
      continue;
    }
    const rank = counts[256 - v]++;
    out[i] = Math.ceil(rank / binWidth);
  }
  return nonZero;
}

/**
 * Membrane potential of input neurons as VDSP reads it, computed from the spike bin alone
 * (nothing is stored per bin). A pixel that spikes in bin s ramps by 1/(s+1) per bin from
 * `restV` — `(t + 1) / (s + 1)` above rest for t < s — and sits at `resetV` from bin s on; a
 * pixel that never spikes stays at `restV`.
 *
 * The ramp values are tabulated by repeated float64 addition of 1/(s+1), which is how the
 * authors' code accumulates them, so they match it to the last bit.
 */
export class InputPotential {
  /** The potential at the end of bin t of a pixel that spikes in bin s > t: `ramp[s · timeBins + t]`. */
  readonly ramp: Float64Array;

  constructor(
    readonly timeBins: number,
    readonly restV: number,
    readonly resetV: number,
  ) {
    this.ramp = new Float64Array(timeBins * timeBins);
    for (let s = 0; s < timeBins; s++) {
      const increment = 1 / (s + 1);
      let v = restV;
      for (let t = 0; t < s; t++) {
        v += increment;
        this.ramp[s * timeBins + t] = v;
      }
    }
  }

  /** Potential at the end of bin `t` of a pixel whose spike bin is `spikeBin`. */
  at(spikeBin: number, t: number): number {
    if (spikeBin < 0) return this.restV;
    if (t >= spikeBin) return this.resetV;
    return this.ramp[spikeBin * this.timeBins + t];
  }
}
