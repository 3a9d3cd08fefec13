/**
 * The engine: it owns time, the queue and the order of layers, and runs one sample at a time.
 *
 * A sample starts with the input spikes in the queue. Popping an event either delivers a spike
 * to its target layer (which touches only the neurons it connects to) or ends that layer's bin.
 * The first spike a layer receives in a bin schedules the bin's end; since events are ordered
 * by (time, layer, kind), the end comes after every delivery of the bin, and the spikes it emits
 * reach the next layer in the same bin. A layer that receives nothing in a bin does no work.
 */
import { ConvLayer } from '../neurons/conv.js';
import type { KernelChoice } from '../neurons/kernels/integrate.js';
import { InputLayer } from '../neurons/input.js';
import { PoolLayer } from '../neurons/pool.js';
import type { LayerCounts, SpikeLog } from '../neurons/layer.js';
import { neuronCount, type ResolvedConvLayer, type ResolvedNetwork } from '../neurons/network.js';
import { OptionError } from '../errors.js';
import type { SeededRandom } from '../util/random.js';
import { BIN_END, EventQueue, SPIKE } from './queue.js';
import { SimulationStreams, type LayerSummary, type SampleSummary } from './stream.js';

export type HiddenLayer = ConvLayer | PoolLayer;

/** How to run one sample. */
export interface SampleOptions {
  /** Index (in `network.layers`) of the conv layer that learns; omitted: no learning. */
  learnLayer?: number;
  /** Last layer to simulate (index in `network.layers`); default: the last layer. */
  lastLayer?: number;
}

/**
 * Initial weights of a conv layer: i.i.d. normal(weightInitMean, weightInitSd) clipped to
 * [weightMin, weightMax], drawn from `random` in the order of the weight array.
 */
export function initialWeights(spec: ResolvedConvLayer, random: SeededRandom): Float64Array {
  const n = spec.maps * spec.inShape.channels * spec.kernelSize * spec.kernelSize;
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = random.normal(spec.weightInitMean, spec.weightInitSd);
    w[i] = Math.min(spec.weightMax, Math.max(spec.weightMin, v));
  }
  return w;
}

/** Multiply-accumulates of a layer in a dense clock-driven pass over `timeBins` bins. */
export function denseMacs(net: ResolvedNetwork, layerIndex: number): number {
  const spec = net.layers[layerIndex];
  switch (spec.kind) {
    case 'input':
      return 0;
    case 'conv':
      return net.timeBins * neuronCount(spec.outShape) * spec.inShape.channels * spec.kernelSize * spec.kernelSize;
    case 'pool':
      return net.timeBins * neuronCount(spec.outShape) * spec.kernelSize * spec.kernelSize;
    default: {
      const _exhaustive: never = spec;
      return _exhaustive;
    }
  }
}

/** How to build an engine. */
export interface EngineOptions {
  /** Initial weights of each conv layer, in network order (copied); missing entries are drawn. */
  weights?: readonly (ArrayLike<number> | undefined)[];
  /**
   * Generator for the weights not given (required when some are missing). The weights of the
   * layer at index `i` of the network come from its stream `derive('weights', i)`, so layers do
   * not draw from each other's streams.
   */
  random?: SeededRandom;
  /** Conv integration kernel. Default `'auto'`: WebAssembly SIMD where available, else JavaScript. */
  kernel?: KernelChoice;
}

export class Engine {
  readonly input: InputLayer;
  /** `hidden[i]` simulates `network.layers[i + 1]`. */
  readonly hidden: readonly HiddenLayer[];
  readonly queue = new EventQueue(2048);
  readonly streams = new SimulationStreams();
  private sampleSerial = 0;
  private lastSimulated = 0;
  private lastLearning = false;

  constructor(
    readonly network: ResolvedNetwork,
    options: EngineOptions = {},
  ) {
    this.input = new InputLayer(network);
    const hidden: HiddenLayer[] = [];
    let convIndex = 0;
    for (let i = 1; i < network.layers.length; i++) {
      const spec = network.layers[i];
      const previous = i === 1 ? this.input : hidden[i - 2];
      switch (spec.kind) {
        case 'conv': {
          const given = options.weights?.[convIndex];
          let weights: Float64Array;
          if (given !== undefined) {
            weights = Float64Array.from(given);
          } else if (options.random !== undefined) {
            weights = initialWeights(spec, options.random.derive('weights', i));
          } else {
            throw new RangeError(`conv layer ${i}: no weights given and no random generator to draw them`);
          }
          hidden.push(new ConvLayer(spec, previous, network.restV, network.resetV, weights, options.kernel));
          convIndex++;
          break;
        }
        case 'pool':
          hidden.push(new PoolLayer(spec, network.restV, network.resetV));
          break;
        case 'input':
          throw new RangeError(`layer ${i}: an input layer can only come first`);
        default: {
          const _exhaustive: never = spec;
          throw new RangeError(`unknown layer ${String(_exhaustive)}`);
        }
      }
    }
    this.hidden = hidden;
  }

  /** The conv layers, in order. */
  get convLayers(): ConvLayer[] {
    return this.hidden.filter((l): l is ConvLayer => l instanceof ConvLayer);
  }

  /** The layer at `index` of `network.layers` (0 is the input). */
  layer(index: number): InputLayer | HiddenLayer {
    return index === 0 ? this.input : this.hidden[index - 1];
  }

  /**
   * Run one sample.
   * @param spikeTimes spike time of each input neuron, −1 for none; times lie in
   *   [0, timeBins) (integers are bins; the engine also accepts fractional times)
   * @throws OptionError for a wrong length, a time out of range or NaN, or layer options
   *   that do not fit the network
   */
  runSample(spikeTimes: ArrayLike<number>, options: SampleOptions = {}): void {
    const net = this.network;
    const last = options.lastLayer ?? net.layers.length - 1;
    const learnLayer = options.learnLayer ?? -1;
    this.checkSample(spikeTimes, last, learnLayer);
    this.sampleSerial = (this.sampleSerial % 0xfffffffe) + 1;
    const sample = this.sampleSerial;
    this.lastSimulated = last;
    this.lastLearning = learnLayer >= 0;
    for (let i = 0; i < last; i++) this.hidden[i].beginSample(sample);

    const queue = this.queue;
    queue.clear();
    const input = this.input;
    const inputLog = input.spikes;
    inputLog.count = 0;
    for (let i = 0; i < spikeTimes.length; i++) {
      const t = spikeTimes[i];
      input.spikeTime[i] = t;
      if (t >= 0) {
        inputLog.neuron[inputLog.count] = i;
        inputLog.time[inputLog.count] = t;
        inputLog.count++;
        if (last >= 1) queue.push(t, 1, SPIKE, i);
      }
    }

    const streams = this.streams;
    const observing = streams.spikesObserved;
    if (observing && last === 0) this.emitLog(sample, 0, inputLog, 0);
    for (let slot = queue.popSlot(); slot >= 0; slot = queue.popSlot()) {
      const time = queue.timeOf(slot);
      const layerIndex = queue.layerOf(slot);
      const kind = queue.kindOf(slot);
      const neuron = queue.neuronOf(slot);
      queue.release(slot);
      const layer = this.hidden[layerIndex - 1];
      if (kind === SPIKE) {
        if (observing) streams.emitSpike({ kind: 'spike', sample, layer: layerIndex - 1, neuron, time });
        if (layer.deliver(neuron, time)) queue.push(time, layerIndex, BIN_END, 0);
      } else {
        const first = layer.closeBin(layerIndex === learnLayer);
        const log = layer.spikes;
        if (layerIndex < last) {
          for (let s = first; s < log.count; s++) queue.push(time, layerIndex + 1, SPIKE, log.neuron[s]);
        } else if (observing) {
          this.emitLog(sample, layerIndex, log, first);
        }
      }
    }
    if (streams.samplesObserved) streams.emitSample(this.summary());
  }

  private checkSample(spikeTimes: ArrayLike<number>, last: number, learnLayer: number): void {
    const net = this.network;
    if (spikeTimes.length !== this.input.spikeTime.length) {
      throw new OptionError('spikeTimes', spikeTimes, `one time per input neuron (${this.input.spikeTime.length})`);
    }
    const T = net.timeBins;
    for (let i = 0; i < spikeTimes.length; i++) {
      const t = spikeTimes[i];
      if (!(t === -1 || (t >= 0 && t < T))) throw new OptionError(`spikeTimes[${i}]`, t, `−1 or a time in [0, ${T})`);
    }
    if (!Number.isInteger(last) || last < 0 || last >= net.layers.length) {
      throw new OptionError('lastLayer', last, `a layer index in [0, ${net.layers.length - 1}]`);
    }
    if (learnLayer !== -1 && (net.layers[learnLayer]?.kind !== 'conv' || learnLayer > last)) {
      throw new OptionError('learnLayer', learnLayer, `the index of a conv layer no later than lastLayer (${last})`);
    }
  }

  /** Per-layer figures of the last sample, for the layers it simulated. */
  summary(): SampleSummary {
    const net = this.network;
    const layers: LayerSummary[] = [];
    let totalSpikes = 0;
    for (let i = 0; i <= this.lastSimulated; i++) {
      const spec = net.layers[i];
      const neurons = neuronCount(spec.outShape);
      const counts: LayerCounts =
        i === 0 ? { spikes: this.input.spikes.count, synapticEvents: 0, fanoutEvents: 0 } : this.hidden[i - 1].counts;
      totalSpikes += counts.spikes;
      layers.push({
        layer: i,
        kind: spec.kind,
        neurons,
        spikes: counts.spikes,
        synapticEvents: counts.synapticEvents,
        fanoutEvents: counts.fanoutEvents,
        denseMacs: denseMacs(net, i),
        activationSparsity: 1 - counts.spikes / (neurons * net.timeBins),
      });
    }
    return { kind: 'sample', sample: this.sampleSerial, learning: this.lastLearning, layers, totalSpikes };
  }

  /** Spikes of the last sample's final simulated layer (for the paper's network: the pool features). */
  outputSpikes(): SpikeLog {
    return this.lastSimulated === 0 ? this.input.spikes : this.hidden[this.lastSimulated - 1].spikes;
  }

  private emitLog(sample: number, layer: number, log: SpikeLog, first: number): void {
    for (let s = first; s < log.count; s++) {
      this.streams.emitSpike({ kind: 'spike', sample, layer, neuron: log.neuron[s], time: log.time[s] });
    }
  }
}
