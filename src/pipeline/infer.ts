/**
 * Inference without learning: encode each image, run it, and collect the output spikes (the
 * features) and the per-layer figures.
 */
import type { Engine } from '../events/engine.js';
import { imageAt, type ImageSet } from '../data/idx.js';
import { neuronCount } from '../neurons/network.js';
import { rankOrderEncode } from '../neurons/encoder.js';
import type { SampleSummary } from '../events/stream.js';

/** Sums of the per-layer figures over a run of samples. */
export interface RunTotals {
  samples: number;
  /** Per layer (network order): spikes, synaptic events, fan-out events, additions performed, dense MACs. */
  layers: { kind: string; neurons: number; spikes: number; synapticEvents: number; fanoutEvents: number; additions: number; denseMacs: number }[];
  totalSpikes: number;
}

export function emptyTotals(): RunTotals {
  return { samples: 0, layers: [], totalSpikes: 0 };
}

type LayerTotals = RunTotals['layers'][number];

/** Add one layer's figures `l` to `layers[i]` (created at zero on first use). */
function addLayer(layers: LayerTotals[], i: number, l: LayerTotals): void {
  const t = (layers[i] ??= { kind: l.kind, neurons: l.neurons, spikes: 0, synapticEvents: 0, fanoutEvents: 0, additions: 0, denseMacs: 0 });
  t.spikes += l.spikes;
  t.synapticEvents += l.synapticEvents;
  t.fanoutEvents += l.fanoutEvents;
  t.additions += l.additions;
  t.denseMacs += l.denseMacs;
}

/** Sum `b` into `a`. */
export function mergeTotals(a: RunTotals, b: RunTotals): RunTotals {
  b.layers.forEach((l, i) => addLayer(a.layers, i, l));
  a.totalSpikes += b.totalSpikes;
  a.samples += b.samples;
  return a;
}

/**
 * Add the engine's last sample to `totals`, as {@link addSummary} of its summary would, without
 * building the summary (extraction does this 70,000 times). `macs`: each layer's dense MACs.
 */
export function addLastSample(totals: RunTotals, engine: Engine, macs: readonly number[]): void {
  const layers = engine.network.layers;
  for (let i = 0; i < layers.length; i++) {
    const c = engine.layer(i).counts;
    addLayer(totals.layers, i, { kind: layers[i].kind, neurons: neuronCount(layers[i].outShape), spikes: c.spikes, synapticEvents: c.synapticEvents, fanoutEvents: c.fanoutEvents, additions: c.additions, denseMacs: macs[i] });
    totals.totalSpikes += c.spikes;
  }
  totals.samples++;
}

export function addSummary(totals: RunTotals, summary: SampleSummary): void {
  summary.layers.forEach((l, i) => addLayer(totals.layers, i, l));
  totals.totalSpikes += summary.totalSpikes;
  totals.samples++;
}

/**
 * Run images `indices` of `images` through the engine without learning.
 * @param onSample called after each sample with its position in `indices`
 */
export function inferImages(
  engine: Engine,
  images: ImageSet,
  indices: ArrayLike<number>,
  onSample?: (position: number) => void,
): void {
  const spikeTimes = new Int32Array(images.height * images.width);
  const T = engine.network.timeBins;
  for (let i = 0; i < indices.length; i++) {
    rankOrderEncode(imageAt(images, indices[i]), T, spikeTimes);
    engine.runSample(spikeTimes);
    onSample?.(i);
  }
}
