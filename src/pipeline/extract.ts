/**
 * Feature extraction (SPEC §6): run images without learning and keep, per image, the output
 * neurons that spiked, plus the per-layer figures summed over the images.
 */
import type { Engine } from '../events/engine.js';
import { imageAt, type ImageSet } from '../data/idx.js';
import { neuronCount } from '../neurons/network.js';
import { rankOrderEncode } from '../neurons/encoder.js';
import { FeatureBuilder, type SparseFeatures } from '../readout/features.js';
import { addSummary, emptyTotals, type RunTotals } from './infer.js';

export interface ExtractResult {
  features: SparseFeatures;
  totals: RunTotals;
}

/** Number of features of a network: the neurons of its last layer. */
export function featureCount(engine: Engine): number {
  const layers = engine.network.layers;
  return neuronCount(layers[layers.length - 1].outShape);
}

/**
 * Extract the features of images [start, end) of `images`.
 * @param onProgress called with the number of images done so far
 */
export function extractFeatures(engine: Engine, images: ImageSet, start: number, end: number, onProgress?: (done: number) => void): ExtractResult {
  const builder = new FeatureBuilder(featureCount(engine), end - start);
  const totals = emptyTotals();
  const spikeTimes = new Int32Array(images.height * images.width);
  const T = engine.network.timeBins;
  for (let i = start; i < end; i++) {
    rankOrderEncode(imageAt(images, i), T, spikeTimes);
    engine.runSample(spikeTimes);
    const out = engine.outputSpikes();
    builder.add(out.neuron, out.count);
    addSummary(totals, engine.summary());
    onProgress?.(i - start + 1);
  }
  return { features: builder.build(), totals };
}
