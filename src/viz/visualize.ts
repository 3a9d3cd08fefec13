/**
 * The five pictures of a trained network, written into a folder: `weights.png`,
 * `weight-histogram.png`, `convergence.png`, `raster.png` and `predictions.png`.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { imageAt, type ImageSet } from '../data/idx.js';
import { EvspikeError } from '../errors.js';
import { Engine } from '../events/engine.js';
import { rankOrderEncode } from '../neurons/encoder.js';
import { neuronCount, type ResolvedConvLayer } from '../neurons/network.js';
import type { Checkpoint } from '../pipeline/checkpoint.js';
import { extractFeatures } from '../pipeline/extract.js';
import { predictLabels } from '../readout/linear-svm.js';
import { writeFileAtomic } from '../util/atomic.js';
import { BLACK, BLUE, categoryColour } from './canvas.js';
import { convergenceImage, predictionsImage, rasterImage, weightHistogramImage, weightsImage, type KernelSet, type PredictionPanel, type RasterLayer } from './plots.js';

export const PICTURES = ['weights.png', 'weight-histogram.png', 'convergence.png', 'raster.png', 'predictions.png'] as const;

export interface VisualizeOptions {
  /** Test images shown in predictions.png. Default 50. */
  samples?: number;
  /** Misclassified test images shown beside them in predictions.png (0-50). Default 20. */
  errors?: number;
  /** Test image of the raster. Default 0. */
  rasterSample?: number;
}

function ensureFolder(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new EvspikeError(`${dir}: cannot create the output folder: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!statSync(dir).isDirectory()) throw new EvspikeError(`${dir}: is not a folder`);
}

/** Draw the pictures of `checkpoint` (weights and training from it; raster and predictions on `test`). */
export function visualizeCheckpoint(checkpoint: Checkpoint, test: ImageSet, outDir: string, options: VisualizeOptions = {}): string[] {
  const samples = Math.min(options.samples ?? 50, test.count);
  const rasterSample = options.rasterSample ?? 0;
  const errors = options.errors ?? 20;
  if (!(Number.isInteger(samples) && samples >= 1)) throw new EvspikeError(`samples: expected a positive integer, got ${options.samples}`);
  if (!(Number.isInteger(errors) && errors >= 0 && errors <= 50)) throw new EvspikeError(`errors: expected an integer in [0, 50], got ${options.errors}`);
  if (!(Number.isInteger(rasterSample) && rasterSample >= 0 && rasterSample < test.count)) {
    throw new EvspikeError(`rasterSample: expected an index in [0, ${test.count - 1}], got ${rasterSample}`);
  }
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw new EvspikeError(`${outDir}: is not a folder`);
  ensureFolder(outDir);
  const net = checkpoint.scenario.network;
  const convs = net.layers.filter((l): l is ResolvedConvLayer => l.kind === 'conv');
  const layers = checkpoint.payload.layers;
  const written: string[] = [];
  const write = (name: string, png: Uint8Array): void => {
    writeFileAtomic(join(outDir, name), png);
    written.push(join(outDir, name));
  };

  const sets: KernelSet[] = convs.map((spec, i) => ({
    title: `CONV LAYER ${spec.index}: ${spec.maps} MAPS OF ${spec.kernelSize}X${spec.kernelSize}${spec.inShape.channels > 1 ? `, MEAN OVER ${spec.inShape.channels} INPUT MAPS` : ''}   BLACK ${spec.weightMin}, WHITE ${spec.weightMax}`,
    maps: spec.maps,
    inChannels: spec.inShape.channels,
    kernelSize: spec.kernelSize,
    weights: layers[i].weights,
    weightMin: spec.weightMin,
    weightMax: spec.weightMax,
  }));
  write('weights.png', weightsImage(sets).toPng());
  write('weight-histogram.png', weightHistogramImage(layers[0].initialWeights, layers[0].weights, convs[0].weightMin, convs[0].weightMax).toPng());
  write(
    'convergence.png',
    convergenceImage(
      layers.map((l) => ({ label: `LAYER ${l.layer}: ${l.samples} SAMPLES, ${l.stoppedBy.toUpperCase()}`, q: l.convergenceHistory })),
      checkpoint.scenario.training.convergenceThreshold,
    ).toPng(),
  );

  const engine = new Engine(net, { weights: layers.map((l) => l.weights) });
  const spikeTimes = new Int32Array(test.height * test.width);
  rankOrderEncode(imageAt(test, rasterSample), net.timeBins, spikeTimes);
  engine.runSample(spikeTimes);
  const raster: RasterLayer[] = net.layers.map((spec, li) => {
    const log = engine.layer(li).spikes;
    const n = neuronCount(spec.outShape);
    const positions = spec.outShape.height * spec.outShape.width;
    const base = { neurons: spec.kind === 'conv' ? positions : n, count: log.count, time: log.time.subarray(0, log.count) };
    switch (spec.kind) {
      case 'input':
        return { ...base, title: `INPUT: ${n} PIXELS`, yLabel: 'PIXEL', neuron: log.neuron.subarray(0, log.count), colour: () => BLACK };
      case 'conv': {
        // one spike per position at most: the position is the row, the map the colour
        const mapAt = new Int32Array(positions);
        const rows = Int32Array.from(log.neuron.subarray(0, log.count), (flat) => {
          mapAt[flat % positions] = Math.floor(flat / positions);
          return flat % positions;
        });
        return { ...base, title: `CONV ${li}: COLOUR = MAP`, yLabel: 'POSITION', neuron: rows, colour: (pos: number) => categoryColour(mapAt[pos], spec.maps) };
      }
      case 'pool':
        return { ...base, title: `POOL ${li}: ${n} NEURONS`, neuron: log.neuron.subarray(0, log.count), colour: () => BLUE };
      default: {
        const _exhaustive: never = spec;
        return _exhaustive;
      }
    }
  });
  write('raster.png', rasterImage(raster, net.timeBins).toPng());

  const r = checkpoint.payload.readout;
  if (r !== undefined) {
    const readout = { classes: r.classes, features: r.features, weights: Float64Array.from(r.weights) };
    const { features } = extractFeatures(engine, test, 0, samples);
    const predicted = predictLabels(readout, features);
    const indices = Array.from({ length: samples }, (_, i) => i);
    const first: PredictionPanel = { images: indices.map((i) => imageAt(test, i)), indices, truth: test.labels.subarray(0, samples), predicted };
    // the first mistakes over the test images the run evaluated, found a block at a time
    const evaluated = Math.min(checkpoint.scenario.limits.test, test.count);
    const wrong: { index: number; predicted: number }[] = [];
    for (let start = 0; start < evaluated && wrong.length < errors; start += 500) {
      const end = Math.min(evaluated, start + 500);
      const block = start < samples && end <= samples ? predicted.subarray(start, end) : predictLabels(readout, extractFeatures(engine, test, start, end).features);
      for (let k = 0; k < block.length && wrong.length < errors; k++) if (block[k] !== test.labels[start + k]) wrong.push({ index: start + k, predicted: block[k] });
    }
    const mistakes: PredictionPanel = {
      images: wrong.map((m) => imageAt(test, m.index)),
      indices: wrong.map((m) => m.index),
      truth: wrong.map((m) => test.labels[m.index]),
      predicted: wrong.map((m) => m.predicted),
    };
    write('predictions.png', predictionsImage(first, mistakes, test.height, test.width).toPng());
  }
  return written;
}
