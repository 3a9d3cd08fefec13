/**
 * The engine: it owns time, the queue and the order of layers, and runs one sample at a time.
 *
 * A sample starts with the input spikes in the queue. Popping an event either delivers a spike
 * to its target layer (which touches only the neurons it connects to) or ends that layer's bin.
 * The first spike a layer receives in a bin schedules the bin's end; since events are ordered
 * by (time, layer, kind), the end comes after every delivery of the bin, and the spikes it emits
 * reach the next layer in the same bin. A layer that receives nothing in a bin does no work.
 */
import { EvspikeError, OptionError } from '../errors.js';
import { ConvLayer } from '../neurons/conv.js';
import { nativeFor, SIMD_LEVEL, type KernelChoice, type KernelName, type NativeKernelModule } from '../neurons/kernels/integrate.js';
import { kindOf } from '../neurons/kinds/index.js';
import { InputLayer } from '../neurons/input.js';
import { isTrainable, runBinsByCalls, type LayerCounts, type RuntimeLayer, type SpikeLog, type TrainableLayer } from '../neurons/layer.js';
import { neuronCount, type ResolvedNetwork } from '../neurons/network.js';
import type { LearningState } from '../plasticity/rule.js';
import type { SeededRandom } from '../util/random.js';
import { BIN_END, EventQueue, SPIKE } from './queue.js';
import { SimulationStreams, type LayerSummary, type SampleSummary } from './stream.js';

/** A layer after the input, at run time. */
export type HiddenLayer = RuntimeLayer;

/** How to run one sample. */
export interface SampleOptions {
  /** Index (in `network.layers`) of the layer that learns; omitted: no learning. */
  learnLayer?: number;
  /** Last layer to simulate (index in `network.layers`); default: the last layer. */
  lastLayer?: number;
  /**
   * Run the events through the heap-ordered queue even when every time is an integer (the
   * engine otherwise runs integer times bin by bin, in the same order, without the heap).
   */
  useHeap?: boolean;
}

/** Multiply-accumulates of a layer in a dense clock-driven pass over `timeBins` bins. */
export function denseMacs(net: ResolvedNetwork, layerIndex: number): number {
  const spec = net.layers[layerIndex];
  return spec.kind === 'input' ? 0 : kindOf(spec).denseMacs(spec, net.timeBins);
}

/** How to build an engine. */
export interface EngineOptions {
  /** Initial weights of each layer with weights (conv layers), in network order (copied); missing entries are drawn. */
  weights?: readonly (ArrayLike<number> | undefined)[];
  /**
   * Generator for the weights not given (required when some are missing). The weights of the
   * layer at index `i` of the network come from its stream `derive('weights', i)`, so layers do
   * not draw from each other's streams.
   */
  random?: SeededRandom;
  /** Conv integration kernel. Default `'auto'`: WebAssembly SIMD where available, else JavaScript. */
  kernel?: KernelChoice;
  /**
   * Skip integrating conv positions that cannot cross yet (default true). The results are
   * bit-identical either way; only the work done (each layer's `counts.additions`) differs.
   */
  skipping?: boolean;
  /**
   * The learning state (rate, applications) each layer with weights starts from, in network
   * order, as a checkpoint saved it; missing entries start from their rule's initial state.
   */
  learning?: readonly (LearningState | undefined)[];
}

export class Engine {
  readonly input: InputLayer;
  /** `hidden[i]` simulates `network.layers[i + 1]`. */
  readonly hidden: readonly HiddenLayer[];
  readonly queue = new EventQueue(2048);
  readonly streams = new SimulationStreams();
  private sampleSerial = 0;
  private readonly binStart: Int32Array;
  private readonly binFill: Int32Array;
  private byBin = new Int32Array(1024);
  /** The native kernel, where this engine's kernel choice resolves to it: it takes the input stage of a sample given as an Int32Array. */
  private readonly native: NativeKernelModule | null;
  private lastSimulated = 0;
  private lastLearning = false;

  constructor(
    readonly network: ResolvedNetwork,
    options: EngineOptions = {},
  ) {
    this.input = new InputLayer(network);
    // sized here rather than at the first sample: a branch first taken then throws away the
    // optimised code of every engine before
    this.binStart = new Int32Array(network.timeBins + 1);
    this.binFill = new Int32Array(network.timeBins);
    this.native = nativeFor(options.kernel ?? 'auto');
    const hidden: HiddenLayer[] = [];
    let trainableIndex = 0;
    for (let i = 1; i < network.layers.length; i++) {
      const spec = network.layers[i];
      if (spec.kind === 'input') throw new OptionError(`layers[${i - 1}].kind`, 'input', 'a hidden layer: the input can only come first');
      const kind = kindOf(spec);
      let weights: Float64Array | undefined;
      if (kind.weightCount(spec) > 0) {
        const given = options.weights?.[trainableIndex++];
        if (given !== undefined) {
          weights = Float64Array.from(given);
          const bad = weights.findIndex((w) => !Number.isFinite(w));
          if (bad >= 0) throw new OptionError(`weights[${trainableIndex - 1}][${bad}]`, weights[bad], 'a finite number');
        } else if (options.random !== undefined) {
          weights = kind.initialWeights(spec, options.random.derive('weights', i));
        } else {
          throw new EvspikeError(`layer ${i} (${spec.kind}): no weights given and no random generator to draw them`);
        }
      }
      const source = i === 1 ? this.input : hidden[i - 2];
      const layer = kind.create(spec, { source, restV: network.restV, resetV: network.resetV, weights, kernel: options.kernel ?? 'auto', skipping: options.skipping ?? true });
      const state = weights === undefined ? undefined : options.learning?.[trainableIndex - 1];
      if (state !== undefined && isTrainable(layer)) {
        const at = `learning[${trainableIndex - 1}]`;
        if (!(Number.isFinite(state.learningRate) && state.learningRate >= 0)) throw new OptionError(`${at}.learningRate`, state.learningRate, 'a finite number ≥ 0');
        if (!(Number.isSafeInteger(state.applications) && state.applications >= 0)) throw new OptionError(`${at}.applications`, state.applications, 'a whole number ≥ 0');
        layer.learning.learningRate = state.learningRate;
        layer.learning.applications = state.applications;
      }
      hidden.push(layer);
    }
    this.hidden = hidden;
  }

  /** The layers with weights (the conv layers), in order. */
  get convLayers(): TrainableLayer[] {
    return this.hidden.filter(isTrainable);
  }

  /** The conv integration kernel in use (`'js'` when the network has no conv layer). */
  get kernel(): KernelName {
    const conv = this.hidden.find((l): l is ConvLayer => l instanceof ConvLayer);
    return conv?.kernel ?? 'js';
  }

  /** The layer at `index` of `network.layers` (0 is the input). */
  layer(index: number): RuntimeLayer {
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
    // integer times in an Int32Array (the encoder's): the input stage in one native call,
    // which checks the times first and writes nothing when one is out of range (the
    // JavaScript check then says which), so that a refused sample changes nothing
    const native = this.native !== null && spikeTimes instanceof Int32Array ? this.native : null;
    this.checkSample(spikeTimes, last, learnLayer, native === null);
    const input = this.input;
    const inputLog = input.spikes;
    if (native !== null) {
      if (this.byBin.length < spikeTimes.length) this.byBin = new Int32Array(spikeTimes.length);
      const count = native.inputSample(spikeTimes as Int32Array, this.network.timeBins, input.spikeTime, inputLog.neuron, inputLog.time, this.binStart, this.byBin, SIMD_LEVEL.avx512);
      if (count < 0) {
        this.checkSample(spikeTimes, last, learnLayer, true);
        throw new EvspikeError('the native input stage refused times the check accepts');
      }
      input.tookSample(count);
    }
    this.sampleSerial = (this.sampleSerial % 0xfffffffe) + 1;
    const sample = this.sampleSerial;
    this.lastSimulated = last;
    this.lastLearning = learnLayer >= 0;
    for (let i = 0; i < last; i++) this.hidden[i].beginSample(sample);

    let integerTimes = true;
    const binned = native !== null;
    if (native === null) {
      input.beginSample(sample);
      for (let i = 0; i < spikeTimes.length; i++) {
        const t = spikeTimes[i];
        if (t >= 0) {
          input.deliver(i, t);
          if (t !== Math.floor(t)) integerTimes = false;
        }
      }
    }
    const streams = this.streams;
    const observing = streams.spikesObserved;
    if (observing && last === 0) this.emitLog(sample, 0, inputLog, 0);
    if (integerTimes && !options.useHeap && !observing && learnLayer < 0) {
      if (!binned) this.inputByBin();
      this.runLayers(last);
    } else if (integerTimes && !options.useHeap) {
      if (!binned) this.inputByBin();
      this.runBins(sample, last, learnLayer, observing);
    } else {
      this.runQueue(sample, last, learnLayer, observing);
    }
    if (streams.samplesObserved) streams.emitSample(this.summary());
  }

  /**
   * Integer times: every event of a bin is known when the bin starts, so the queue's order
   * (time, layer, spikes before the bin's end, arrival) is simply: for each bin, for each layer
   * in order, deliver its spikes in arrival order (input spikes by neuron index, a layer's
   * spikes in the sorted order it emits them), then close its bin. This is the heap's order
   * without the heap (a bucket per bin); a layer that receives nothing in a bin does no work.
   */
  private runBins(sample: number, last: number, learnLayer: number, observing: boolean): void {
    const T = this.network.timeBins;
    const { binStart, byBin } = this;
    const streams = this.streams;
    for (let t = 0; t < T; t++) {
      let sources: Int32Array = byBin;
      let from = binStart[t];
      let to = binStart[t + 1];
      for (let li = 1; li <= last && from < to; li++) {
        const layer = this.hidden[li - 1];
        for (let s = from; s < to; s++) {
          if (observing) streams.emitSpike({ kind: 'spike', sample, layer: li - 1, neuron: sources[s], time: t });
          layer.deliver(sources[s], t);
        }
        const first = layer.closeBin(li === learnLayer);
        const log = layer.spikes;
        if (li < last) {
          sources = log.neuron;
          from = first;
          to = log.count;
        } else if (observing) {
          this.emitLog(sample, li, log, first);
        }
      }
    }
  }

  /**
   * The input spikes by bin, each bin in ascending neuron order (a counting sort): those of bin
   * t are `byBin[binStart[t] … binStart[t + 1])`.
   */
  private inputByBin(): void {
    const T = this.network.timeBins;
    const inputLog = this.input.spikes;
    const binStart = this.binStart;
    binStart.fill(0, 0, T + 1);
    for (let s = 0; s < inputLog.count; s++) binStart[inputLog.time[s] + 1]++;
    for (let t = 0; t < T; t++) binStart[t + 1] += binStart[t];
    const byBin = this.byBin.length >= inputLog.count ? this.byBin : (this.byBin = new Int32Array(Math.max(inputLog.count, 2 * this.byBin.length)));
    const fill = this.binFill;
    fill.set(binStart.subarray(0, T));
    for (let s = 0; s < inputLog.count; s++) byBin[fill[inputLog.time[s]]++] = inputLog.neuron[s];
  }

  /**
   * Integer times, no learning, nobody observing the spikes: the same events layer by layer
   * instead of bin by bin. A layer's bin t depends only on the spikes the layers before it
   * emitted up to bin t, so running each layer through every bin before the next gives every
   * layer the same input in the same order (within a bin, a layer's spikes in the order it
   * emits them); a layer can then take a whole sample in one call ({@link RuntimeLayer.runBins}).
   * With learning the order matters (a rule reads the layer before at the bin it learns in).
   */
  private runLayers(last: number): void {
    const T = this.network.timeBins;
    let sources: Int32Array = this.byBin;
    const binStart = this.binStart;
    for (let li = 1; li <= last; li++) {
      const layer = this.hidden[li - 1];
      if (layer.runBins !== undefined) layer.runBins(sources, binStart, T);
      else runBinsByCalls(layer, sources, binStart, T);
      if (li === last) break;
      // this layer's spikes by bin: the log is in bin order already
      const log = layer.spikes;
      binStart.fill(0, 0, T + 1);
      for (let s = 0; s < log.count; s++) binStart[log.time[s] + 1]++;
      for (let t = 0; t < T; t++) binStart[t + 1] += binStart[t];
      sources = log.neuron;
    }
  }

  /** Any times: the events through the heap-ordered queue. */
  private runQueue(sample: number, last: number, learnLayer: number, observing: boolean): void {
    const queue = this.queue;
    queue.clear();
    const inputLog = this.input.spikes;
    if (last >= 1) for (let s = 0; s < inputLog.count; s++) queue.push(inputLog.time[s], 1, SPIKE, inputLog.neuron[s]);
    const streams = this.streams;
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
  }

  /** @param times whether to check each time (the native input stage checks them itself) */
  private checkSample(spikeTimes: ArrayLike<number>, last: number, learnLayer: number, times: boolean): void {
    const net = this.network;
    if (spikeTimes.length !== this.input.spikeTime.length) {
      throw new OptionError('spikeTimes', spikeTimes, `one time per input neuron (${this.input.spikeTime.length})`);
    }
    const T = net.timeBins;
    for (let i = 0; times && i < spikeTimes.length; i++) {
      const t = spikeTimes[i];
      if (!(t === -1 || (t >= 0 && t < T))) throw new OptionError(`spikeTimes[${i}]`, t, `−1 or a time in [0, ${T})`);
    }
    if (!Number.isInteger(last) || last < 0 || last >= net.layers.length) {
      throw new OptionError('lastLayer', last, `a layer index in [0, ${net.layers.length - 1}]`);
    }
    if (learnLayer !== -1 && (learnLayer < 1 || learnLayer > last || !isTrainable(this.hidden[learnLayer - 1]))) {
      throw new OptionError('learnLayer', learnLayer, `the index of a layer with weights (a conv layer) no later than lastLayer (${last})`);
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
      const counts: LayerCounts = this.layer(i).counts;
      totalSpikes += counts.spikes;
      layers.push({
        layer: i,
        kind: spec.kind,
        neurons,
        spikes: counts.spikes,
        synapticEvents: counts.synapticEvents,
        fanoutEvents: counts.fanoutEvents,
        additions: counts.additions,
        denseMacs: denseMacs(net, i),
        activationSparsity: 1 - counts.spikes / (neurons * net.timeBins),
      });
    }
    return { kind: 'sample', sample: this.sampleSerial, learning: this.lastLearning, layers, totalSpikes };
  }

  /** Spikes of the last sample's final simulated layer (for the paper's network: the pool features). */
  outputSpikes(): SpikeLog {
    return this.layer(this.lastSimulated).spikes;
  }

  private emitLog(sample: number, layer: number, log: SpikeLog, first: number): void {
    for (let s = first; s < log.count; s++) {
      this.streams.emitSpike({ kind: 'spike', sample, layer, neuron: log.neuron[s], time: log.time[s] });
    }
  }
}
