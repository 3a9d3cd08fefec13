/**
 * The input layer at run time: it holds the current sample's spike times and answers the
 * potential that VDSP reads, computed from those times (SPEC §2).
 */
import { InputPotential } from './encoder.js';
import type { PresynapticLayer, SpikeLog } from './layer.js';
import { createSpikeLog } from './layer.js';
import type { ResolvedNetwork, Shape } from './network.js';

export class InputLayer implements PresynapticLayer {
  readonly outShape: Shape;
  /** Spike bin of each input neuron in the current sample, −1 for none. */
  readonly spikeTime: Int32Array;
  /** The input spikes of the sample, in the order they were scheduled. */
  readonly spikes: SpikeLog;
  private readonly potential: InputPotential;

  constructor(net: ResolvedNetwork) {
    this.outShape = net.layers[0].outShape;
    const n = this.outShape.channels * this.outShape.height * this.outShape.width;
    this.spikeTime = new Int32Array(n).fill(-1);
    this.spikes = createSpikeLog(n);
    this.potential = new InputPotential(net.timeBins, net.restV, net.resetV);
  }

  potentialAt(neuron: number, time: number): number {
    return this.potential.at(this.spikeTime[neuron], time);
  }
}
