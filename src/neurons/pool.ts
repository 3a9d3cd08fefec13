/**
 * Single-spike max pooling (SPEC §5): a pool neuron spikes in the first bin in which any conv
 * neuron of its window spikes, and never again in the sample. Pooling is per map.
 */
import { EvspikeError } from '../errors.js';
import type { Connectivity, LayerCounts, RuntimeLayer, SpikeLog } from './layer.js';
import { sortBinSpikes } from './layer.js';
import type { ResolvedPoolLayer } from './kinds/pool.js';
import { createNativePool, resolveKernel, type KernelChoice, type NativePool } from './kernels/integrate.js';

/**
 * The pool windows along one axis that hold each input coordinate i < `size`: windows
 * [from[i], to[i]) of [0, out), window p covering [p·stride − padding, … + kernelSize).
 */
function windowsHolding(size: number, spec: ResolvedPoolLayer, out: number): { from: Int32Array; to: Int32Array } {
  const { stride, padding, kernelSize } = spec;
  const from = new Int32Array(size);
  const to = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    from[i] = Math.max(0, Math.ceil((i + padding - kernelSize + 1) / stride));
    to[i] = Math.max(from[i], Math.min(out, Math.floor((i + padding) / stride) + 1));
  }
  return { from, to };
}

/** Build the conv-neuron → pool-neuron connectivity (windows may overlap when stride < size). */
export function poolConnectivity(spec: ResolvedPoolLayer): Connectivity {
  const { channels, height: inH, width: inW } = spec.inShape;
  const { height: outH, width: outW } = spec.outShape;
  const ys = windowsHolding(inH, spec, outH);
  const xs = windowsHolding(inW, spec, outW);
  let perChannel = 0;
  for (let y = 0; y < inH; y++) for (let x = 0; x < inW; x++) perChannel += (ys.to[y] - ys.from[y]) * (xs.to[x] - xs.from[x]);
  const start = new Int32Array(channels * inH * inW + 1);
  const target = new Int32Array(channels * perChannel);
  let k = 0;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < inH; y++) {
      for (let x = 0; x < inW; x++) {
        start[(c * inH + y) * inW + x] = k;
        for (let py = ys.from[y]; py < ys.to[y]; py++) {
          for (let px = xs.from[x]; px < xs.to[x]; px++) target[k++] = (c * outH + py) * outW + px;
        }
      }
    }
  }
  start[channels * inH * inW] = k;
  return { start, target, payload: new Int32Array(target.length) };
}

/**
 * The windows of one map: {@link poolConnectivity} of a single channel. Pooling is per map, so
 * input neuron c·H·W + p reaches c·H'·W' + target[k] for k in [start[p], start[p + 1]): tables
 * of one map rather than of all (a few kilobytes that stay in cache, where the whole layer's
 * were hundreds).
 */
export function mapWindows(spec: ResolvedPoolLayer): Connectivity {
  return poolConnectivity({ ...spec, inShape: { ...spec.inShape, channels: 1 }, outShape: { ...spec.outShape, channels: 1 } });
}

/**
 * The serial of the bin after `serial`'s: never 0, the pending stamps' initial value (a serial
 * of 0, after 2^32 bins, would take every neuron never reached for one reached in its bin).
 */
function nextSerial(serial: number): number {
  return serial === 0xffffffff ? 1 : serial + 1;
}

export class PoolLayer implements RuntimeLayer {
  readonly outShape;
  readonly spikes: SpikeLog;
  readonly counts: LayerCounts = { spikes: 0, synapticEvents: 0, fanoutEvents: 0, additions: 0 };
  private readonly windows: Connectivity;
  /** Neurons of one map, in the input and in the output. */
  private readonly inPerMap: number;
  private readonly outPerMap: number;
  /** Presynaptic neurons (all maps). */
  private readonly inNeurons: number;
  private readonly firedSample: Uint32Array;
  private readonly fireTime: Float64Array;
  private readonly pendingBin: Uint32Array;
  private readonly pending: Int32Array;
  /** The native kernel's loop over a sample's bins, where it is in use: it reads and writes the arrays above. */
  private readonly native: { pool: NativePool; result: Float64Array } | undefined;
  private pendingCount = 0;
  private sample = 0;
  private binSerial = 0;
  private binTime = Number.NaN;

  /** @param kernel where this resolves to the native kernel, {@link runBins} runs there */
  constructor(
    readonly spec: ResolvedPoolLayer,
    readonly restV: number,
    readonly resetV: number,
    kernel: KernelChoice = 'auto',
  ) {
    this.outShape = spec.outShape;
    const n = spec.outShape.channels * spec.outShape.height * spec.outShape.width;
    const windows = mapWindows(spec);
    this.inPerMap = spec.inShape.height * spec.inShape.width;
    this.outPerMap = spec.outShape.height * spec.outShape.width;
    this.inNeurons = spec.inShape.channels * this.inPerMap;
    // The tables and arrays in one memory, in the order the native kernel takes them, each at
    // a multiple of 8 bytes; the native kernel, where in use, keeps it (and writes one entry
    // past a bin's pending neurons: the pending array has one more).
    const sizes = [4 * windows.start.length, 4 * windows.target.length, 4 * n, 4 * n, 4 * (n + 1), 8 * n, 4 * n, 8 * n, 8 * 3];
    const offsets: number[] = [];
    let bytes = 0;
    for (const size of sizes) {
      offsets.push(bytes);
      bytes += Math.ceil(size / 8) * 8;
    }
    const memory = new ArrayBuffer(bytes);
    const start = new Int32Array(memory, offsets[0], windows.start.length);
    const target = new Int32Array(memory, offsets[1], windows.target.length);
    start.set(windows.start);
    target.set(windows.target);
    this.windows = { start, target, payload: windows.payload };
    this.firedSample = new Uint32Array(memory, offsets[2], n);
    this.pendingBin = new Uint32Array(memory, offsets[3], n);
    this.pending = new Int32Array(memory, offsets[4], n + 1);
    this.fireTime = new Float64Array(memory, offsets[5], n);
    this.spikes = { neuron: new Int32Array(memory, offsets[6], n), time: new Float64Array(memory, offsets[7], n), count: 0 };
    const pool = resolveKernel(kernel) === 'native' ? createNativePool(memory, offsets, this.inPerMap, this.outPerMap, this.inNeurons) : null;
    this.native = pool === null ? undefined : { pool, result: new Float64Array(memory, offsets[8], 3) };
  }

  beginSample(sample: number): void {
    this.sample = sample;
    this.binTime = Number.NaN;
    this.pendingCount = 0;
    this.spikes.count = 0;
    this.counts.spikes = 0;
    this.counts.synapticEvents = 0;
    this.counts.fanoutEvents = 0;
  }

  /** Deliver a conv spike; returns true when it opens a new bin for this layer. */
  deliver(src: number, time: number): boolean {
    let opened = false;
    if (time !== this.binTime) {
      this.binTime = time;
      this.binSerial = nextSerial(this.binSerial);
      this.pendingCount = 0;
      opened = true;
    }
    if (!(src >= 0 && src < this.inNeurons)) throw this.missingNeuron(src);
    const { start, target } = this.windows;
    const map = (src / this.inPerMap) | 0;
    const at = src - map * this.inPerMap;
    const base = map * this.outPerMap;
    const end = start[at + 1];
    this.counts.fanoutEvents += end - start[at];
    for (let k = start[at]; k < end; k++) {
      const j = base + target[k];
      if (this.firedSample[j] === this.sample) continue;
      this.counts.synapticEvents++;
      if (this.pendingBin[j] !== this.binSerial) {
        this.pendingBin[j] = this.binSerial;
        this.pending[this.pendingCount++] = j;
      }
    }
    return opened;
  }

  /** End the bin: every pool neuron that received a spike in it fires. Returns the first new spike's index. */
  closeBin(_learn: boolean): number {
    const log = this.spikes;
    const first = log.count;
    for (let i = 0; i < this.pendingCount; i++) {
      const j = this.pending[i];
      this.firedSample[j] = this.sample;
      this.fireTime[j] = this.binTime;
      log.neuron[log.count] = j;
      log.time[log.count] = this.binTime;
      log.count++;
    }
    this.pendingCount = 0;
    sortBinSpikes(log, first, log.count);
    this.counts.spikes = log.count;
    return first;
  }

  /**
   * Every bin of a sample at once (no learning here): what {@link deliver} and
   * {@link closeBin} do bin by bin, in one loop without a call per spike.
   */
  runBins(sources: Int32Array, binStart: Int32Array, timeBins: number): void {
    if (this.native !== undefined) {
      this.runNative(this.native, sources, binStart, timeBins);
      return;
    }
    const { start, target } = this.windows;
    const { inPerMap, outPerMap } = this;
    const { firedSample, fireTime, pendingBin, pending } = this;
    const sample = this.sample;
    const log = this.spikes;
    let synaptic = 0;
    let fanout = 0;
    for (let t = 0; t < timeBins; t++) {
      const from = binStart[t];
      const to = binStart[t + 1];
      if (from === to) continue;
      this.binTime = t;
      const bin = (this.binSerial = nextSerial(this.binSerial));
      let count = 0;
      for (let s = from; s < to; s++) {
        const src = sources[s];
        if (!(src >= 0 && src < this.inNeurons)) throw this.missingNeuron(src);
        const map = (src / inPerMap) | 0;
        const at = src - map * inPerMap;
        const base = map * outPerMap;
        const end = start[at + 1];
        fanout += end - start[at];
        for (let k = start[at]; k < end; k++) {
          const j = base + target[k];
          if (firedSample[j] === sample) continue;
          synaptic++;
          if (pendingBin[j] !== bin) {
            pendingBin[j] = bin;
            pending[count++] = j;
          }
        }
      }
      const first = log.count;
      for (let i = 0; i < count; i++) {
        const j = pending[i];
        firedSample[j] = sample;
        fireTime[j] = t;
        log.neuron[log.count] = j;
        log.time[log.count] = t;
        log.count++;
      }
      sortBinSpikes(log, first, log.count);
    }
    this.pendingCount = 0;
    this.counts.synapticEvents += synaptic;
    this.counts.fanoutEvents += fanout;
    this.counts.spikes = log.count;
  }

  /** {@link runBins} in the native kernel: the same spikes, counts and state. */
  private runNative(native: { pool: NativePool; result: Float64Array }, sources: Int32Array, binStart: Int32Array, timeBins: number): void {
    const log = this.spikes;
    const count = native.pool.runBins(sources, binStart, timeBins, this.sample, this.binSerial, log.count);
    if (count === -2) {
      let bad = binStart[0];
      while (sources[bad] >= 0 && sources[bad] < this.inNeurons) bad++;
      throw this.missingNeuron(sources[bad]);
    }
    if (count === -3) throw new EvspikeError(`pool layer ${this.spec.index}: more spikes in one sample than neurons (a neuron fired twice)`);
    for (let t = timeBins - 1; t >= 0; t--) {
      if (binStart[t + 1] > binStart[t]) {
        this.binTime = t;
        break;
      }
    }
    const result = native.result;
    this.binSerial = result[2];
    log.count = count;
    this.pendingCount = 0;
    this.counts.synapticEvents += result[0];
    this.counts.fanoutEvents += result[1];
    this.counts.spikes = count;
  }

  /** A presynaptic layer emitted a neuron it does not have: an error here, not a spike of a pool neuron that does not exist. */
  private missingNeuron(src: number): EvspikeError {
    return new EvspikeError(`pool layer ${this.spec.index}: presynaptic neuron ${src} does not exist (${this.inNeurons} neurons)`);
  }

  /** v_reset from the bin of its spike on, v_rest before. */
  potentialAt(neuron: number, time: number): number {
    return this.firedSample[neuron] === this.sample && this.fireTime[neuron] <= time ? this.resetV : this.restV;
  }
}
