/**
 * What the engine and the other layers need of a layer at run time. Layers are composed by
 * the engine (src/events/engine.ts); they know nothing of the queue.
 */
import type { LearningRule } from '../plasticity/rule.js';
import type { Shape } from './shape.js';

/** A layer whose neurons' potentials a plasticity rule downstream may read. */
export interface PresynapticLayer {
  readonly outShape: Shape;
  /** Potential of `neuron` (flat channel·H·W + y·W + x) at the end of bin `time`. */
  potentialAt(neuron: number, time: number): number;
  /** The same as a table, where the layer has one (the input layer): what the native kernel reads. */
  readonly potentialTable?: PotentialTable;
}

/**
 * The potentials of a layer whose neuron's potential at the end of bin t depends only on its
 * spike bin s (the input layer, SPEC §2): `restV` without a spike (s = −1), `resetV` from bin s
 * on, else `ramp[s · timeBins + t]`.
 */
export interface PotentialTable {
  /** Each neuron's spike bin in the current sample, −1 for none. */
  readonly spikeTime: Int32Array;
  readonly ramp: Float64Array;
  readonly timeBins: number;
  readonly restV: number;
  readonly resetV: number;
}

/**
 * The spikes a layer emitted in the current sample, in emission order: parallel arrays of the
 * neuron (flat index) and the time. Allocated once with room for one spike per neuron.
 */
export interface SpikeLog {
  readonly neuron: Int32Array;
  readonly time: Float64Array;
  count: number;
}

export function createSpikeLog(capacity: number): SpikeLog {
  return { neuron: new Int32Array(capacity), time: new Float64Array(capacity), count: 0 };
}

/** Per-sample event counts of one layer (SPEC §7). */
export interface LayerCounts {
  /** Spikes emitted. */
  spikes: number;
  /** Potential updates applied: (presynaptic spike, postsynaptic neuron still active) pairs. */
  synapticEvents: number;
  /** Presynaptic spikes × their real number of connections (borders counted). */
  fanoutEvents: number;
  /**
   * Weight additions the simulator performed (taps integrated × maps). The synaptic events
   * describe the network, whatever the simulator skips; this is the work done, which exact
   * skipping makes smaller. 0 for a layer without weights.
   */
  readonly additions: number;
}

/**
 * A layer at run time, as the engine drives it: the input, conv and pool layers implement it.
 * The engine starts a sample, delivers each spike (the layer touches only the neurons it
 * connects to), and closes the layer's bin once every spike of the bin has arrived.
 */
export interface RuntimeLayer extends PresynapticLayer {
  /** Spikes of the current sample, in emission order. */
  readonly spikes: SpikeLog;
  /** Counts of the current sample. */
  readonly counts: LayerCounts;
  /** Start a sample: every neuron at rest (lazily), the spike log and counts cleared. */
  beginSample(sample: number): void;
  /**
   * Deliver a spike of presynaptic neuron `src` at `time`.
   * @returns true when it opens a new bin for this layer (the engine then schedules its end)
   */
  deliver(src: number, time: number): boolean;
  /**
   * End the current bin: integrate, fire, learn when `learn`, reset; the bin's spikes are
   * appended to {@link spikes}.
   * @returns the index in {@link spikes} of the bin's first spike
   */
  closeBin(learn: boolean): number;
  /**
   * Optional, where one call is faster: every bin of a sample that does not learn, from the
   * sample's presynaptic spikes by bin (those of bin t are `sources[binStart[t] … binStart[t + 1])`),
   * with the same spikes, counts and state as {@link deliver} and {@link closeBin} bin by bin
   * ({@link runBinsByCalls}). Called once, right after {@link beginSample}.
   */
  runBins?(sources: Int32Array, binStart: Int32Array, timeBins: number): void;
}

/**
 * A sample's bins through {@link RuntimeLayer.deliver} and {@link RuntimeLayer.closeBin}, none
 * learning: what {@link RuntimeLayer.runBins} does in one call. A bin without spikes is not opened.
 */
export function runBinsByCalls(layer: RuntimeLayer, sources: Int32Array, binStart: Int32Array, timeBins: number): void {
  for (let t = 0; t < timeBins; t++) {
    const from = binStart[t];
    const to = binStart[t + 1];
    if (from === to) continue;
    for (let s = from; s < to; s++) layer.deliver(sources[s], t);
    layer.closeBin(false);
  }
}

/** A layer with weights that a learning rule trains (the conv layer). */
export interface TrainableLayer extends RuntimeLayer {
  readonly spec: { readonly index: number; readonly weightMin: number; readonly weightMax: number };
  /** Every weight of the layer, float64, in [w_min, w_max]. */
  readonly weights: Float64Array;
  /** The rule and its state (learning rate, applications). */
  readonly learning: LearningRule;
  /** Winners of the current sample (flat indices), in the order the rule was applied. */
  readonly winners: SpikeLog;
  /** Copy new weights in (same layout as {@link weights}). */
  setWeights(weights: ArrayLike<number>): void;
}

/** Whether a runtime layer has weights to train. */
export function isTrainable(layer: RuntimeLayer): layer is TrainableLayer {
  return (layer as Partial<TrainableLayer>).learning !== undefined;
}

/**
 * Connectivity from the neurons of one layer to the neurons (or positions) of the next, as
 * compressed rows: the targets of source neuron i are `target[start[i] … start[i+1])`, with a
 * per-connection payload (for a conv layer, the offset of the kernel tap's weights).
 */
export interface Connectivity {
  readonly start: Int32Array;
  readonly target: Int32Array;
  readonly payload: Int32Array;
}

/**
 * Sort the entries [first, end) of a spike log by neuron index (insertion sort: a bin holds a
 * few dozen spikes; their times are the bin's, so only the neurons move). Layers emit each
 * bin's spikes in this canonical order, so the next layer receives them in raster order — the
 * order in which a dense pass sums a kernel — and float64 sums agree bit for bit with it.
 */
export function sortBinSpikes(log: SpikeLog, first: number, end: number): void {
  const neuron = log.neuron;
  for (let i = first + 1; i < end; i++) {
    const n = neuron[i];
    let j = i - 1;
    while (j >= first && neuron[j] > n) {
      neuron[j + 1] = neuron[j];
      j--;
    }
    neuron[j + 1] = n;
  }
}
