/**
 * What the engine and the other layers need of a layer at run time. Layers are composed by
 * the engine (src/events/engine.ts); they know nothing of the queue.
 */
import type { Shape } from './network.js';

/** A layer whose neurons' potentials a plasticity rule downstream may read. */
export interface PresynapticLayer {
  readonly outShape: Shape;
  /** Potential of `neuron` (flat channel·H·W + y·W + x) at the end of bin `time`. */
  potentialAt(neuron: number, time: number): number;
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
