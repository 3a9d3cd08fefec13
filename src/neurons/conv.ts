/**
 * The single-spike integrate-and-fire (SSIF) convolutional layer with per-position lateral
 * inhibition (SPEC §3) and winner-take-all learning (SPEC §4), driven event by event. The
 * learning rule is a value the layer is given (VDSP, STDP, …): the layer selects the winners
 * and gathers their receptive fields' potentials; the rule updates the kernels.
 *
 * Only positions that receive an input spike are touched. The per-bin work (delivery, integration,
 * threshold and inhibition per position) is one call of the conv kernel (kernels/integrate.ts),
 * which keeps the state struct-of-arrays, the potentials of one position contiguous
 * (`[position][map]`) and the integration weights transposed to `[tap][map]`, resets it lazily
 * with sample stamps (starting a sample costs nothing per neuron), and skips integrating
 * positions that cannot cross yet (exactly: the potentials come out bit-identical).
 *
 * Because of lateral inhibition a position dies as a whole: the first spike at a position makes
 * every map there inactive for the rest of the sample. The layer therefore keeps one
 * "dead" flag per position rather than one per neuron.
 */
import { EvspikeError } from '../errors.js';
import type { LearningRule } from '../plasticity/rule.js';
import { createLearningRule } from '../plasticity/rules.js';
import { createWinnerMask, resetWinnerMask, selectWinners, type WinnerMask } from '../plasticity/winners.js';
import type { Connectivity, LayerCounts, PresynapticLayer, SpikeLog, TrainableLayer } from './layer.js';
import { createSpikeLog, runBinsByCalls } from './layer.js';
import type { ResolvedConvLayer } from './kinds/conv.js';
import {
  ADDITIONS,
  ALIVE,
  APPLIED,
  AT_REST,
  boundLevels,
  candidateLevelSum,
  createConvKernel,
  deferrableTaps,
  FANOUT,
  weightLevel,
  type ConvKernel,
  type KernelChoice,
  type KernelName,
  type LogSteps,
} from './kernels/integrate.js';

/**
 * Along one axis, the kernel offsets d (ascending) through which input coordinate i reaches an
 * output coordinate o = (i + padding − d) / stride < `out`: `d` and `o` of input i at
 * [start[i], start[i + 1]).
 */
function axisTaps(size: number, out: number, spec: ResolvedConvLayer): { start: Int32Array; d: Int32Array; o: Int32Array } {
  const k = spec.kernelSize;
  const start = new Int32Array(size + 1);
  const d = new Int32Array(size * k);
  const o = new Int32Array(size * k);
  let n = 0;
  for (let i = 0; i < size; i++) {
    start[i] = n;
    for (let dd = 0; dd < k; dd++) {
      const at = i + spec.padding - dd;
      if (at < 0 || at % spec.stride !== 0 || at / spec.stride >= out) continue;
      d[n] = dd;
      o[n++] = at / spec.stride;
    }
  }
  start[size] = n;
  return { start, d, o };
}

/** Build the source-neuron → (position, tap) connectivity of a conv layer; payloads are tap indices. */
export function convConnectivity(spec: ResolvedConvLayer): Connectivity {
  const { channels: inChannels, height: inH, width: inW } = spec.inShape;
  const { height: outH, width: outW } = spec.outShape;
  const k = spec.kernelSize;
  const ys = axisTaps(inH, outH, spec);
  const xs = axisTaps(inW, outW, spec);
  let perChannel = 0;
  for (let iy = 0; iy < inH; iy++) for (let ix = 0; ix < inW; ix++) perChannel += (ys.start[iy + 1] - ys.start[iy]) * (xs.start[ix + 1] - xs.start[ix]);
  const sources = inChannels * inH * inW;
  const start = new Int32Array(sources + 1);
  const target = new Int32Array(inChannels * perChannel);
  const payload = new Int32Array(inChannels * perChannel);
  let n = 0;
  for (let ci = 0; ci < inChannels; ci++) {
    for (let iy = 0; iy < inH; iy++) {
      for (let ix = 0; ix < inW; ix++) {
        start[(ci * inH + iy) * inW + ix] = n;
        for (let a = ys.start[iy]; a < ys.start[iy + 1]; a++) {
          for (let b = xs.start[ix]; b < xs.start[ix + 1]; b++) {
            target[n] = ys.o[a] * outW + xs.o[b];
            payload[n++] = (ci * k + ys.d[a]) * k + xs.d[b];
          }
        }
      }
    }
  }
  start[sources] = n;
  return { start, target, payload };
}

export class ConvLayer implements TrainableLayer {
  readonly outShape;
  /** Weights W[map][inChannel][dy][dx], float64, in [w_min, w_max]. */
  readonly weights: Float64Array;
  /** Spikes of the current sample (flat index map·H·W + y·W + x). */
  readonly spikes: SpikeLog;
  /** Potential of each logged spike before reset (what winner selection reads). */
  readonly spikeV: Float64Array;
  /** Winners of the current sample, flat indices, in the order VDSP was applied. */
  readonly winners: SpikeLog;
  readonly counts: LayerCounts;
  /** The learning rule and its state (learning rate, applications so far). */
  readonly learning: LearningRule;
  /** The integration kernel in use. */
  get kernel(): KernelName {
    return this.step.kernel;
  }

  private readonly maps: number;
  private readonly positions: number;
  private readonly tapsPerMap: number;
  private readonly roundToFloat32: boolean;
  private readonly step: ConvKernel;
  /** The kernel's steps that write the log too, where it has them (the native kernel). */
  private readonly logSteps: LogSteps | undefined;
  /** Row length of the kernel's potentials and integration weights (maps padded to 8). */
  private readonly stride: number;
  private readonly potential: Float64Array;
  private readonly integrationWeights: Float64Array;
  /** The kernel's integer bounds of the integration weights ({@link weightLevel}). */
  private readonly weightLevels: Uint16Array;
  private readonly levels: number;
  private readonly sources: Int32Array;
  private sourceCount = 0;
  /** The map that spiked at each position (valid where the kernel says the position spiked). */
  private readonly spikedMap: Int32Array;
  /** The largest integration weight of each map, for the skipping bounds. */
  private readonly mapLargest: Float64Array;
  /** Taps a position may receive while it cannot cross (0 without skipping); see {@link refreshBounds}. */
  private deferrable = 0;
  /** What the kernel skips now: {@link deferrable}, or 0 in a learning sample. */
  private deferring = 0;
  /** Whether the weights changed since the bounds were taken from them. */
  private boundsStale = true;
  /** Whether a position of this sample may hold taps not integrated yet. */
  private pending = false;
  /**
   * Whether the weights were set in the middle of this sample: its potentials so far come from
   * the old weights, which the new bounds do not bound, so the rest of it skips nothing.
   */
  private unbounded = false;
  private readonly mask: WinnerMask;
  /**
   * Where the kernel learns itself (the native kernel, a rule it implements, the input layer
   * before): what its stepLearn writes of each bin (winners, learning rate, applications).
   */
  private readonly kernelLearns: Float64Array | undefined;
  private readonly winnerOrder: Int32Array;
  private readonly binWinners: Int32Array;
  private readonly presynapticV: Float64Array;
  private binSerial = 0;
  private binTime = Number.NaN;

  /**
   * @param skipping skip integrating positions that cannot cross yet (results are identical
   *   either way; off, every touched position is integrated at the end of every bin)
   */
  constructor(
    readonly spec: ResolvedConvLayer,
    readonly source: PresynapticLayer,
    readonly restV: number,
    readonly resetV: number,
    weights: Float64Array,
    kernel: KernelChoice = 'auto',
    readonly skipping = true,
  ) {
    this.outShape = spec.outShape;
    this.maps = spec.maps;
    this.positions = spec.outShape.height * spec.outShape.width;
    this.tapsPerMap = spec.inShape.channels * spec.kernelSize * spec.kernelSize;
    if (weights.length !== this.maps * this.tapsPerMap) {
      throw new RangeError(`conv layer ${spec.index}: ${weights.length} weights for ${this.maps} maps of ${this.tapsPerMap} taps`);
    }
    this.weights = weights;
    this.roundToFloat32 = spec.precision === 'float32';
    this.step = createConvKernel(
      {
        positions: this.positions,
        maps: this.maps,
        tapsPerMap: this.tapsPerMap,
        connectivity: convConnectivity(spec),
        roundToFloat32: this.roundToFloat32,
        threshold: spec.thresholdV,
        restV,
      },
      kernel,
    );
    this.stride = this.step.mapsPadded;
    this.potential = this.step.potential;
    this.integrationWeights = this.step.weights;
    this.weightLevels = this.step.weightLevels;
    this.levels = boundLevels(this.tapsPerMap);
    this.mapLargest = new Float64Array(this.maps);
    this.sources = this.step.sources;
    // the counts as the kernel keeps them (the additions include integrations after the last bin)
    const counters = this.step.counters;
    const maps = this.maps;
    this.counts = {
      spikes: 0,
      get synapticEvents() {
        return counters[APPLIED] * maps;
      },
      get fanoutEvents() {
        return counters[FANOUT] * maps;
      },
      get additions() {
        return counters[ADDITIONS];
      },
    };
    for (let m = 0; m < this.maps; m++) this.refreshIntegrationWeights(m);
    this.spikes = createSpikeLog(this.positions);
    this.spikedMap = new Int32Array(this.positions);
    this.spikeV = new Float64Array(this.positions);
    this.logSteps = this.step.logSteps;
    this.logSteps?.setLog(this.spikes.neuron, this.spikes.time, this.spikeV, this.spikedMap);
    this.winners = createSpikeLog(this.maps);
    this.mask = createWinnerMask(this.maps, spec.outShape.height, spec.outShape.width);
    this.winnerOrder = new Int32Array(this.positions);
    this.binWinners = new Int32Array(this.maps);
    this.presynapticV = new Float64Array(this.tapsPerMap);
    this.learning = createLearningRule(spec.learning, { restV, thresholdV: spec.thresholdV, weightMin: spec.weightMin, weightMax: spec.weightMax, precision: spec.precision });
    const rule = this.learning.native;
    const table = source.potentialTable;
    if (this.logSteps !== undefined && rule !== undefined && table !== undefined) {
      const state = new Float64Array(3);
      const { inShape, kernelSize, stride, padding } = spec;
      this.logSteps.setLearner({
        weights: this.weights,
        mapLargest: this.mapLargest,
        winners: this.winners.neuron,
        winnerTimes: this.winners.time,
        state,
        mapUsed: this.mask.mapUsed,
        inhibited: this.mask.inhibited,
        source: table,
        geometry: [spec.outShape.height, spec.outShape.width, spec.winners, spec.inhibitionRadius, inShape.channels, inShape.height, inShape.width, kernelSize, stride, padding],
        paddingV: restV,
        rule,
      });
      this.kernelLearns = state;
    }
  }

  /**
   * Copy new weights in (same layout as {@link weights}) and refresh the integration copy. In
   * the middle of a sample (from a spike subscriber) the taps received so far keep the old
   * weights and the later ones take the new; the rest of that sample skips nothing.
   */
  setWeights(weights: ArrayLike<number>): void {
    if (weights.length !== this.weights.length) {
      throw new RangeError(`conv layer ${this.spec.index}: expected ${this.weights.length} weights, got ${weights.length}`);
    }
    for (let i = 0; i < weights.length; i++) {
      if (!Number.isFinite(weights[i])) throw new RangeError(`conv layer ${this.spec.index}: weight ${i} is ${weights[i]}, not a finite number`);
    }
    // taps already received were received under the old weights
    this.step.settleAll();
    this.unbounded = true;
    for (let i = 0; i < weights.length; i++) this.weights[i] = weights[i];
    for (let m = 0; m < this.maps; m++) this.refreshIntegrationWeights(m);
  }

  /** Start a sample: every neuron at rest and active, the winner mask cleared. */
  beginSample(sample: number): void {
    this.binTime = Number.NaN;
    this.sourceCount = 0;
    this.spikes.count = 0;
    this.winners.count = 0;
    this.counts.spikes = 0;
    this.step.beginSample(sample);
    this.pending = false;
    this.unbounded = false;
    resetWinnerMask(this.mask);
  }

  /**
   * Deliver a spike of source neuron `src` in bin `time`. The work waits for the end of the bin
   * ({@link closeBin}), where the kernel takes the bin's spikes in arrival order.
   * @returns true when this opens a new bin for the layer (the engine then schedules its end)
   */
  deliver(src: number, time: number): boolean {
    let opened = false;
    if (time !== this.binTime) {
      this.binTime = time;
      this.sourceCount = 0;
      opened = true;
    }
    // the kernel reads these as indices of its memory: a presynaptic layer that emits a neuron
    // it does not have, or one neuron twice in a bin, is an error here, not a wild read there
    if (!(src >= 0 && src < this.sources.length && this.sourceCount < this.sources.length)) {
      throw new EvspikeError(`conv layer ${this.spec.index}: ${this.sourceCount < this.sources.length ? `presynaptic neuron ${src} does not exist (${this.sources.length} neurons)` : 'more input spikes in one bin than presynaptic neurons (one spiked twice)'}`);
    }
    this.sources[this.sourceCount++] = src;
    return opened;
  }

  /**
   * End the current bin: the kernel delivers the bin's spikes to the still-active positions they
   * reach and integrates each position's input of the bin (the float64 sum of the integration
   * weights of the taps that received a spike, in arrival order, rounded once to float32 in
   * float32 mode) into its potentials, with threshold and lateral inhibition per position;
   * then, when learning, winners are selected and the rule applied. The bin's spikes are
   * appended to {@link spikes}.
   * @returns the index in {@link spikes} of the bin's first spike
   */
  closeBin(learn: boolean): number {
    const time = this.binTime;
    const log = this.spikes;
    const first = log.count;
    // never 0 (the kernel's initial stamp), different for every bin
    this.binSerial = this.binSerial === 0xffffffff ? 1 : this.binSerial + 1;
    // In a learning sample every position must be integrated before the weights change, so
    // skipping would only add the bookkeeping: the kernel integrates at every bin instead.
    if (!learn && this.boundsStale) this.refreshBounds();
    const deferring = learn || this.unbounded ? 0 : this.deferrable;
    if (deferring !== this.deferring) {
      this.step.setMaxDeferred(deferring);
      this.deferring = deferring;
    }
    if (deferring > 0) this.pending = true;
    // the kernel's step, and the bin's spikes appended to the log: by the kernel where it keeps
    // the log (the native one), else here; and learning, by the kernel where it learns (no
    // taps held back from before: those would need integrating under the old weights first)
    let spiked = -4;
    const learns = this.kernelLearns;
    if (learn && learns !== undefined && !this.pending) {
      const rule = this.learning;
      // −4: the time is not one of the input's bins, and nothing was done: the step below
      spiked = this.logSteps!.stepLearn(this.sourceCount, this.binSerial, first, time, rule.learningRate, rule.applications, this.winners.count);
      if (spiked === -5) throw new EvspikeError(`conv layer ${this.spec.index}: more winners in one sample than maps (the winners' log is off)`);
      if (spiked >= 0 && learns[0] > 0) {
        rule.learningRate = learns[1];
        rule.applications = learns[2];
        this.winners.count += learns[0];
        this.mask.count += learns[0];
        this.boundsStale = true;
      }
    }
    const learned = spiked !== -4;
    if (!learned) spiked = this.logSteps !== undefined ? this.logSteps.stepLog(this.sourceCount, this.binSerial, first, time) : this.step.step(this.sourceCount, this.binSerial);
    if (spiked === -3) throw new EvspikeError(`conv layer ${this.spec.index}: more spikes in one sample than positions (a position spiked twice)`);
    if (spiked < 0) {
      throw this.overflowError();
    }
    this.sourceCount = 0;
    if (this.logSteps === undefined) this.appendSpikes(first, spiked, time);
    log.count = first + spiked;
    if (learn && !learned && log.count > first) this.learnFromBin(first, log.count, time);
    // Lateral inhibition and reset (the winner at a position to v_reset, the others to v_rest)
    // need no writes: the position is dead, and potentialAt answers from spikedMap.
    this.counts.spikes = log.count;
    return first;
  }

  /**
   * The step's `spiked` spikes appended to the log from `first`, in ascending flat index, each
   * with its potential and time `time` (what the native kernel's stepLog does).
   */
  private appendSpikes(first: number, spiked: number, time: number): void {
    const log = this.spikes;
    const potential = this.potential;
    const stride = this.stride;
    const { spikePos, spikeMap } = this.step;
    const positions = this.positions;
    const { neuron } = log;
    const spikeV = this.spikeV;
    // the bin's spikes in ascending flat index, each with its potential (an insertion sort of
    // the pairs as they come: a bin holds a few dozen)
    for (let i = 0; i < spiked; i++) {
      const pos = spikePos[i];
      const map = spikeMap[i];
      const flat = map * positions + pos;
      const v = potential[pos * stride + map];
      let j = first + i - 1;
      for (; j >= first && neuron[j] > flat; j--) {
        neuron[j + 1] = neuron[j];
        spikeV[j + 1] = spikeV[j];
      }
      neuron[j + 1] = flat;
      spikeV[j + 1] = v;
      log.time[first + i] = time;
      this.spikedMap[pos] = map;
    }
  }

  /**
   * Every bin of a sample that does not learn, in one call of the kernel where it has one (the
   * native kernel), else bin by bin: the same spikes, counts and state as {@link deliver} and
   * {@link closeBin} per bin.
   */
  runBins(sources: Int32Array, binStart: Int32Array, timeBins: number): void {
    const run = this.step.runBins;
    const log = this.spikes;
    if (run === undefined || log.count !== 0 || this.unbounded) {
      runBinsByCalls(this, sources, binStart, timeBins);
      return;
    }
    if (this.boundsStale) this.refreshBounds();
    if (this.deferrable !== this.deferring) {
      this.step.setMaxDeferred(this.deferrable);
      this.deferring = this.deferrable;
    }
    let bins = 0;
    let lastBin = Number.NaN;
    for (let t = 0; t < timeBins; t++) {
      if (binStart[t + 1] > binStart[t]) {
        bins++;
        lastBin = t;
      }
    }
    if (bins === 0) return;
    if (this.deferring > 0) this.pending = true;
    const spikes = run(sources, binStart, timeBins, this.binSerial, log.neuron, log.time, this.spikeV, this.spikedMap);
    if (spikes === -2) {
      let bad = binStart[0];
      while (sources[bad] >= 0 && sources[bad] < this.sources.length) bad++;
      throw new EvspikeError(`conv layer ${this.spec.index}: presynaptic neuron ${sources[bad]} does not exist (${this.sources.length} neurons)`);
    }
    if (spikes === -3) throw new EvspikeError(`conv layer ${this.spec.index}: more spikes in one sample than positions (a position spiked twice)`);
    if (spikes < 0) throw this.overflowError();
    // the serials the kernel gave the bins, as closeBin counts them
    for (let b = 0; b < bins; b++) this.binSerial = this.binSerial === 0xffffffff ? 1 : this.binSerial + 1;
    this.binTime = lastBin;
    log.count = spikes;
    this.counts.spikes = spikes;
  }

  private overflowError(): EvspikeError {
    return new EvspikeError(`conv layer ${this.spec.index}: a position received more input spikes in one sample than its kernel has taps (a presynaptic neuron spiked twice)`);
  }

  /** Potential of neuron `flat` at the end of bin `time` (only the latest bin is kept). */
  potentialAt(flat: number, _time: number): number {
    const map = (flat / this.positions) | 0;
    const pos = flat - map * this.positions;
    const state = this.step.settle(pos);
    // untouched: at rest (its row may hold another sample's); spiked: rest, the spiking map at v_reset
    if (state === ALIVE) return this.potential[pos * this.stride + map];
    return state === AT_REST || map !== this.spikedMap[pos] ? this.restV : this.resetV;
  }

  private learnFromBin(first: number, end: number, time: number): void {
    const spec = this.spec;
    const { height, width } = spec.outShape;
    const count = selectWinners(
      this.spikeV,
      this.spikes.neuron,
      first,
      end,
      height,
      width,
      spec.winners,
      spec.inhibitionRadius,
      this.mask,
      this.winnerOrder,
      this.binWinners,
    );
    // taps already received were received under the weights about to change
    if (count > 0 && this.pending) this.step.settleAll();
    for (let i = 0; i < count; i++) {
      const flat = this.binWinners[i];
      const map = (flat / this.positions) | 0;
      const pos = flat - map * this.positions;
      this.gatherPresynaptic((pos / width) | 0, pos % width, time);
      this.learning.apply(this.weights, map * this.tapsPerMap, this.presynapticV);
      this.refreshIntegrationWeights(map);
      this.winners.neuron[this.winners.count] = flat;
      this.winners.time[this.winners.count] = time;
      this.winners.count++;
    }
  }

  /** Potentials of the receptive field of position (y, x) at bin `time`; padding is at rest. */
  private gatherPresynaptic(y: number, x: number, time: number): void {
    const spec = this.spec;
    const { channels, height: inH, width: inW } = spec.inShape;
    const k = spec.kernelSize;
    let i = 0;
    for (let ci = 0; ci < channels; ci++) {
      for (let dy = 0; dy < k; dy++) {
        const iy = y * spec.stride + dy - spec.padding;
        for (let dx = 0; dx < k; dx++) {
          const ix = x * spec.stride + dx - spec.padding;
          this.presynapticV[i++] =
            iy < 0 || iy >= inH || ix < 0 || ix >= inW ? this.restV : this.source.potentialAt((ci * inH + iy) * inW + ix, time);
        }
      }
    }
  }

  private refreshIntegrationWeights(map: number): void {
    const stride = this.stride;
    const offset = map * this.tapsPerMap;
    let largest = -Infinity;
    for (let tap = 0; tap < this.tapsPerMap; tap++) {
      const w = this.weights[offset + tap];
      const x = this.roundToFloat32 ? Math.fround(w) : w;
      this.integrationWeights[tap * stride + map] = x;
      if (x > largest) largest = x;
    }
    this.mapLargest[map] = largest;
    // taken up at the next bin that does not learn
    this.boundsStale = true;
  }

  /**
   * Take the skipping bounds from the current weights: the taps a position may receive before
   * any map can cross, each integration weight's level and the level sum from which a map is a
   * candidate, all in steps of the largest weight; the kernel forgets the sums of levels it took
   * with the old ones. From the current weights alone, so that the work a sample takes (its
   * additions) does not depend on what the layer learned before.
   */
  private refreshBounds(): void {
    let largest = -Infinity;
    for (let m = 0; m < this.maps; m++) largest = Math.max(largest, this.mapLargest[m]);
    const { thresholdV } = this.spec;
    this.deferrable = this.skipping ? deferrableTaps(largest, this.restV, thresholdV, this.tapsPerMap) : 0;
    this.step.setCandidateSum(candidateLevelSum(largest, this.restV, thresholdV, this.levels, this.levels * this.tapsPerMap));
    for (let tap = 0; tap < this.tapsPerMap; tap++) {
      for (let m = 0; m < this.maps; m++) {
        const at = tap * this.stride + m;
        this.weightLevels[at] = weightLevel(this.integrationWeights[at], largest, this.levels);
      }
    }
    this.step.forgetBounds();
    this.boundsStale = false;
  }
}
