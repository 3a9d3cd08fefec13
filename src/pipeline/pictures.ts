/**
 * The data of a checkpoint's figures, gathered by running what must be run (one test sample
 * for the raster, test images for the predictions); `viz` turns it into Vega-Lite charts and
 * renders them. The orchestration lives here, the drawing there.
 */
import { imageAt, type ImageSet } from '../data/idx.js';
import { OptionError } from '../errors.js';
import { Engine } from '../events/engine.js';
import { rankOrderEncode } from '../neurons/encoder.js';
import { trainableLayers, type ResolvedConvLayer } from '../neurons/network.js';
import { neuronCount } from '../neurons/shape.js';
import { predictLabels } from '../readout/linear-svm.js';
import type { PicturesData } from '../viz/data.js';
import { drawFigures } from '../viz/figures.js';
import type { Checkpoint } from './checkpoint.js';
import { extractFeatures } from './extract.js';

export interface PicturesOptions {
  /** Test images of the predictions' first panel (1-150). Default 50. */
  samples?: number;
  /** The first misclassified test images, beside them (0-50). Default 20. */
  errors?: number;
  /** Test image of the raster. Default 0. */
  rasterSample?: number;
}

/** Gather the data of the pictures of `checkpoint`; the raster and predictions run on `test`. */
export function picturesData(checkpoint: Checkpoint, test: ImageSet, options: PicturesOptions = {}): PicturesData {
  const samples = Math.min(options.samples ?? 50, test.count);
  const errors = options.errors ?? 20;
  const rasterSample = options.rasterSample ?? 0;
  if (!(Number.isInteger(samples) && samples >= 1 && samples <= 150)) throw new OptionError('samples', options.samples, 'an integer in [1, 150]');
  if (!(Number.isInteger(errors) && errors >= 0 && errors <= 50)) throw new OptionError('errors', options.errors, 'an integer in [0, 50]');
  if (!(Number.isInteger(rasterSample) && rasterSample >= 0 && rasterSample < test.count)) throw new OptionError('rasterSample', rasterSample, `an index in [0, ${test.count - 1}]`);
  const net = checkpoint.scenario.network;
  const trained = checkpoint.payload.layers;
  const specs = trainableLayers(net) as ResolvedConvLayer[];
  const kernels = specs.map((spec, i) => ({
    layer: spec.index,
    maps: spec.maps,
    inChannels: spec.inShape.channels,
    kernelSize: spec.kernelSize,
    weights: trained[i].weights,
    weightMin: spec.weightMin,
    weightMax: spec.weightMax,
  }));

  const engine = new Engine(net, { weights: trained.map((l) => l.weights) });
  const spikeTimes = new Int32Array(test.height * test.width);
  rankOrderEncode(imageAt(test, rasterSample), net.timeBins, spikeTimes);
  engine.runSample(spikeTimes);
  const raster = net.layers.map((spec, layer) => {
    const log = engine.layer(layer).spikes;
    return {
      layer,
      kind: spec.kind,
      neurons: neuronCount(spec.outShape),
      positions: spec.outShape.height * spec.outShape.width,
      maps: spec.outShape.channels,
      neuron: log.neuron.slice(0, log.count),
      time: log.time.slice(0, log.count),
    };
  });

  const data: PicturesData = {
    kernels,
    histogram: { before: trained[0]?.initialWeights ?? [], after: trained[0]?.weights ?? [], weightMin: specs[0]?.weightMin ?? 0, weightMax: specs[0]?.weightMax ?? 1 },
    convergence: {
      threshold: checkpoint.scenario.training.convergenceThreshold,
      layers: trained.map((l) => ({ layer: l.layer, samples: l.samples, stoppedBy: l.stoppedBy, history: l.convergenceHistory })),
    },
    raster: { sample: rasterSample, timeBins: net.timeBins, layers: raster },
  };

  const r = checkpoint.payload.readout;
  if (r !== undefined) {
    const readout = { classes: r.classes, features: r.features, weights: Float64Array.from(r.weights) };
    const predicted = Array.from(predictLabels(readout, extractFeatures(engine, test, 0, samples).features));
    const indices = Array.from({ length: samples }, (_, i) => i);
    const first = { images: indices.map((i) => imageAt(test, i)), indices, truth: indices.map((i) => test.labels[i]), predicted };
    // the first mistakes over the test images the run evaluated, found a block at a time
    const evaluated = Math.min(checkpoint.scenario.limits.test, test.count);
    const wrong: { index: number; predicted: number }[] = [];
    for (let start = 0; start < evaluated && wrong.length < errors; start += 500) {
      const end = Math.min(evaluated, start + 500);
      const block = end <= samples ? predicted.slice(start, end) : Array.from(predictLabels(readout, extractFeatures(engine, test, start, end).features));
      for (let k = 0; k < block.length && wrong.length < errors; k++) if (block[k] !== test.labels[start + k]) wrong.push({ index: start + k, predicted: block[k] });
    }
    const mistakes = {
      images: wrong.map((m) => imageAt(test, m.index)),
      indices: wrong.map((m) => m.index),
      truth: wrong.map((m) => test.labels[m.index]),
      predicted: wrong.map((m) => m.predicted),
    };
    data.predictions = { height: test.height, width: test.width, first, mistakes };
  }
  return data;
}

/** Gather the data of a checkpoint's figures (running what must be run) and draw them into `outDir`. */
export async function visualizeCheckpoint(checkpoint: Checkpoint, test: ImageSet, outDir: string, options: PicturesOptions = {}): Promise<string[]> {
  return drawFigures(picturesData(checkpoint, test, options), outDir);
}
