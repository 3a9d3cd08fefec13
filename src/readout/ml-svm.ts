/**
 * The `ml-svm` readout: one-vs-rest over ml-svm's SMO (a kernel SVM, hinge loss, linear
 * kernel here), for small training subsets and as an independent oracle of the linear
 * readout. SMO works on dense rows and grows quadratically with the samples, so it refuses
 * more than {@link ML_SVM_MAX_SAMPLES}. The trained model is folded into the same linear form
 * as the linear readout (weights plus a bias), so prediction and checkpoints are shared.
 */
import SVM from 'ml-svm';
import { OptionError } from '../errors.js';
import { SeededRandom } from '../util/random.js';
import type { SparseFeatures } from './features.js';
import { classesOf, resolveLinearSvmOptions, type LinearReadout, type LinearSvmOptions } from './linear-svm.js';

/** Training samples the ml-svm readout accepts at most (about 14 s per class at 1,000). */
export const ML_SVM_MAX_SAMPLES = 2000;

function denseRows(f: SparseFeatures): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < f.rows; i++) {
    const r = new Array<number>(f.cols).fill(0);
    for (let k = f.offsets[i]; k < f.offsets[i + 1]; k++) r[f.indices[k]] = 1;
    rows.push(r);
  }
  return rows;
}

/** Train the one-vs-rest ml-svm readout. */
export function trainMlSvmReadout(
  features: SparseFeatures,
  labels: ArrayLike<number>,
  options: LinearSvmOptions = {},
  onClass?: (classesDone: number) => void,
): LinearReadout {
  if (features.rows > ML_SVM_MAX_SAMPLES) {
    throw new OptionError(
      'readout',
      `ml-svm on ${features.rows} samples`,
      `at most ${ML_SVM_MAX_SAMPLES} training samples for the ml-svm readout (SMO grows quadratically); use --extract-limit ${ML_SVM_MAX_SAMPLES} or the linear-svm readout`,
    );
  }
  const opts = resolveLinearSvmOptions(options);
  const classes = classesOf(labels, features.rows);
  if (classes.length < 2) throw new OptionError('labels', classes, 'at least two classes in the training labels');
  const x = denseRows(features);
  const stride = features.cols + 1;
  const weights = new Float64Array(classes.length * stride);
  const random = new SeededRandom(opts.seed);
  classes.forEach((label, c) => {
    const svm = new SVM({ C: opts.C, kernel: 'linear', whitening: false, maxIterations: opts.maxIterations, random: () => random.nextFloat() });
    const y: number[] = [];
    for (let i = 0; i < features.rows; i++) y.push(labels[i] === label ? 1 : -1);
    try {
      svm.train(x, y);
    } catch (e) {
      throw new OptionError('readout.maxIterations', opts.maxIterations, `enough iterations for ml-svm (${(e as Error).message})`);
    }
    for (let j = 0; j < features.cols; j++) weights[c * stride + j] = svm.W[j];
    weights[c * stride + features.cols] = svm.b;
    onClass?.(c + 1);
  });
  return { kind: 'linear-svm', classes, features: features.cols, weights, iterations: classes.map(() => 0), options: opts };
}
