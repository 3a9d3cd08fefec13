/**
 * The linear SVM readout (SPEC §6): L2-regularised squared-hinge (L2-loss) SVM, one-vs-rest,
 * with a bias feature of constant value 1 (regularised like the others, as liblinear and
 * scikit-learn's LinearSVC do), trained by dual coordinate descent — the algorithm of
 * liblinear's `solve_l2r_l1l2_svc` (Hsieh et al. 2008, "A dual coordinate descent method for
 * large-scale linear SVM"), with its shrinking and stopping rule.
 *
 * The primal problem of one class: min_w ½‖w‖² + C Σ_i max(0, 1 − y_i w·x̃_i)², x̃_i = (x_i, 1).
 * Its dual: min_α ½ αᵀ(Q + D)α − eᵀα, α ≥ 0, Q_ij = y_i y_j x̃_i·x̃_j, D = I/(2C); then
 * w = Σ_i α_i y_i x̃_i. Features are binary, so x̃_i·w is a sum of gathered weights; features
 * with values (raw-pixel baselines) take the products.
 */
import { OptionError } from '../errors.js';
import { SeededRandom } from '../util/random.js';
import { finiteNumber, integer } from '../util/validate.js';
import { compactIndices, type SparseFeatures } from './features.js';
import { nativeKernelModule, resolveKernel } from '../neurons/kernels/integrate.js';

export interface LinearSvmOptions {
  /** Regularisation C. Default 0.005 (the authors'). */
  C?: number;
  /** Stopping tolerance on the projected-gradient gap. Default 1e-4 (scikit-learn's LinearSVC). */
  tolerance?: number;
  /** Passes over the data at most, per class. Default 10,000 (the authors' max_iter). */
  maxIterations?: number;
  /** Seed of the coordinate order. Default 0. */
  seed?: number;
}

export type ResolvedLinearSvmOptions = Readonly<Required<LinearSvmOptions>>;

export function resolveLinearSvmOptions(options: LinearSvmOptions = {}, path = 'readout'): ResolvedLinearSvmOptions {
  return {
    C: finiteNumber(`${path}.C`, options.C, 0.005, { above: 0 }),
    tolerance: finiteNumber(`${path}.tolerance`, options.tolerance, 1e-4, { above: 0 }),
    maxIterations: integer(`${path}.maxIterations`, options.maxIterations, 10_000, { min: 1 }),
    seed: integer(`${path}.seed`, options.seed, 0, { min: 0, max: 0xffffffff }),
  };
}

/** One binary problem's solution: weights of the features, then the bias weight. */
export interface BinarySvm {
  /** cols + 1 values: w_0 … w_{cols−1}, then the bias weight. */
  weights: Float64Array;
  /** Passes over the data. */
  iterations: number;
  /** Whether the tolerance was reached before maxIterations. */
  converged: boolean;
}

/**
 * Rows as the solver reads them: {@link SparseFeatures}, or the same with 16-bit indices (which
 * a caller with fewer than 65,536 features may hand over already narrowed, as the worker pool
 * does through shared memory).
 */
export interface SvmRows {
  readonly rows: number;
  readonly cols: number;
  readonly offsets: Int32Array;
  readonly indices: Int32Array | Uint16Array;
  readonly values?: Float64Array;
}

/**
 * Train one binary L2-loss SVM by dual coordinate descent.
 * @param positive per sample, whether it is of the positive class
 * @param solver `auto`: a pass over binary features with 16-bit indices runs in the native
 *   module where the native kernel is in use (the same operations in the same order: the
 *   same weights, bit for bit); `js`: always the JavaScript loop
 */
export function trainBinarySvm(features: SvmRows, positive: (i: number) => boolean, options: ResolvedLinearSvmOptions, solver: 'auto' | 'js' = 'auto'): BinarySvm {
  const { rows: l, cols, offsets, values } = features;
  // the solver's passes read every row many times: the narrowest index array reads fastest
  const indices = features.indices instanceof Uint16Array ? features.indices : compactIndices({ ...features, indices: features.indices });
  const bias = cols; // index of the bias weight
  const w = new Float64Array(cols + 1);
  const alpha = new Float64Array(l);
  const y = new Int8Array(l);
  const qd = new Float64Array(l);
  const diag = 0.5 / options.C;
  for (let i = 0; i < l; i++) {
    y[i] = positive(i) ? 1 : -1;
    // x̃_i · x̃_i: the number of active binary features (or the sum of squared values), plus 1 for the bias
    let norm = offsets[i + 1] - offsets[i];
    if (values !== undefined) {
      norm = 0;
      for (let k = offsets[i]; k < offsets[i + 1]; k++) norm += values[k] * values[k];
    }
    qd[i] = diag + norm + 1;
  }
  const index = new Int32Array(l);
  for (let i = 0; i < l; i++) index[i] = i;
  const random = new SeededRandom(options.seed);
  let activeSize = l;
  let pgMaxOld = Infinity;
  let pgMinOld = -Infinity;
  let iter = 0;
  let converged = false;
  const native = solver === 'auto' && values === undefined && indices instanceof Uint16Array && resolveKernel('auto') === 'native' ? nativeKernelModule() : null;
  const extremes = new Float64Array(2);
  const randomState = new Uint32Array(4);
  while (iter < options.maxIterations) {
    let pgMaxNew = -Infinity;
    let pgMinNew = Infinity;
    if (native !== null) {
      // the shuffle (the same draws and swaps; ~10 % of a class's time in JavaScript) and the
      // pass in native code
      random.getState(randomState);
      native.shuffleActive(index, activeSize, randomState);
      random.setState(randomState);
      activeSize = native.svmPass(index, activeSize, offsets, indices as Uint16Array, y, alpha, qd, w, diag, pgMaxOld, extremes);
      pgMaxNew = extremes[0];
      pgMinNew = extremes[1];
    } else {
      for (let i = 0; i < activeSize; i++) {
        const j = i + random.nextInt(activeSize - i);
        const t = index[i];
        index[i] = index[j];
        index[j] = t;
      }
      for (let s = 0; s < activeSize; s++) {
        const i = index[s];
        const yi = y[i];
        const start = offsets[i];
        const end = offsets[i + 1];
        let dot = w[bias];
        if (values === undefined) for (let k = start; k < end; k++) dot += w[indices[k]];
        else for (let k = start; k < end; k++) dot += w[indices[k]] * values[k];
        const g = yi * dot - 1 + alpha[i] * diag;
        let pg = 0;
        if (alpha[i] === 0) {
          if (g > pgMaxOld) {
            // shrink: this coordinate is unlikely to move again
            activeSize--;
            index[s] = index[activeSize];
            index[activeSize] = i;
            s--;
            continue;
          } else if (g < 0) {
            pg = g;
          }
        } else {
          pg = g; // L2 loss: no upper bound on α
        }
        if (pg > pgMaxNew) pgMaxNew = pg;
        if (pg < pgMinNew) pgMinNew = pg;
        if (Math.abs(pg) > 1e-12) {
          const old = alpha[i];
          const next = Math.max(old - g / qd[i], 0);
          alpha[i] = next;
          const d = (next - old) * yi;
          if (d !== 0) {
            if (values === undefined) for (let k = start; k < end; k++) w[indices[k]] += d;
            else for (let k = start; k < end; k++) w[indices[k]] += d * values[k];
            w[bias] += d;
          }
        }
      }
    }
    iter++;
    if (pgMaxNew - pgMinNew <= options.tolerance) {
      if (activeSize === l) {
        converged = true;
        break;
      }
      // converged on the active set: check all coordinates again
      activeSize = l;
      pgMaxOld = Infinity;
      pgMinOld = -Infinity;
      continue;
    }
    pgMaxOld = pgMaxNew;
    pgMinOld = pgMinNew;
    if (pgMaxOld <= 0) pgMaxOld = Infinity;
    if (pgMinOld >= 0) pgMinOld = -Infinity;
  }
  return { weights: w, iterations: iter, converged };
}

/** A trained one-vs-rest linear readout. */
export interface LinearReadout {
  readonly kind: 'linear-svm';
  /** The class labels, in the order of `weights`' rows. */
  readonly classes: readonly number[];
  readonly features: number;
  /** classes × (features + 1): per class its feature weights, then its bias weight. */
  readonly weights: Float64Array;
  readonly iterations: readonly number[];
  readonly options: ResolvedLinearSvmOptions;
}

/** The distinct labels of `labels[0 … rows)`, ascending. */
export function classesOf(labels: ArrayLike<number>, rows: number): number[] {
  const set = new Set<number>();
  for (let i = 0; i < rows; i++) set.add(labels[i]);
  return [...set].sort((a, b) => a - b);
}

/**
 * Train the one-vs-rest readout on the first `features.rows` labels. `classIndices` selects
 * which classes to train (all by default), so that workers can share them out.
 */
export function trainLinearReadout(
  features: SparseFeatures,
  labels: ArrayLike<number>,
  options: LinearSvmOptions = {},
  onClass?: (classIndex: number, result: BinarySvm) => void,
  classIndices?: readonly number[],
): LinearReadout {
  const opts = resolveLinearSvmOptions(options);
  if (labels.length < features.rows) throw new OptionError('labels', labels.length, `at least ${features.rows} labels`);
  const classes = classesOf(labels, features.rows);
  if (classes.length < 2) throw new OptionError('labels', classes, 'at least two classes in the training labels');
  const stride = features.cols + 1;
  const weights = new Float64Array(classes.length * stride);
  const iterations = new Array<number>(classes.length).fill(0);
  for (const c of classIndices ?? classes.map((_, i) => i)) {
    const label = classes[c];
    const result = trainBinarySvm(features, (i) => labels[i] === label, opts);
    weights.set(result.weights, c * stride);
    iterations[c] = result.iterations;
    onClass?.(c, result);
  }
  return { kind: 'linear-svm', classes, features: features.cols, weights, iterations, options: opts };
}

/** Class scores of every sample: rows × classes, row-major. */
export function readoutScores(readout: Pick<LinearReadout, 'classes' | 'features' | 'weights'>, features: SparseFeatures): Float64Array {
  const nc = readout.classes.length;
  const stride = readout.features + 1;
  if (features.cols !== readout.features) {
    throw new OptionError('features', features.cols, `${readout.features} features, as the readout was trained on`);
  }
  const scores = new Float64Array(features.rows * nc);
  const w = readout.weights;
  const badIndex = (): OptionError => new OptionError('features', 'an index', `feature indices in [0, ${readout.features})`);
  const native = features.values === undefined && resolveKernel('auto') === 'native' ? nativeKernelModule() : null;
  if (native !== null) {
    // the same sums, each class's in the same order, the classes side by side ([feature][class]):
    // 31-39 ms instead of 158-168 for MNIST's 60,000 training rows
    const transposed = new Float64Array(stride * nc);
    for (let c = 0; c < nc; c++) for (let f = 0; f < stride; f++) transposed[f * nc + c] = w[c * stride + f];
    const offsets = features.offsets.subarray(0, features.rows + 1);
    if (native.readoutScores(offsets, features.indices, transposed, readout.features, nc, scores) < 0) throw badIndex();
    return scores;
  }
  for (let i = 0; i < features.rows; i++) {
    const start = features.offsets[i];
    const end = features.offsets[i + 1];
    for (let k = start; k < end; k++) if (!(features.indices[k] >= 0 && features.indices[k] < readout.features)) throw badIndex();
    for (let c = 0; c < nc; c++) {
      const base = c * stride;
      let s = w[base + readout.features];
      if (features.values === undefined) for (let k = start; k < end; k++) s += w[base + features.indices[k]];
      else for (let k = start; k < end; k++) s += w[base + features.indices[k]] * features.values[k];
      scores[i * nc + c] = s;
    }
  }
  return scores;
}

/** Predicted labels: the class of the largest score (ties: the first class). */
export function predictLabels(readout: Pick<LinearReadout, 'classes' | 'features' | 'weights'>, features: SparseFeatures): Int32Array {
  const scores = readoutScores(readout, features);
  const nc = readout.classes.length;
  const out = new Int32Array(features.rows);
  for (let i = 0; i < features.rows; i++) {
    let best = 0;
    for (let c = 1; c < nc; c++) if (scores[i * nc + c] > scores[i * nc + best]) best = c;
    out[i] = readout.classes[best];
  }
  return out;
}

/** Fraction of `predicted` equal to `labels`. */
export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  let right = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === labels[i]) right++;
  return predicted.length === 0 ? 0 : right / predicted.length;
}
