/**
 * Unsupervised training of the conv layers with VDSP (SPEC §4): images presented one at a
 * time in a seeded order, stopping as soon as the convergence measure Q falls below the
 * threshold, at the end of the epochs, or at a sample limit. Conv layers are trained one after
 * another; while one learns, the layers after it are not simulated.
 */
import { Engine } from '../events/engine.js';
import { imageAt, type ImageSet } from '../data/idx.js';
import { OptionError } from '../errors.js';
import { ConvLayer } from '../neurons/conv.js';
import { rankOrderEncode } from '../neurons/encoder.js';
import { convergence } from '../plasticity/convergence.js';
import { SeededRandom, shuffledIndices } from '../util/random.js';
import { finiteNumber, integer } from '../util/validate.js';

export interface TrainOptions {
  /** Stop when Q < this. Default 0.01. */
  convergenceThreshold?: number;
  /** Passes over the training set at most. Default 1. */
  epochs?: number;
  /** Training samples per conv layer at most. Default: no limit beyond the epochs. */
  maxSamples?: number;
}

export type ResolvedTrainOptions = Readonly<Required<TrainOptions>>;

export function resolveTrainOptions(options: TrainOptions = {}): ResolvedTrainOptions {
  return {
    convergenceThreshold: finiteNumber('convergenceThreshold', options.convergenceThreshold, 0.01, { above: 0 }),
    epochs: integer('epochs', options.epochs, 1, { min: 1 }),
    maxSamples: integer('maxSamples', options.maxSamples, Number.MAX_SAFE_INTEGER, { min: 0 }),
  };
}

/** How the training of one conv layer went. */
export interface LayerTrainResult {
  /** Index of the layer in the network. */
  layer: number;
  /** Samples presented. */
  samples: number;
  /** Q after the last sample. */
  convergence: number;
  stoppedBy: 'convergence' | 'epochs' | 'limit';
  /** Q after each sample, in order. */
  convergenceHistory: Float64Array;
  learningRate: number;
  applications: number;
}

export interface TrainProgress {
  layer: number;
  samples: number;
  convergence: number;
}

/**
 * Train every conv layer of `engine`, one after another, on `images` in the order given by a
 * shuffle drawn once per epoch from `random`'s stream `derive('shuffle')` (so the order does not
 * depend on anything else drawn from `random`, such as the weights of the layers).
 */
export function trainNetwork(
  engine: Engine,
  images: ImageSet,
  random: SeededRandom,
  options: TrainOptions = {},
  onSample?: (progress: TrainProgress) => void,
): LayerTrainResult[] {
  const steps = trainingSteps(engine, images, random, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    onSample?.(step.value);
  }
}

/**
 * {@link trainNetwork} one sample at a time: a generator that yields the progress after each
 * training sample and returns the results, so that a caller can pause between samples (to
 * stay responsive to Ctrl-C) or stop early.
 */
export function* trainingSteps(engine: Engine, images: ImageSet, random: SeededRandom, options: TrainOptions = {}): Generator<TrainProgress, LayerTrainResult[], void> {
  const opts = resolveTrainOptions(options);
  const net = engine.network;
  if (images.height !== net.layers[0].outShape.height || images.width !== net.layers[0].outShape.width) {
    throw new OptionError('images', `${images.height}×${images.width}`, `images of the network's input size ${net.layers[0].outShape.height}×${net.layers[0].outShape.width}`);
  }
  const shuffle = random.derive('shuffle');
  const orders: Int32Array[] = [];
  const orderFor = (epoch: number): Int32Array => {
    while (orders.length <= epoch) orders.push(shuffledIndices(images.count, shuffle));
    return orders[epoch];
  };
  const spikeTimes = new Int32Array(images.height * images.width);
  const results: LayerTrainResult[] = [];
  for (let li = 1; li < net.layers.length; li++) {
    const layer = engine.layer(li);
    if (!(layer instanceof ConvLayer)) continue;
    const spec = layer.spec;
    const history: number[] = [];
    let q = convergence(layer.weights, spec.weightMin, spec.weightMax);
    let samples = 0;
    let stoppedBy: LayerTrainResult['stoppedBy'] = 'epochs';
    outer: for (let epoch = 0; epoch < opts.epochs; epoch++) {
      const order = orderFor(epoch);
      for (let i = 0; i < order.length; i++) {
        if (samples >= opts.maxSamples) {
          stoppedBy = 'limit';
          break outer;
        }
        rankOrderEncode(imageAt(images, order[i]), net.timeBins, spikeTimes);
        engine.runSample(spikeTimes, { learnLayer: li, lastLayer: li });
        samples++;
        q = convergence(layer.weights, spec.weightMin, spec.weightMax);
        history.push(q);
        yield { layer: li, samples, convergence: q };
        if (q < opts.convergenceThreshold) {
          stoppedBy = 'convergence';
          break outer;
        }
      }
    }
    results.push({
      layer: li,
      samples,
      convergence: q,
      stoppedBy,
      convergenceHistory: Float64Array.from(history),
      learningRate: layer.learning.learningRate,
      applications: layer.learning.applications,
    });
  }
  return results;
}
