/**
 * Evaluation of a saved run: extract the test images with the checkpoint's weights (over the
 * worker pool when asked), apply its readout, and report the accuracy and the figures.
 */
import type { ImageSet } from '../data/idx.js';
import { CheckpointError } from '../errors.js';
import { Engine } from '../events/engine.js';
import { accuracy, predictLabels } from '../readout/linear-svm.js';
import type { Checkpoint } from './checkpoint.js';
import { extractFeatures, featureCount, type ExtractResult } from './extract.js';
import { sampleFigures, type SampleFigures } from './run.js';
import { WorkerPool } from './workers.js';

export interface EvaluateOptions {
  checkpoint: Checkpoint;
  test: ImageSet;
  /** Test images evaluated (the first ones). */
  count: number;
  /** Worker threads (1: this thread). */
  workers: number;
  onProgress?: (done: number) => void;
}

export interface EvaluateResult extends SampleFigures {
  accuracy: number;
  testSamples: number;
  seconds: number;
}

/** Evaluate a complete checkpoint on the first `count` test images. */
export async function evaluateCheckpoint({ checkpoint, test, count, workers, onProgress }: EvaluateOptions): Promise<EvaluateResult> {
  const r = checkpoint.payload.readout;
  if (r === undefined || checkpoint.payload.phase !== 'complete') {
    throw new CheckpointError(checkpoint.dir, `the checkpoint has no readout yet (phase ${checkpoint.payload.phase}); finish it with: npx evspike run --resume ${checkpoint.dir}`);
  }
  const scenario = checkpoint.scenario;
  const engine = new Engine(scenario.network, { weights: checkpoint.payload.layers.map((l) => l.weights) });
  const cols = featureCount(engine);
  if (cols !== r.features) throw new CheckpointError(checkpoint.dir, `mismatched checkpoint: the readout has ${r.features} features, the network ${cols}`);
  const t0 = performance.now();
  let extracted: ExtractResult;
  if (workers > 1) {
    const pool = new WorkerPool(workers);
    try {
      extracted = await pool.extract({ network: scenario.networkOptions, weights: engine.convLayers.map((c) => c.weights), images: test, end: count, cols, onProgress });
    } finally {
      await pool.close();
    }
  } else {
    extracted = extractFeatures(engine, test, 0, count, onProgress);
  }
  const seconds = (performance.now() - t0) / 1000;
  const readout = { classes: r.classes, features: r.features, weights: Float64Array.from(r.weights) };
  return {
    accuracy: accuracy(predictLabels(readout, extracted.features), test.labels.subarray(0, count)),
    testSamples: count,
    ...sampleFigures(extracted.totals, scenario.network.timeBins),
    seconds,
  };
}
