/**
 * Feature extraction (SPEC §6): run images without learning and keep, per image, the output
 * neurons that spiked, plus the per-layer figures summed over the images.
 */
import { denseMacs, type Engine } from '../events/engine.js';
import { imageAt, type ImageSet } from '../data/idx.js';
import { neuronCount } from '../neurons/network.js';
import { rankOrderEncode } from '../neurons/encoder.js';
import { InterruptedError } from '../errors.js';
import { concatFeatures, FeatureBuilder, type SparseFeatures } from '../readout/features.js';
import { addLastSample, emptyTotals, mergeTotals, type RunTotals } from './infer.js';

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
  const macs = engine.network.layers.map((_, i) => denseMacs(engine.network, i));
  for (let i = start; i < end; i++) {
    rankOrderEncode(imageAt(images, i), T, spikeTimes);
    engine.runSample(spikeTimes);
    const out = engine.outputSpikes();
    builder.add(out.neuron, out.count);
    addLastSample(totals, engine, macs);
    onProgress?.(i - start + 1);
  }
  return { features: builder.build(), totals };
}

/** What {@link extractInSlices} extracts and whom it tells. */
export interface SliceOptions {
  /** Images per slice; the event loop runs between slices. Default 1,000. */
  chunk?: number;
  /** Called with the number of images done so far in this call. */
  onProgress?: (done: number) => void;
  /** Called in order with each finished slice [start, end), its features and figures. */
  onChunk?: (start: number, end: number, features: SparseFeatures, totals: RunTotals) => void;
  signal?: AbortSignal;
}

/**
 * {@link extractFeatures} on this thread in slices, letting the event loop run between them
 * (so that Ctrl-C is heard) and stopping with an {@link InterruptedError} once `signal` aborts.
 * The result is identical to one call of {@link extractFeatures}.
 */
export async function extractInSlices(engine: Engine, images: ImageSet, start: number, end: number, options: SliceOptions = {}): Promise<ExtractResult> {
  const chunk = options.chunk ?? 1000;
  const blocks: SparseFeatures[] = [];
  const totals = emptyTotals();
  for (let s = start; s < end; s += chunk) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (options.signal?.aborted) throw new InterruptedError(options.signal.reason);
    const e = Math.min(end, s + chunk);
    const part = extractFeatures(engine, images, s, e, (done) => options.onProgress?.(s - start + done));
    blocks.push(part.features);
    mergeTotals(totals, part.totals);
    options.onChunk?.(s, e, part.features, part.totals);
  }
  return { features: concatFeatures(blocks, featureCount(engine)), totals };
}
