/**
 * The single-spike integrate-and-fire (SSIF) convolutional layer with per-position lateral
 * inhibition (SPEC §3) and winner-take-all learning (SPEC §4), driven event by event. The
 * learning rule is a value the layer is given (VDSP, STDP, …): the layer selects the winners
 * and gathers their receptive fields' potentials; the rule updates the kernels.
 *
 * Only positions that receive an input spike are touched. State is struct-of-arrays, with the
 * potentials of one position contiguous (`[position][map]`) so that the inner loop over maps
 * walks memory in order; the integration weights are transposed to `[tap][map]` for the same
 * reason. Per-sample state is reset lazily with sample stamps, so starting a sample costs
 * nothing per neuron.
 *
 * Because of lateral inhibition a position dies as a whole: the first spike at a position makes
 * every map there inactive for the rest of the sample. The layer therefore keeps one
 * "dead" flag per position rather than one per neuron.
 */
import type { LearningRule } from '../plasticity/rule.js';
import { createLearningRule } from '../plasticity/rules.js';
import { createWinnerMask, resetWinnerMask, selectWinners, type WinnerMask } from '../plasticity/winners.js';
import type { Connectivity, LayerCounts, PresynapticLayer, SpikeLog, TrainableLayer } from './layer.js';
import { createSpikeLog, sortBinSpikes } from './layer.js';
import type { ResolvedConvLayer } from './kinds/conv.js';
import { allocateConvBuffers, type ConvBuffers, type KernelChoice } from './kernels/integrate.js';

/** Build the source-neuron → (position, tap) connectivity of a conv layer. */
export function convConnectivity(spec: ResolvedConvLayer): Connectivity {
  const { channels: inChannels, height: inH, width: inW } = spec.inShape;
  const { height: outH, width: outW } = spec.outShape;
  const k = spec.kernelSize;
  const sources = inChannels * inH * inW;
  const start = new Int32Array(sources + 1);
  const targets: number[] = [];
  const payload: number[] = [];
  for (let ci = 0; ci < inChannels; ci++) {
    for (let iy = 0; iy < inH; iy++) {
      for (let ix = 0; ix < inW; ix++) {
        const src = (ci * inH + iy) * inW + ix;
        start[src] = targets.length;
        for (let dy = 0; dy < k; dy++) {
          const yy = iy + spec.padding - dy;
          if (yy < 0 || yy % spec.stride !== 0) continue;
          const y = yy / spec.stride;
          if (y >= outH) continue;
          for (let dx = 0; dx < k; dx++) {
            const xx = ix + spec.padding - dx;
            if (xx < 0 || xx % spec.stride !== 0) continue;
            const x = xx / spec.stride;
            if (x >= outW) continue;
            targets.push(y * outW + x);
            payload.push(((ci * k + dy) * k + dx) * spec.maps);
          }
        }
      }
    }
  }
  start[sources] = targets.length;
  return { start, target: Int32Array.from(targets), payload: Int32Array.from(payload) };
}

export class ConvLayer implements TrainableLayer {
  readonly outShape;
  /** Weights W[map][inChannel][dy][dx], float64, in [w_min, w_max]. */
  readonly weights: Float64Array;
  /** Potentials `[position][map]`; valid for positions stamped with the current sample. */
  readonly potential: Float64Array;
  /** Spikes of the current sample (flat index map·H·W + y·W + x). */
  readonly spikes: SpikeLog;
  /** Potential of each logged spike before reset (what winner selection reads). */
  readonly spikeV: Float64Array;
  /** Winners of the current sample, flat indices, in the order VDSP was applied. */
  readonly winners: SpikeLog;
  readonly counts: LayerCounts = { spikes: 0, synapticEvents: 0, fanoutEvents: 0 };
  /** The learning rule and its state (learning rate, applications so far). */
  readonly learning: LearningRule;
  /** The integration kernel in use. */
  get kernel(): 'wasm' | 'js' {
    return this.buffers.kernel;
  }

  private readonly maps: number;
  private readonly positions: number;
  private readonly tapsPerMap: number;
  private readonly roundToFloat32: boolean;
  private readonly integrationWeights: Float64Array;
  private readonly buffers: ConvBuffers;
  /** Per position, the weight offsets of the taps that received a spike in the current bin. */
  private readonly taps: Int32Array;
  private readonly tapCount: Int32Array;
  private readonly positionSample: Uint32Array;
  private readonly positionDead: Uint8Array;
  private readonly positionBin: Uint32Array;
  private readonly touched: Int32Array;
  private readonly best: Int32Array;
  private touchedCount = 0;
  private readonly connectivity: Connectivity;
  private readonly mask: WinnerMask;
  private readonly winnerOrder: Int32Array;
  private readonly binWinners: Int32Array;
  private readonly presynapticV: Float64Array;
  private sample = 0;
  private binSerial = 0;
  private binTime = Number.NaN;

  constructor(
    readonly spec: ResolvedConvLayer,
    readonly source: PresynapticLayer,
    readonly restV: number,
    readonly resetV: number,
    weights: Float64Array,
    kernel: KernelChoice = 'auto',
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
    this.buffers = allocateConvBuffers(this.positions, this.maps, this.tapsPerMap, kernel);
    this.integrationWeights = this.buffers.weights;
    for (let m = 0; m < this.maps; m++) this.refreshIntegrationWeights(m);
    this.potential = this.buffers.potential;
    this.taps = this.buffers.taps;
    this.tapCount = this.buffers.tapCount;
    this.best = this.buffers.best;
    this.positionSample = new Uint32Array(this.positions);
    this.positionDead = new Uint8Array(this.positions);
    this.positionBin = new Uint32Array(this.positions);
    this.touched = this.buffers.touched;
    this.spikes = createSpikeLog(this.positions);
    this.spikeV = new Float64Array(this.positions);
    this.winners = createSpikeLog(this.maps);
    this.connectivity = convConnectivity(spec);
    this.mask = createWinnerMask(this.maps);
    this.winnerOrder = new Int32Array(this.positions);
    this.binWinners = new Int32Array(this.maps);
    this.presynapticV = new Float64Array(this.tapsPerMap);
    this.learning = createLearningRule(spec.learning, { restV, thresholdV: spec.thresholdV, weightMin: spec.weightMin, weightMax: spec.weightMax, precision: spec.precision });
  }

  /** Copy new weights in (same layout as {@link weights}) and refresh the integration copy. */
  setWeights(weights: ArrayLike<number>): void {
    if (weights.length !== this.weights.length) {
      throw new RangeError(`conv layer ${this.spec.index}: expected ${this.weights.length} weights, got ${weights.length}`);
    }
    for (let i = 0; i < weights.length; i++) this.weights[i] = weights[i];
    for (let m = 0; m < this.maps; m++) this.refreshIntegrationWeights(m);
  }

  /** Start a sample: every neuron at rest and active, the winner mask cleared. */
  beginSample(sample: number): void {
    this.sample = sample;
    this.binTime = Number.NaN;
    this.touchedCount = 0;
    this.spikes.count = 0;
    this.winners.count = 0;
    this.counts.spikes = 0;
    this.counts.synapticEvents = 0;
    this.counts.fanoutEvents = 0;
    resetWinnerMask(this.mask);
  }

  /**
   * Deliver a spike of source neuron `src` in bin `time`. Integration is deferred to the end of
   * the bin: each still-active position it reaches records which kernel tap the spike arrived
   * on. A source neuron spikes at most once per sample, so a position records at most one entry
   * per tap in a bin.
   * @returns true when this opens a new bin for the layer (the engine then schedules its end)
   */
  deliver(src: number, time: number): boolean {
    let opened = false;
    if (time !== this.binTime) {
      this.binTime = time;
      this.binSerial = (this.binSerial + 1) >>> 0;
      this.touchedCount = 0;
      opened = true;
    }
    const { start, target, payload } = this.connectivity;
    const positionSample = this.positionSample;
    const positionDead = this.positionDead;
    const positionBin = this.positionBin;
    const tapCount = this.tapCount;
    const taps = this.taps;
    const tapsPerMap = this.tapsPerMap;
    const sample = this.sample;
    const bin = this.binSerial;
    const end = start[src + 1];
    let applied = 0;
    for (let k = start[src]; k < end; k++) {
      const pos = target[k];
      if (positionSample[pos] !== sample) this.resetPosition(pos);
      if (positionDead[pos] !== 0) continue;
      if (positionBin[pos] !== bin) {
        positionBin[pos] = bin;
        tapCount[pos] = 0;
        this.touched[this.touchedCount++] = pos;
      }
      taps[pos * tapsPerMap + tapCount[pos]++] = payload[k];
      applied++;
    }
    this.counts.synapticEvents += applied * this.maps;
    this.counts.fanoutEvents += (end - start[src]) * this.maps;
    return opened;
  }

  /**
   * End the current bin: integrate each touched position's input of the bin (the float64 sum of
   * the integration weights of the taps that received a spike, in arrival order, rounded once
   * to float32 in float32 mode) into its potentials, apply threshold and lateral inhibition per
   * position, and, when learning, select winners and apply VDSP. The bin's spikes are appended
   * to {@link spikes}.
   * @returns the index in {@link spikes} of the bin's first spike
   */
  closeBin(learn: boolean): number {
    const time = this.binTime;
    const maps = this.maps;
    const threshold = this.spec.thresholdV;
    const potential = this.potential;
    const log = this.spikes;
    const first = log.count;
    const touchedCount = this.touchedCount;
    this.buffers.integrate(touchedCount, maps, this.tapsPerMap, this.roundToFloat32, threshold);
    for (let i = 0; i < touchedCount; i++) {
      const best = this.best[i];
      const pos = this.touched[i];
      const base = pos * maps;
      if (best >= 0) {
        log.neuron[log.count] = best * this.positions + pos;
        log.time[log.count] = time;
        this.spikeV[log.count] = potential[base + best];
        log.count++;
        this.positionDead[pos] = 1;
      }
    }
    this.touchedCount = 0;
    sortBinSpikes(log, first, log.count, this.spikeV);
    if (learn && log.count > first) this.learnFromBin(first, log.count, time);
    // Lateral inhibition and reset: the winner at a position goes to v_reset, the others to v_rest.
    for (let s = first; s < log.count; s++) {
      const flat = log.neuron[s];
      const map = (flat / this.positions) | 0;
      const pos = flat - map * this.positions;
      const base = pos * maps;
      potential.fill(this.restV, base, base + maps);
      potential[base + map] = this.resetV;
    }
    this.counts.spikes = log.count;
    return first;
  }

  /** Potential of neuron `flat` at the end of bin `time` (only the latest bin is kept). */
  potentialAt(flat: number, _time: number): number {
    const map = (flat / this.positions) | 0;
    const pos = flat - map * this.positions;
    if (this.positionSample[pos] !== this.sample) return this.restV;
    return this.potential[pos * this.maps + map];
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
    const maps = this.maps;
    const offset = map * this.tapsPerMap;
    for (let tap = 0; tap < this.tapsPerMap; tap++) {
      const w = this.weights[offset + tap];
      this.integrationWeights[tap * maps + map] = this.roundToFloat32 ? Math.fround(w) : w;
    }
  }

  private resetPosition(pos: number): void {
    this.positionSample[pos] = this.sample;
    this.positionDead[pos] = 0;
    const base = pos * this.maps;
    this.potential.fill(this.restV, base, base + this.maps);
  }
}
