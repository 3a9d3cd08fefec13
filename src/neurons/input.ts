/**
 * The input layer at run time: it holds the current sample's spike times and answers the
 * potential that a learning rule reads, computed from those times (SPEC §2). The engine
 * delivers each input spike to it (which records it) before passing it on.
 */
import { InputPotential } from './encoder.js';
import type { LayerCounts, PotentialTable, RuntimeLayer, SpikeLog } from './layer.js';
import { createSpikeLog } from './layer.js';
import type { ResolvedNetwork } from './network.js';
import type { Shape } from './shape.js';

export class InputLayer implements RuntimeLayer {
  readonly outShape: Shape;
  /** Spike bin of each input neuron in the current sample, −1 for none. */
  readonly spikeTime: Int32Array;
  /** The input spikes of the sample, in the order they were scheduled. */
  readonly spikes: SpikeLog;
  readonly potentialTable: PotentialTable;
  private readonly potential: InputPotential;

  constructor(net: ResolvedNetwork) {
    this.outShape = net.layers[0].outShape;
    const n = this.outShape.channels * this.outShape.height * this.outShape.width;
    this.spikeTime = new Int32Array(n).fill(-1);
    this.spikes = createSpikeLog(n);
    this.potential = new InputPotential(net.timeBins, net.restV, net.resetV);
    this.potentialTable = { spikeTime: this.spikeTime, ramp: this.potential.ramp, timeBins: net.timeBins, restV: net.restV, resetV: net.resetV };
  }

  readonly counts: LayerCounts = { spikes: 0, synapticEvents: 0, fanoutEvents: 0, additions: 0 };

  /** Start a sample: no input neuron has spiked. */
  beginSample(_sample: number): void {
    this.spikeTime.fill(-1);
    this.spikes.count = 0;
    this.counts.spikes = 0;
  }

  /**
   * Start a sample whose {@link spikeTime} and log of `count` spikes were written at once (the
   * native kernel's input stage, see Engine.runSample).
   */
  tookSample(count: number): void {
    this.spikes.count = count;
    this.counts.spikes = count;
  }

  /** Record that input neuron `src` spikes at `time`; the input has no bins to close. */
  deliver(src: number, time: number): boolean {
    this.spikeTime[src] = time;
    this.spikes.neuron[this.spikes.count] = src;
    this.spikes.time[this.spikes.count] = time;
    this.spikes.count++;
    this.counts.spikes = this.spikes.count;
    return false;
  }

  /** Nothing to integrate: returns the end of the spike log. */
  closeBin(_learn: boolean): number {
    return this.spikes.count;
  }

  potentialAt(neuron: number, time: number): number {
    return this.potential.at(this.spikeTime[neuron], time);
  }
}
