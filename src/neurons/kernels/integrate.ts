/**
 * The conv layer's hot kernel: one bin's step of a conv layer. It delivers the bin's input
 * spikes to the positions they reach (recording which kernel tap each arrived on), integrates
 * the positions that may cross, and finds each crossing position's spiking map.
 *
 * Two implementations of one definition over the same memory layout (see integrate.wat):
 * {@link JsConvKernel}, plain JavaScript, is the reference (and the fallback where WebAssembly
 * SIMD is missing); the WebAssembly SIMD kernel integrates two maps per instruction (a row in
 * one pass over the maps per bin, or two candidate maps side by side) and sums level bounds
 * eight maps per instruction. Both are bit-identical, which test/neurons/kernels.test.ts checks
 * on random inputs.
 *
 * The definition, per bin and per touched position that is alive: for every map c,
 * `V[c] += round(Σ_j W[tap_j][c])` over the taps the bin's spikes arrived on, in arrival order
 * (float64 sum; `round` is a float32 rounding in float32 mode), then the map with the largest V
 * above the threshold (ties to the higher map) spikes and the position dies.
 *
 * Exact skipping: while a position has received at most {@link ConvKernel.setMaxDeferred} taps
 * in the sample, no map can have crossed, so its taps are only recorded; its pending bins are
 * integrated, in order and each rounded on its own, when more taps arrive, when its potential is
 * read ({@link ConvKernel.settle}), or before the weights change ({@link ConvKernel.settleAll}).
 * The potentials are then what integrating every bin at its end would have given, bit for bit.
 *
 * Exact bounds (inference, with skipping): a position past that many taps is not integrated
 * either. Each integration weight has an integer upper bound in 16-bit levels
 * ({@link weightLevel}), and the position keeps, per map, the sum of the levels of the taps it
 * received: eight maps per instruction, a bound on every map's potential. Only the maps whose
 * bound reaches the threshold ({@link candidateLevelSum}) are candidates; each is integrated
 * on its own, from the recorded taps, exactly as the whole row would be, and the largest above
 * the threshold spikes. A trained network's weights are nearly 0 or 1, so a position has few
 * candidates, and mostly none before the bin it spikes in. The row stays pending (integrated
 * when read), and a spiked position's row holds the potential of its spiking map only.
 */
import { createRequire } from 'node:module';
import { KernelUnavailableError, OptionError } from '../../errors.js';
import type { NativeRuleForm } from '../../plasticity/rule.js';
import type { Connectivity, PotentialTable } from '../layer.js';
import { WASM_BASE64 } from './integrate.wasm.js';

/** The implementations of the kernel, fastest first; all give identical results. */
export type KernelName = 'native' | 'wasm' | 'js';
/** Which implementation of the kernel to use. `auto`: the fastest available. */
export type KernelChoice = 'auto' | KernelName;
export const KERNEL_CHOICES: readonly KernelChoice[] = ['auto', 'native', 'wasm', 'js'];

/** The shape and constants of a conv layer, as the kernel needs them. */
export interface ConvKernelGeometry {
  readonly positions: number;
  readonly maps: number;
  readonly tapsPerMap: number;
  /** Source neuron → (position, tap) connectivity; payloads are tap indices. */
  readonly connectivity: Connectivity;
  readonly roundToFloat32: boolean;
  readonly threshold: number;
  readonly restV: number;
}

/**
 * Where the per-sample counters sit in {@link ConvKernel.counters}: taps that reached a live
 * position and taps of the fan-out of the delivered spikes (live or not), in taps (multiply by
 * the maps for events); and the weight additions performed.
 */
export const APPLIED = 0;
export const FANOUT = 1;
/** Not in taps: the weight additions the kernel performed (one per tap and map integrated). */
export const ADDITIONS = 2;

/** A conv layer's state and its step, in one memory (see integrate.wat for the layouts). */
export interface ConvKernel {
  readonly kernel: KernelName;
  /** Maps rounded up to a multiple of 8: the row length of {@link potential} and {@link weights}. */
  readonly mapsPadded: number;
  /** Potentials `[position][mapsPadded]`; a position's row is current after {@link settle} says {@link ALIVE}. */
  readonly potential: Float64Array;
  /** Integration weights `[tap][mapsPadded]` (padding maps 0). */
  readonly weights: Float64Array;
  /** Their upper bounds in levels, `[tap][mapsPadded]` ({@link weightLevel}; padding maps 0). */
  readonly weightLevels: Uint16Array;
  /** Input of {@link step}: the bin's source neurons, in arrival order. */
  readonly sources: Int32Array;
  /** Output of {@link step}: the positions that spiked, and their spiking maps. */
  readonly spikePos: Int32Array;
  readonly spikeMap: Int32Array;
  /** Start sample `sample` (a stamp that differs from the previous sample's). */
  beginSample(sample: number): void;
  /**
   * Deliver the first `n` entries of {@link sources} in bin serial `bin` (never 0, different for
   * every bin), integrate what may cross, and return the number of positions that spiked; −1
   * when a position received more taps in the sample than its kernel has (a presynaptic neuron
   * spiked twice: the sample's state is then undefined).
   */
  step(n: number, bin: number): number;
  /**
   * Integrate the pending taps of position `pos`, and say what its row of {@link potential}
   * holds: {@link AT_REST}, the sample has not touched it (the row is stale); {@link ALIVE},
   * its potentials, current; {@link SPIKED}, the potential of its spiking map when it spiked
   * (the other maps' entries are stale; by the model its maps are now at rest and the spiking
   * one at v_reset, which the caller answers: the kernel never touches a spiked position again).
   */
  settle(pos: number): PositionState;
  /** Integrate the pending taps of every position of the sample. */
  settleAll(): void;
  /**
   * Taps a position may receive before it has to be integrated (0: integrate every touched
   * position at every bin). Above 0, positions past it are decided by their level bounds.
   */
  setMaxDeferred(n: number): void;
  /** The level sum from which a map is a candidate ({@link candidateLevelSum}). */
  setCandidateSum(h: number): void;
  /** Recompute the level sums of the sample's positions (after {@link weightLevels} changed). */
  forgetBounds(): void;
  /** The counters of the current sample ({@link APPLIED}, {@link FANOUT}, {@link ADDITIONS}), in the kernel's memory. */
  readonly counters: Int32Array;
  /**
   * Where one call can run a whole sample (the native kernel; absent elsewhere): the bins of a
   * sample that does not learn, each non-empty one as {@link step} would with the next bin
   * serial after `bin`. The sources of bin t are `sources[binStart[t] … binStart[t + 1])`. The
   * spikes are written from index 0 on: `neuron` (flat index map · positions + position, in
   * ascending order within a bin), `time` (the bin), `spikeV` (the spiking potential), and
   * `spikedMap[position]` (the spiking map). Returns the number of spikes; −1 as {@link step}
   * does, −2 for a source that is not a presynaptic neuron, −3 for more spikes than the log
   * holds (a position spiked twice: never, but for a broken kernel).
   */
  readonly runBins?: (sources: Int32Array, binStart: Int32Array, timeBins: number, bin: number, neuron: Int32Array, time: Float64Array, spikeV: Float64Array, spikedMap: Int32Array) => number;
  /** Where the kernel keeps the layer's log itself (the native kernel; absent elsewhere): see {@link LogSteps}. */
  readonly logSteps?: LogSteps;
}

/**
 * A kernel's steps that also write the layer's log: {@link LogSteps.setLog} once, then
 * {@link LogSteps.stepLog} for each bin as {@link ConvKernel.step}, the bin's spikes appended to
 * the log as {@link ConvKernel.runBins} writes them.
 */
export interface LogSteps {
  /** The layer's log (each at least as long as the positions), kept by the kernel. */
  setLog(neuron: Int32Array, time: Float64Array, spikeV: Float64Array, spikedMap: Int32Array): void;
  /**
   * {@link ConvKernel.step}, then the bin's spikes appended to the log from index `first`, in
   * ascending flat index, with time `time`, their potentials and spiking maps. Returns the
   * number of spikes; −1 as step does; −3 for more than the log holds (a broken kernel).
   */
  stepLog(n: number, bin: number, first: number, time: number): number;
  /** The layer's learning, kept by the kernel for {@link stepLearn}. */
  setLearner(learner: KernelLearner): void;
  /**
   * {@link stepLog}, then the bin's spikes learned from as ConvLayer's learnFromBin does with
   * the learner's rule (winners selected over its mask, appended to its winners' log from
   * `winnersAt`, the rule applied to each winner's kernel from the input's potentials, the
   * integration weights and largest weights of their maps refreshed), from the learning rate
   * and applications given; the learner's `state` gets the bin's winners, the learning rate and
   * the applications after them. Returns as stepLog does; −4 (nothing done) where `time` is not
   * one of the input's bins; −5 when the winners' log has no room (nothing learned).
   */
  stepLearn(n: number, bin: number, first: number, time: number, learningRate: number, applications: number, winnersAt: number): number;
}

/** What a kernel's learning reads and writes (see {@link LogSteps.setLearner}). */
export interface KernelLearner {
  /** The layer's weights W[map][tap], which the rule changes. */
  readonly weights: Float64Array;
  /** The largest integration weight of each map, written for the maps that change. */
  readonly mapLargest: Float64Array;
  /** The layer's log of winners (each at least as long as the maps). */
  readonly winners: Int32Array;
  readonly winnerTimes: Float64Array;
  /** Written by each stepLearn: the bin's winners, the learning rate and the applications after them. */
  readonly state: Float64Array;
  /** The layer's winner mask (winners.ts's WinnerMask). */
  readonly mapUsed: Uint8Array;
  readonly inhibited: Uint8Array;
  /** The presynaptic layer's potentials (the input layer's). */
  readonly source: PotentialTable;
  /** Height and width of the layer, winners per bin, inhibition radius, input channels, height and width, kernel size, stride, padding. */
  readonly geometry: readonly number[];
  /** The potential the receptive field reads in the padding. */
  readonly paddingV: number;
  readonly rule: NativeRuleForm;
}

/**
 * The most taps a position may receive in a sample with no map able to cross, when no
 * integration weight exceeds `largest` (capped at `maxTaps`, what a position can receive).
 *
 * After N taps, V ≤ v_rest + N·u with u = max(largest, 0), up to rounding: a bin's float64 sum
 * of n taps is at most n·u·(1 + 2⁻⁵²)ⁿ, its float32 rounding at most (1 + 2⁻²³) times that, and
 * each float64 addition to V errs by at most 2⁻⁵³ of the magnitudes. A relative margin of 2⁻²⁰
 * on |v_rest| + N·u covers all of it for any N a layer can have, so V ≤ θ is certain (no map
 * crosses: crossing is V > θ) whenever v_rest + N·u + (|v_rest| + N·u)·2⁻²⁰ < θ.
 */
export function deferrableTaps(largest: number, restV: number, threshold: number, maxTaps: number): number {
  const u = Math.max(largest, 0);
  let n = 0;
  while (n < maxTaps) {
    const next = n + 1;
    const magnitude = Math.abs(restV) + next * u;
    if (!(restV + next * u + magnitude * 2 ** -20 < threshold)) break;
    n = next;
  }
  return n;
}

/** Levels of the integer weight bounds: as many as keep a position's sum of levels within 16 bits. */
export function boundLevels(tapsPerMap: number): number {
  return Math.max(1, Math.floor(0xffff / tapsPerMap));
}

/**
 * The integer bound of integration weight `w` when none exceeds `largest`: a q in
 * [0, levels] with w ≤ q·largest/levels (0 when w ≤ 0). Two levels above the floor, so that the
 * rounding of the division cannot make it fall short.
 */
export function weightLevel(w: number, largest: number, levels: number): number {
  if (!(w > 0) || !(largest > 0)) return 0;
  return Math.min(levels, Math.floor((w / largest) * levels) + 2);
}

/**
 * The smallest sum of levels H at which a map may have crossed, when no integration weight
 * exceeds `largest`: below it, the map's potential is at most v_rest + S with
 * S = H·u/levels, u = max(largest, 0), up to the rounding that {@link deferrableTaps} bounds,
 * and v_rest + S + (|v_rest| + S)·2⁻²⁰ < θ. At most 0xffff (`maxSum`, a position's largest
 * possible sum, may not fit): a sum that reaches it is only checked needlessly.
 */
export function candidateLevelSum(largest: number, restV: number, threshold: number, levels: number, maxSum: number): number {
  const u = Math.max(largest, 0);
  const safe = (h: number): boolean => {
    const s = (h * u) / levels;
    return restV + s + (Math.abs(restV) + s) * 2 ** -20 < threshold;
  };
  if (!safe(0)) return 0;
  // the largest safe sum, by bisection (safe is monotone in h)
  let lo = 0;
  let hi = maxSum + 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (safe(mid)) lo = mid;
    else hi = mid;
  }
  return Math.min(lo + 1, 0xffff);
}

const FIRST_OF_BIN = 0x80000000 | 0;

/** What {@link ConvKernel.settle} says of a position. */
export type PositionState = typeof AT_REST | typeof ALIVE | typeof SPIKED;
export const AT_REST = 0;
export const ALIVE = 1;
export const SPIKED = 2;

/** Region sizes in bytes, in the order the kernel's `configure` takes their offsets. */
function regions(g: ConvKernelGeometry, mp: number): number[] {
  const { positions, tapsPerMap } = g;
  const sources = g.connectivity.start.length - 1;
  const connections = g.connectivity.target.length;
  return [
    positions * mp * 8, // pot
    tapsPerMap * mp * 8, // weights
    (sources + 1) * 4, // start
    connections * 4, // target
    connections * 4, // payload
    positions * 4, // stamp
    positions, // dead
    positions * 4, // binStamp
    positions * 4, // count
    positions * 4, // done
    positions * tapsPerMap * 4, // taps
    (positions + 1) * 4, // touched (one more: the branch-free delivery writes a slot ahead)
    positions * 4, // spikePos
    positions * 4, // spikeMap
    positions * 4, // sampleList
    3 * 4, // stats
    sources * 4, // sources (step input)
    tapsPerMap * mp * 2, // weightLevels
    positions * mp * 2, // levelSum
    positions * 4, // levelDone
    mp * 8, // restRow
    mp * 2, // zeroLevels
  ];
}

/**
 * Typed views of the kernel's memory. A class, as every object the hot code reads fields of: a
 * second object literal of one shape stores over the first one's fields, which V8 takes for the
 * fields changing, and throws away the optimised code that read them.
 */
class Views {
  readonly pot: Float64Array;
  readonly weights: Float64Array;
  readonly start: Int32Array;
  readonly target: Int32Array;
  readonly payload: Int32Array;
  readonly stamp: Int32Array;
  readonly dead: Uint8Array;
  readonly binStamp: Int32Array;
  readonly count: Int32Array;
  readonly done: Int32Array;
  readonly taps: Int32Array;
  readonly touched: Int32Array;
  readonly spikePos: Int32Array;
  readonly spikeMap: Int32Array;
  readonly sampleList: Int32Array;
  readonly stats: Int32Array;
  readonly sources: Int32Array;
  readonly weightLevels: Uint16Array;
  /** Per position and map, the sum of the levels of the taps received in the sample. */
  readonly levelSum: Uint16Array;
  /** Per position, how many of its recorded taps are in {@link levelSum}. */
  readonly levelDone: Int32Array;
  /** {@link weightLevels} and {@link levelSum} as 32-bit words, two maps each. */
  readonly weightLevelPairs: Uint32Array;
  readonly levelSumPairs: Uint32Array;
  /** A row of potentials at rest (padding maps at −∞), where a sample's first integration starts. */
  readonly restRow: Float64Array;

  constructor(g: ConvKernelGeometry, mp: number, buffer: ArrayBuffer, offsets: number[]) {
    const sizes = regions(g, mp);
    const i32 = (k: number): Int32Array => new Int32Array(buffer, offsets[k], sizes[k] / 4);
    this.pot = new Float64Array(buffer, offsets[0], sizes[0] / 8);
    this.weights = new Float64Array(buffer, offsets[1], sizes[1] / 8);
    this.start = i32(2);
    this.target = i32(3);
    this.payload = i32(4);
    this.stamp = i32(5);
    this.dead = new Uint8Array(buffer, offsets[6], sizes[6]);
    this.binStamp = i32(7);
    this.count = i32(8);
    this.done = i32(9);
    this.taps = i32(10);
    this.touched = i32(11);
    this.spikePos = i32(12);
    this.spikeMap = i32(13);
    this.sampleList = i32(14);
    this.stats = i32(15);
    this.sources = i32(16);
    this.weightLevels = new Uint16Array(buffer, offsets[17], sizes[17] / 2);
    this.levelSum = new Uint16Array(buffer, offsets[18], sizes[18] / 2);
    this.levelDone = i32(19);
    this.restRow = new Float64Array(buffer, offsets[20], sizes[20] / 8);
    this.weightLevelPairs = new Uint32Array(buffer, offsets[17], sizes[17] / 4);
    this.levelSumPairs = new Uint32Array(buffer, offsets[18], sizes[18] / 4);
  }
}

function layout(g: ConvKernelGeometry, mp: number, buffer: ArrayBuffer, offsets: number[]): Views {
  const views = new Views(g, mp, buffer, offsets);
  const { start, target, payload } = g.connectivity;
  views.start.set(start);
  views.target.set(target);
  // payloads as byte offsets of the tap's weight row
  for (let k = 0; k < payload.length; k++) views.payload[k] = payload[k] * mp * 8;
  // stamp 0 is never a sample: every position starts stale
  views.stamp.fill(0);
  views.restRow.fill(g.restV, 0, g.maps);
  views.restRow.fill(-Infinity, g.maps);
  return views;
}

/** What every kernel hands out of its memory ({@link ConvKernel}'s arrays). */
abstract class KernelArrays {
  readonly potential: Float64Array;
  readonly weights: Float64Array;
  readonly weightLevels: Uint16Array;
  readonly sources: Int32Array;
  readonly spikePos: Int32Array;
  readonly spikeMap: Int32Array;
  readonly counters: Int32Array;

  constructor(
    readonly mapsPadded: number,
    v: Views,
  ) {
    this.potential = v.pot;
    this.weights = v.weights;
    this.weightLevels = v.weightLevels;
    this.sources = v.sources;
    this.spikePos = v.spikePos;
    this.spikeMap = v.spikeMap;
    this.counters = v.stats;
  }
}

/**
 * The plain JavaScript kernel: the reference definition, written for clarity (and the fallback
 * where WebAssembly SIMD is missing).
 */
export class JsConvKernel extends KernelArrays implements ConvKernel {
  readonly kernel = 'js' as const;
  private sample = 0;
  private sampleCount = 0;
  private maxDeferred = 0;
  private candidateSum = 0;

  constructor(
    private readonly g: ConvKernelGeometry,
    mapsPadded: number,
    private readonly v: Views,
  ) {
    super(mapsPadded, v);
  }

  beginSample(sample: number): void {
    this.sample = sample | 0; // as the Int32Array of stamps holds it
    this.sampleCount = 0;
    this.v.stats.fill(0);
  }

  setMaxDeferred(n: number): void {
    this.maxDeferred = n;
  }

  setCandidateSum(h: number): void {
    this.candidateSum = h;
  }

  forgetBounds(): void {
    const v = this.v;
    const mp = this.mapsPadded;
    for (let i = 0; i < this.sampleCount; i++) {
      const pos = v.sampleList[i];
      v.levelSum.fill(0, pos * mp, (pos + 1) * mp);
      v.levelDone[pos] = 0;
    }
  }

  step(n: number, bin: number): number {
    bin |= 0; // as the Int32Array of bin stamps holds it
    const v = this.v;
    const { start, target, payload, stamp, dead, binStamp, count, taps, touched, stats } = v;
    const tapsPerMap = this.g.tapsPerMap;
    const sample = this.sample;
    let touchedCount = 0;
    let overflow = false;
    for (let s = 0; s < n; s++) {
      const src = v.sources[s];
      const end = start[src + 1];
      stats[FANOUT] += end - start[src];
      for (let k = start[src]; k < end; k++) {
        const pos = target[k];
        if (stamp[pos] !== sample) this.resetPosition(pos);
        // at most tapsPerMap taps in a sample (each source spikes once): one more fails the bin
        if (count[pos] === tapsPerMap) {
          overflow = true;
          continue;
        }
        if (dead[pos] !== 0) continue;
        let tap = payload[k];
        if (binStamp[pos] !== bin) {
          binStamp[pos] = bin;
          touched[touchedCount++] = pos;
          tap |= FIRST_OF_BIN;
        }
        taps[pos * tapsPerMap + count[pos]++] = tap;
        stats[APPLIED]++;
      }
    }
    if (overflow) return -1;
    let spikes = 0;
    const bounding = this.maxDeferred > 0;
    for (let i = 0; i < touchedCount; i++) {
      const pos = touched[i];
      if (count[pos] <= this.maxDeferred) continue;
      const best = bounding ? this.crossingByBounds(pos) : this.integrate(pos, true);
      if (best >= 0) {
        dead[pos] = 1;
        v.spikePos[spikes] = pos;
        v.spikeMap[spikes] = best;
        spikes++;
      }
    }
    return spikes;
  }

  settle(pos: number): PositionState {
    const v = this.v;
    if (v.stamp[pos] !== this.sample) return AT_REST;
    if (v.dead[pos] !== 0) return SPIKED;
    if (v.done[pos] < v.count[pos]) this.integrate(pos, false);
    return ALIVE;
  }

  settleAll(): void {
    for (let i = 0; i < this.sampleCount; i++) this.settle(this.v.sampleList[i]);
  }

  private resetPosition(pos: number): void {
    const v = this.v;
    const mp = this.mapsPadded;
    v.stamp[pos] = this.sample;
    v.dead[pos] = 0;
    v.count[pos] = 0;
    v.done[pos] = 0;
    v.levelDone[pos] = 0;
    v.levelSum.fill(0, pos * mp, (pos + 1) * mp);
    v.sampleList[this.sampleCount++] = pos;
    v.pot.fill(this.g.restV, pos * mp, pos * mp + this.g.maps);
    v.pot.fill(-Infinity, pos * mp + this.g.maps, (pos + 1) * mp);
  }

  /**
   * Decide whether `pos` spikes in this bin by the level bounds: add the new taps' levels to its
   * sums, integrate each candidate map on its own, and return the map with the largest
   * potential above the threshold (ties to the higher map), or −1. The spiking map's potential
   * is written to the row; the row is otherwise left pending.
   */
  private crossingByBounds(pos: number): number {
    const v = this.v;
    const mp = this.mapsPadded;
    const { maps, tapsPerMap, threshold } = this.g;
    const { levelSum, taps } = v;
    const row = pos * mp;
    // two maps per addition: the sums never pass 16 bits, so no carry crosses between them
    const sums = v.levelSumPairs;
    const levels = v.weightLevelPairs;
    const pairs = mp / 2; // a multiple of 4
    for (let j = v.levelDone[pos]; j < v.count[pos]; j++) {
      const tapRow = (taps[pos * tapsPerMap + j] & ~FIRST_OF_BIN) / 16;
      for (let c = 0, r = row / 2; c < pairs; c += 4, r += 4) {
        sums[r] += levels[tapRow + c];
        sums[r + 1] += levels[tapRow + c + 1];
        sums[r + 2] += levels[tapRow + c + 2];
        sums[r + 3] += levels[tapRow + c + 3];
      }
    }
    v.levelDone[pos] = v.count[pos];
    let best = -1;
    let bestV = -Infinity;
    for (let c = 0; c < maps; c++) {
      if (levelSum[row + c] < this.candidateSum) continue;
      const x = this.mapPotential(pos, c);
      // >= so that an exact tie goes to the higher map
      if (x > threshold && x >= bestV) {
        bestV = x;
        best = c;
      }
    }
    if (best >= 0) v.pot[row + best] = bestV;
    return best;
  }

  /** The potential of map `c` at `pos` with its pending bins integrated (the row unchanged). */
  private mapPotential(pos: number, c: number): number {
    const v = this.v;
    const { tapsPerMap, roundToFloat32 } = this.g;
    const { weights, taps } = v;
    const from = pos * tapsPerMap + v.done[pos];
    const to = pos * tapsPerMap + v.count[pos];
    v.stats[ADDITIONS] += to - from;
    let x = v.pot[pos * this.mapsPadded + c];
    for (let j = from; j < to; ) {
      let sum = weights[(taps[j] & ~FIRST_OF_BIN) / 8 + c];
      let end = j + 1;
      for (; end < to && taps[end] >= 0; end++) sum += weights[taps[end] / 8 + c];
      x += roundToFloat32 ? Math.fround(sum) : sum;
      j = end;
    }
    return x;
  }

  /**
   * Integrate the pending bins of `pos`, in order; with `check`, return the spiking map or −1.
   * Per bin and map: the float64 sum of the bin's tap weights in arrival order (starting from
   * the first tap's weight, as the WebAssembly kernel does), rounded once in float32 mode, added
   * to V. Four maps are summed side by side: each keeps its own order, so this is exactly the
   * definition, and the four additions do not wait on each other.
   */
  private integrate(pos: number, check: boolean): number {
    const v = this.v;
    const { maps, tapsPerMap, roundToFloat32, threshold } = this.g;
    const mp = this.mapsPadded;
    const pot = v.pot;
    const weights = v.weights;
    const taps = v.taps;
    const base = pos * mp;
    const from = pos * tapsPerMap + v.done[pos];
    const to = pos * tapsPerMap + v.count[pos];
    v.stats[ADDITIONS] += (to - from) * maps;
    v.done[pos] = v.count[pos];
    for (let j = from; j < to; ) {
      // one bin: the taps from a first-of-bin mark (the sign bit) to the next
      let end = j + 1;
      while (end < to && taps[end] >= 0) end++;
      const first = (taps[j] & ~FIRST_OF_BIN) / 8;
      for (let c = 0; c < mp; c += 4) {
        let x0 = weights[first + c];
        let x1 = weights[first + c + 1];
        let x2 = weights[first + c + 2];
        let x3 = weights[first + c + 3];
        for (let k = j + 1; k < end; k++) {
          const t = taps[k] / 8 + c;
          x0 += weights[t];
          x1 += weights[t + 1];
          x2 += weights[t + 2];
          x3 += weights[t + 3];
        }
        if (roundToFloat32) {
          x0 = Math.fround(x0);
          x1 = Math.fround(x1);
          x2 = Math.fround(x2);
          x3 = Math.fround(x3);
        }
        pot[base + c] += x0;
        pot[base + c + 1] += x1;
        pot[base + c + 2] += x2;
        pot[base + c + 3] += x3;
      }
      j = end;
    }
    if (!check) return -1;
    let best = -1;
    let bestV = -Infinity;
    for (let c = 0; c < maps; c++) {
      const x = pot[base + c];
      // >= so that an exact tie goes to the higher map
      if (x > threshold && x >= bestV) {
        bestV = x;
        best = c;
      }
    }
    return best;
  }
}

let wasmModule: WebAssembly.Module | null | undefined;

/** The compiled SIMD kernel, or null where this JavaScript engine cannot run it. */
export function wasmKernelModule(): WebAssembly.Module | null {
  if (wasmModule === undefined) {
    try {
      wasmModule = new WebAssembly.Module(Buffer.from(WASM_BASE64, 'base64'));
    } catch {
      wasmModule = null;
    }
  }
  return wasmModule;
}

/** A compiled kernel's calls (WebAssembly's exports; the native ones bound to their kernel). */
interface KernelCalls {
  setMaxDeferred(n: number): void;
  setCandidateSum(h: number): void;
  forgetBounds(): void;
  beginSample(sample: number): void;
  /** `src`: the byte offset of the bin's sources in the memory. */
  step(src: number, n: number, bin: number): number;
  settle(pos: number): number;
  settleAll(): void;
}

interface WasmExports extends KernelCalls {
  configure(...args: number[]): void;
}

/** The maps of a layer rounded up to the kernel's pass width (8). */
export function paddedMaps(maps: number): number {
  return Math.ceil(maps / 8) * 8;
}

/** The most taps a map's kernel may have for the native kernel (MAX_TAPS in integrate.c). */
export const NATIVE_MAX_TAPS = 0x7fff;

/** The vectors of the native kernel, widest first (x86-64: AVX-512 F+BW, AVX2; elsewhere scalar). */
export type NativeSimd = 'avx512' | 'avx2' | 'scalar';
export const SIMD_LEVEL: Record<NativeSimd, number> = { avx512: 3, avx2: 2, scalar: 0 };

/** The native kernel's functions (integrate.c); `k` is a kernel's handle. */
export interface NativeKernelModule {
  /** The widest vectors available here, as a {@link SIMD_LEVEL} value. */
  simd(): number;
  /** The first byte offset in `memory` at a multiple of `bytes` (a power of two) in the address space. */
  alignment(memory: ArrayBuffer, bytes: number): number;
  create(memory: ArrayBuffer, offsets: number[], tpm: number, mp: number, maps: number, round: number, threshold: number, restV: number, simd: number, positions: number, sources: number): object;
  step(k: object, src: number, n: number, bin: number): number;
  beginSample(k: object, sample: number): void;
  settle(k: object, pos: number): number;
  settleAll(k: object): void;
  setMaxDeferred(k: object, n: number): void;
  setCandidateSum(k: object, h: number): void;
  forgetBounds(k: object): void;
  runBins(k: object, sources: Int32Array, binStart: Int32Array, timeBins: number, bin: number, neuron: Int32Array, time: Float64Array, spikeV: Float64Array, spikedMap: Int32Array): number;
  setLog(k: object, neuron: Int32Array, time: Float64Array, spikeV: Float64Array, spikedMap: Int32Array): void;
  stepLog(k: object, src: number, n: number, bin: number, first: number, time: number): number;
  setLearner(k: object, weights: Float64Array, mapLargest: Float64Array, winners: Int32Array, winnerTimes: Float64Array, state: Float64Array, mapUsed: Uint8Array, inhibited: Uint8Array, spikeTime: Int32Array, ramp: Float64Array, ints: Int32Array, doubles: Float64Array): void;
  stepLearn(k: object, src: number, n: number, bin: number, first: number, time: number, learningRate: number, applications: number, winnersAt: number): number;
  /** encoder.ts's rankOrderEncode (see there): the number of spikes. `simd` caps the vectors ({@link SIMD_LEVEL}; tests narrow it). */
  rankOrderEncode(pixels: Uint8Array, timeBins: number, out: Int32Array, simd: number): number;
  /**
   * Engine.runSample's input stage (see there): the input layer's spike time per neuron and its
   * log, and the spikes by bin; the number of spikes, or −1 (nothing written) for a time out of
   * range. `simd` as for rankOrderEncode.
   */
  inputSample(spikeTimes: Int32Array, timeBins: number, spikeTime: Int32Array, neuron: Int32Array, time: Float64Array, binStart: Int32Array, byBin: Int32Array, simd: number): number;
  /** A pool layer's handle over its memory (see {@link createNativePool}). */
  poolCreate(memory: ArrayBuffer, offsets: number[], inPerMap: number, outPerMap: number, inNeurons: number): object;
  poolRunBins(pool: object, sources: Int32Array, binStart: Int32Array, timeBins: number, sample: number, serial: number, count: number): number;
  /** The solver's shuffle of index[0 … n), drawing from SeededRandom's state words (advanced in place). */
  shuffleActive(index: Int32Array, n: number, state: Uint32Array): void;
  /** The linear readout's scores of binary features, classes side by side (see linear-svm.ts); -1 for an index outside [0, cols). */
  readoutScores(offsets: Int32Array, indices: Int32Array, transposedWeights: Float64Array, cols: number, classes: number, out: Float64Array): number;
  /** One pass of the readout's dual coordinate descent (see linear-svm.ts); returns the new active size. */
  svmPass(index: Int32Array, activeSize: number, offsets: Int32Array, indices: Uint16Array, y: Int8Array, alpha: Float64Array, qd: Float64Array, w: Float64Array, diag: number, pgMaxOld: number, extremes: Float64Array): number;
}

let nativeModule: NativeKernelModule | null | undefined;
let nativeMissing = '';

/**
 * The native kernel (build/Release/evspike_kernel.node, built by `npm run build` where a C
 * compiler is found), or null where it was not built or does not load here.
 */
export function nativeKernelModule(): NativeKernelModule | null {
  if (nativeModule === undefined) {
    // the package root, from src/neurons/kernels and from dist/neurons/kernels alike
    const file = new URL('../../../build/Release/evspike_kernel.node', import.meta.url);
    try {
      nativeModule = createRequire(import.meta.url)(file.pathname) as NativeKernelModule;
    } catch (e) {
      nativeModule = null;
      nativeMissing = (e as Error).message.split('\n')[0];
    }
  }
  return nativeModule;
}

/**
 * The native kernel's module where `choice` resolves to it ({@link resolveKernel}), else null:
 * for the other stages of a sample it runs natively (the encoder, the input, the pool), so
 * that the JavaScript and WebAssembly choices run none of it.
 */
export function nativeFor(choice: KernelChoice): NativeKernelModule | null {
  return resolveKernel(choice) === 'native' ? nativeKernelModule() : null;
}

/** A pool layer's loop over a sample's bins in the native kernel (PoolLayer.runBins'). */
export interface NativePool {
  /**
   * The bins of `sources` (see RuntimeLayer.runBins) from bin serial `serial` on, the log
   * holding `count` spikes: returns the log's new count, or -2 (nothing changed) when a source
   * is not a presynaptic neuron; the synaptic and fan-out events and the last serial are left
   * in the memory's result region.
   */
  runBins(sources: Int32Array, binStart: Int32Array, timeBins: number, sample: number, serial: number, count: number): number;
}

/**
 * The native loop of a pool layer whose tables and state lie in `memory` at `offsets` (start,
 * target, firedSample, pendingBin, pending, fireTime, log neurons, log times, result; see
 * pool.ts), or null without the native kernel. The kernel checks the tables once, here.
 */
export function createNativePool(memory: ArrayBuffer, offsets: number[], inPerMap: number, outPerMap: number, inNeurons: number): NativePool | null {
  const native = nativeKernelModule();
  if (native === null) return null;
  const handle = native.poolCreate(memory, offsets, inPerMap, outPerMap, inNeurons);
  return { runBins: (sources, binStart, timeBins, sample, serial, count) => native.poolRunBins(handle, sources, binStart, timeBins, sample, serial, count) };
}

/** The widest vectors the native kernel uses here, or null without the native kernel. */
export function nativeSimd(): NativeSimd | null {
  const native = nativeKernelModule();
  if (native === null) return null;
  const level = native.simd();
  return (Object.keys(SIMD_LEVEL) as NativeSimd[]).find((name) => SIMD_LEVEL[name] <= level) ?? 'scalar';
}

/**
 * The implementation `choice` selects here. `auto`: the EVSPIKE_KERNEL environment variable
 * where it is set (native, wasm or js: one switch for every engine of a process and its
 * workers, as the mutation check uses it), else native, else WebAssembly, else JavaScript.
 */
export function resolveKernel(choice: KernelChoice): KernelName {
  const forced = process.env.EVSPIKE_KERNEL;
  if (choice === 'auto' && forced !== undefined && forced !== '' && forced !== 'auto') {
    if (!(KERNEL_CHOICES as readonly string[]).includes(forced)) throw new OptionError('EVSPIKE_KERNEL', forced, `one of ${KERNEL_CHOICES.map((k) => JSON.stringify(k)).join(', ')}`);
    return resolveKernel(forced as KernelChoice);
  }
  if (choice === 'js') return 'js';
  if (choice === 'native' || choice === 'auto') {
    if (nativeKernelModule() !== null) return 'native';
    if (choice === 'native') throw new KernelUnavailableError('native', `the native kernel was not built or does not load (${nativeMissing}); run npm run build with a C compiler`);
  }
  if (wasmKernelModule() !== null) return 'wasm';
  if (choice === 'wasm') throw new KernelUnavailableError('wasm', 'this JavaScript engine cannot run WebAssembly SIMD');
  return 'js';
}

/**
 * Allocate a conv layer's kernel state and return its kernel: {@link resolveKernel}'s choice,
 * which throws {@link KernelUnavailableError} for a `native` or `wasm` that is not available.
 * @param simd the native kernel's widest vectors (default: the widest available; tests
 *   narrow it to check the other variants)
 */
export function createConvKernel(g: ConvKernelGeometry, choice: KernelChoice = 'auto', simd: NativeSimd = 'avx512'): ConvKernel {
  let kernel = resolveKernel(choice);
  if (kernel === 'native' && g.tapsPerMap > NATIVE_MAX_TAPS) {
    // the native kernel records a tap in 16 bits; `auto` takes the next kernel instead
    if (choice === 'native') throw new KernelUnavailableError('native', `a map's kernel of ${g.tapsPerMap} taps is more than the native kernel takes (${NATIVE_MAX_TAPS})`);
    kernel = wasmKernelModule() !== null ? 'wasm' : 'js';
  }
  const mp = paddedMaps(g.maps);
  // Each region starts on a 64-byte boundary (a cache line: the native kernel's rows of
  // potentials and weights then never straddle two).
  const offsets: number[] = [];
  let total = 0;
  for (const size of regions(g, mp)) {
    offsets.push(total);
    total += Math.ceil(size / 64) * 64;
  }
  if (kernel === 'js') return new JsConvKernel(g, mp, layout(g, mp, new ArrayBuffer(total), offsets));
  const configuration = [g.tapsPerMap, mp, g.maps, g.roundToFloat32 ? 1 : 0, g.threshold, g.restV] as const;
  if (kernel === 'native') {
    const native = nativeKernelModule()!;
    // the regions from the memory's first 64-byte boundary on (an ArrayBuffer's own is 16)
    const memory = new ArrayBuffer(total + 64);
    const shift = native.alignment(memory, 64);
    for (let i = 0; i < offsets.length; i++) offsets[i] += shift;
    const v = layout(g, mp, memory, offsets);
    const k = native.create(memory, offsets.slice(0, 22), ...configuration, SIMD_LEVEL[simd], g.positions, g.connectivity.start.length - 1);
    return new CompiledConvKernel(kernel, mp, v, new NativeCalls(native, k), offsets[16]);
  }
  const wasmMemory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(total / 65536)) });
  const wasm = new WebAssembly.Instance(wasmKernelModule()!, { env: { memory: wasmMemory } }).exports as unknown as WasmExports;
  const v = layout(g, mp, wasmMemory.buffer, offsets);
  wasm.configure(...offsets.slice(0, 16), ...offsets.slice(17, 22), ...configuration);
  return new CompiledConvKernel(kernel, mp, v, wasm, offsets[16]);
}

/** The native kernel's calls on one kernel's handle (a class for the reason {@link Views} is). */
class NativeCalls implements KernelCalls {
  constructor(
    private readonly native: NativeKernelModule,
    private readonly k: object,
  ) {}

  beginSample(sample: number): void {
    this.native.beginSample(this.k, sample);
  }
  step(src: number, n: number, bin: number): number {
    return this.native.step(this.k, src, n, bin);
  }
  settle(pos: number): number {
    return this.native.settle(this.k, pos);
  }
  settleAll(): void {
    this.native.settleAll(this.k);
  }
  setMaxDeferred(n: number): void {
    this.native.setMaxDeferred(this.k, n);
  }
  setCandidateSum(h: number): void {
    this.native.setCandidateSum(this.k, h);
  }
  forgetBounds(): void {
    this.native.forgetBounds(this.k);
  }
  runBins(sources: Int32Array, binStart: Int32Array, timeBins: number, bin: number, neuron: Int32Array, time: Float64Array, spikeV: Float64Array, spikedMap: Int32Array): number {
    return this.native.runBins(this.k, sources, binStart, timeBins, bin | 0, neuron, time, spikeV, spikedMap);
  }
  setLog(neuron: Int32Array, time: Float64Array, spikeV: Float64Array, spikedMap: Int32Array): void {
    this.native.setLog(this.k, neuron, time, spikeV, spikedMap);
  }
  stepLog(src: number, n: number, bin: number, first: number, time: number): number {
    return this.native.stepLog(this.k, src, n, bin, first, time);
  }
  setLearner(l: KernelLearner): void {
    const { source, rule } = l;
    // the order integrate.c's setLearner reads them in
    const ints = Int32Array.from([...l.geometry, source.timeBins, ...rule.integers]);
    const [restV, thresholdV, weightMin, weightMax, potentiation, depression, learningRateMax] = rule.numbers;
    const doubles = Float64Array.from([l.paddingV, source.restV, source.resetV, restV, thresholdV, weightMin, weightMax, potentiation, depression, learningRateMax]);
    this.native.setLearner(this.k, l.weights, l.mapLargest, l.winners, l.winnerTimes, l.state, l.mapUsed, l.inhibited, source.spikeTime, source.ramp, ints, doubles);
  }
  stepLearn(src: number, n: number, bin: number, first: number, time: number, learningRate: number, applications: number, winnersAt: number): number {
    return this.native.stepLearn(this.k, src, n, bin, first, time, learningRate, applications, winnersAt);
  }
}

/** The native kernel's {@link LogSteps}, its sources at `sourcesAt` in the memory. */
class NativeLogSteps implements LogSteps {
  constructor(
    private readonly calls: NativeCalls,
    private readonly sourcesAt: number,
  ) {}
  setLog(neuron: Int32Array, time: Float64Array, spikeV: Float64Array, spikedMap: Int32Array): void {
    this.calls.setLog(neuron, time, spikeV, spikedMap);
  }
  stepLog(n: number, bin: number, first: number, time: number): number {
    return this.calls.stepLog(this.sourcesAt, n, bin | 0, first, time);
  }
  setLearner(learner: KernelLearner): void {
    this.calls.setLearner(learner);
  }
  stepLearn(n: number, bin: number, first: number, time: number, learningRate: number, applications: number, winnersAt: number): number {
    return this.calls.stepLearn(this.sourcesAt, n, bin | 0, first, time, learningRate, applications, winnersAt);
  }
}

/** A WebAssembly or native kernel: {@link ConvKernel} over its calls and memory. */
class CompiledConvKernel extends KernelArrays implements ConvKernel {
  readonly runBins: ConvKernel['runBins'];
  readonly logSteps: LogSteps | undefined;

  /** @param sourcesAt the byte offset of {@link sources} in the memory */
  constructor(
    readonly kernel: KernelName,
    mapsPadded: number,
    v: Views,
    private readonly calls: KernelCalls,
    private readonly sourcesAt: number,
  ) {
    super(mapsPadded, v);
    this.runBins = calls instanceof NativeCalls ? calls.runBins.bind(calls) : undefined;
    this.logSteps = calls instanceof NativeCalls ? new NativeLogSteps(calls, sourcesAt) : undefined;
  }

  beginSample(sample: number): void {
    this.calls.beginSample(sample | 0);
  }
  step(n: number, bin: number): number {
    return this.calls.step(this.sourcesAt, n, bin | 0);
  }
  settle(pos: number): PositionState {
    return this.calls.settle(pos) as PositionState;
  }
  settleAll(): void {
    this.calls.settleAll();
  }
  setMaxDeferred(n: number): void {
    this.calls.setMaxDeferred(n);
  }
  setCandidateSum(h: number): void {
    this.calls.setCandidateSum(h);
  }
  forgetBounds(): void {
    this.calls.forgetBounds();
  }
}
