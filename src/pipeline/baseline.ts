/**
 * The raw-pixel baseline of the paper (the authors' `baseline.py`): the same linear SVM readout
 * (one-vs-rest, squared hinge, C from the scenario) trained directly on the pixels, scaled to
 * [0, 1], with no network in front. It tells what the spiking network adds.
 */
import type { Dataset } from '../data/datasets.js';
import type { ImageSet } from '../data/idx.js';
import type { SparseFeatures } from '../readout/features.js';
import { accuracy, predictLabels, trainLinearReadout } from '../readout/linear-svm.js';
import { peakMemoryMB } from '../util/memory.js';
import type { ResolvedScenario } from './scenario.js';

/** The pixels of the first `count` images as features: the non-zero pixels, value intensity / 255. */
export function pixelFeatures(images: ImageSet, count: number): SparseFeatures {
  const hw = images.height * images.width;
  const offsets = new Int32Array(count + 1);
  let nnz = 0;
  for (let i = 0; i < count * hw; i++) if (images.pixels[i] !== 0) nnz++;
  const indices = new Int32Array(nnz);
  const values = new Float64Array(nnz);
  let k = 0;
  for (let i = 0; i < count; i++) {
    for (let p = 0; p < hw; p++) {
      const v = images.pixels[i * hw + p];
      if (v !== 0) {
        indices[k] = p;
        values[k] = v / 255;
        k++;
      }
    }
    offsets[i + 1] = k;
  }
  return { rows: count, cols: hw, offsets, indices, values };
}

/**
 * Train the scenario's readout on the raw pixels of its training images (its `limits.extract`)
 * and test it on its test images (`limits.test`); the report has the keys of a run's that apply.
 */
export function runPixelBaseline(scenario: ResolvedScenario, data: Dataset): Record<string, unknown> {
  const started = performance.now();
  const trainCount = Math.min(scenario.limits.extract, data.train.count);
  const testCount = Math.min(scenario.limits.test, data.test.count);
  const train = pixelFeatures(data.train, trainCount);
  const test = pixelFeatures(data.test, testCount);
  const readout = trainLinearReadout(train, data.train.labels, scenario.readout);
  const readoutSeconds = (performance.now() - started) / 1000;
  return {
    baseline: 'raw-pixels',
    accuracy: accuracy(predictLabels(readout, test), data.test.labels.subarray(0, testCount)),
    trainAccuracy: accuracy(predictLabels(readout, train), data.train.labels.subarray(0, trainCount)),
    features: train.cols,
    readoutTrainSamples: trainCount,
    testSamples: testCount,
    iterations: [...readout.iterations],
    seconds: { train: 0, extract: 0, readout: readoutSeconds, total: (performance.now() - started) / 1000 },
    seed: scenario.seed,
    peakMemoryMB: peakMemoryMB(),
  };
}
