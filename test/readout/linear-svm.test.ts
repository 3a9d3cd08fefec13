import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatFeatures, FeatureAppender, FeatureBuilder, sameFeatures, sharedCompactIndices, type SparseFeatures } from '../../src/readout/features.js';
import { accuracy, predictLabels, readoutScores, resolveLinearSvmOptions, trainBinarySvm, trainLinearReadout } from '../../src/readout/linear-svm.js';
import { trainMlSvmReadout, ML_SVM_MAX_SAMPLES } from '../../src/readout/ml-svm.js';
import { SeededRandom } from '../../src/util/random.js';

function features(rows: number[][], cols: number): SparseFeatures {
  const b = new FeatureBuilder(cols);
  for (const r of rows) b.add(r);
  return b.build();
}

/** Primal objective ½‖w‖² + C Σ max(0, 1 − y w·x̃)², bias included in w and x̃. */
function primal(f: SparseFeatures, y: number[], w: Float64Array, C: number): number {
  let obj = 0;
  for (const v of w) obj += 0.5 * v * v;
  for (let i = 0; i < f.rows; i++) {
    let dot = w[f.cols];
    for (let k = f.offsets[i]; k < f.offsets[i + 1]; k++) dot += w[f.indices[k]];
    const m = Math.max(0, 1 - y[i] * dot);
    obj += C * m * m;
  }
  return obj;
}

/** Plain gradient descent on the primal (smooth for the squared hinge): the reference optimum. */
function primalByGradientDescent(f: SparseFeatures, y: number[], C: number, steps = 20000): Float64Array {
  const w = new Float64Array(f.cols + 1);
  const lipschitz = 1 + 2 * C * f.rows * (f.cols + 1);
  for (let s = 0; s < steps; s++) {
    const g = Float64Array.from(w);
    for (let i = 0; i < f.rows; i++) {
      let dot = w[f.cols];
      for (let k = f.offsets[i]; k < f.offsets[i + 1]; k++) dot += w[f.indices[k]];
      const m = 1 - y[i] * dot;
      if (m <= 0) continue;
      const coef = -2 * C * m * y[i];
      for (let k = f.offsets[i]; k < f.offsets[i + 1]; k++) g[f.indices[k]] += coef;
      g[f.cols] += coef;
    }
    for (let j = 0; j < w.length; j++) w[j] -= g[j] / lipschitz;
  }
  return w;
}

const tight = resolveLinearSvmOptions({ tolerance: 1e-10, C: 0.5 });

describe('L2-loss SVM by dual coordinate descent', () => {
  it('solves a one-sample problem exactly: w = (a, a) with a = 2C / (1 + 4C)', () => {
    // one positive sample with one active feature, plus the bias: minimise a² + C (1 − 2a)²
    const f = features([[0]], 1);
    const { weights, converged } = trainBinarySvm(f, () => true, tight);
    expect(converged).toBe(true);
    const a = (2 * 0.5) / (1 + 4 * 0.5);
    expect(weights[0]).toBeCloseTo(a, 9);
    expect(weights[1]).toBeCloseTo(a, 9);
  });

  it('reaches the primal optimum on random small problems', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uniqueArray(fc.nat(5), { maxLength: 4 }), fc.boolean()), { minLength: 2, maxLength: 12 }),
        fc.constantFrom(0.005, 0.1, 1),
        (samples, C) => {
          const f = features(
            samples.map((s) => s[0]),
            6,
          );
          const y = samples.map((s) => (s[1] ? 1 : -1));
          const dual = trainBinarySvm(f, (i) => samples[i][1], resolveLinearSvmOptions({ C, tolerance: 1e-9, maxIterations: 100000 }));
          const reference = primalByGradientDescent(f, y, C);
          expect(primal(f, y, dual.weights, C)).toBeLessThanOrEqual(primal(f, y, reference, C) + 1e-7);
          for (let j = 0; j < dual.weights.length; j++) expect(dual.weights[j]).toBeCloseTo(reference[j], 4);
        },
      ),
      { seed: 4, numRuns: 40 },
    );
  });

  it('separates a separable multi-class problem and is deterministic', () => {
    const random = new SeededRandom(1);
    const rows: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 300; i++) {
      const label = i % 3;
      // each class turns on its own block of features, plus noise features
      const r = [label * 10 + random.nextInt(10), label * 10 + random.nextInt(10), 30 + random.nextInt(10)];
      rows.push([...new Set(r)]);
      labels.push(label);
    }
    const f = features(rows, 40);
    const a = trainLinearReadout(f, labels, { C: 0.1 });
    expect(accuracy(predictLabels(a, f), labels)).toBe(1);
    const b = trainLinearReadout(f, labels, { C: 0.1 });
    expect(Array.from(a.weights)).toEqual(Array.from(b.weights));
    // a single class can be trained alone with the same result (workers share classes out)
    const only2 = trainLinearReadout(f, labels, { C: 0.1 }, undefined, [2]);
    expect(Array.from(only2.weights.subarray(2 * 41))).toEqual(Array.from(a.weights.subarray(2 * 41)));
  });

  it('agrees with ml-svm (SMO, hinge loss) on a small problem', () => {
    const random = new SeededRandom(2);
    const rows: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 120; i++) {
      const label = i % 2;
      const r = new Set<number>();
      for (let k = 0; k < 6; k++) r.add(random.nextFloat() < 0.75 ? label * 20 + random.nextInt(20) : random.nextInt(40));
      rows.push([...r]);
      labels.push(label);
    }
    const train = features(rows.slice(0, 80), 40);
    const test = features(rows.slice(80), 40);
    const ours = predictLabels(trainLinearReadout(train, labels, { C: 0.1 }), test);
    const theirs = predictLabels(trainMlSvmReadout(train, labels, { C: 0.1 }), test);
    const truth = labels.slice(80);
    expect(accuracy(ours, truth)).toBeGreaterThan(0.85);
    expect(accuracy(theirs, truth)).toBeGreaterThan(0.85);
    expect(accuracy(ours, theirs)).toBeGreaterThanOrEqual(0.9);
  });

  it('refuses the ml-svm readout above its size limit, and bad options', () => {
    const big = features(Array.from({ length: ML_SVM_MAX_SAMPLES + 1 }, (_, i) => [i % 3]), 3);
    expect(() => trainMlSvmReadout(big, Array.from({ length: big.rows }, (_, i) => i % 2))).toThrow(/at most 2000 training samples for the ml-svm readout/);
    expect(() => resolveLinearSvmOptions({ C: 0 })).toThrow(/readout\.C: expected a finite number > 0, got 0/);
    expect(() => resolveLinearSvmOptions({ C: -1 })).toThrow(/readout\.C/);
    expect(() => trainLinearReadout(features([[0], [1]], 2), [1, 1])).toThrow(/at least two classes/);
  });
});

describe('compact features', () => {
  it('hold each sample\'s features ascending, distinct or not, in any order given', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.array(fc.array(fc.nat(), { maxLength: 60 }), { maxLength: 20 }), fc.boolean(), (cols, rows, unique) => {
        const given = rows.map((r) => r.map((x) => x % cols)).map((r) => (unique ? [...new Set(r)] : r));
        const b = new FeatureBuilder(cols, 2, 4);
        for (const r of given) b.add(Int32Array.from(r));
        const f = b.build();
        expect(f.rows).toBe(given.length);
        given.forEach((r, i) => expect(Array.from(f.indices.subarray(f.offsets[i], f.offsets[i + 1]))).toEqual([...r].sort((x, y) => x - y)));
      }),
      { seed: 20261201, numRuns: 300 },
    );
  });

  it('appended block by block equal the blocks concatenated, with the shared 16-bit copy alongside', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.array(fc.integer({ min: 0, max: 999 }), { maxLength: 30 }), { maxLength: 12 }), { maxLength: 8 }),
        fc.integer({ min: 0, max: 40 }),
        fc.boolean(),
        (blocksRows, expectedRows, shared16) => {
          const blocks = blocksRows.map((rows) => {
            const b = new FeatureBuilder(1000, 2, 4);
            for (const r of rows) b.add(Int32Array.from(new Set(r)));
            return b.build();
          });
          // expected rows too few, exact or too many: the appender grows as it must
          const a = new FeatureAppender(1000, expectedRows, shared16);
          for (const b of blocks) a.append(b);
          const f = a.build();
          expect(sameFeatures(f, concatFeatures(blocks, 1000))).toBe(true);
          const small = sharedCompactIndices(f);
          if (shared16) {
            expect(small!.buffer).toBeInstanceOf(SharedArrayBuffer);
            expect(Array.from(small!)).toEqual(Array.from(f.indices));
          } else {
            expect(small).toBeUndefined();
          }
        },
      ),
      { seed: 20261202, numRuns: 300 },
    );
    expect(() => new FeatureAppender(70_000, 10, true)).toThrow(/16-bit indices for 70000 features/);
  });
});

describe('the native pass of the solver', () => {
  it('gives the JavaScript loop\'s weights and passes, bit for bit', () => {
    // random binary problems with shared, repeated and empty rows (ties, rows that update and
    // rows that do not, shrinking), small C and large
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 400 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.constantFrom(0.005, 0.1, 10), (rows, cols, seed, C) => {
        const random = new SeededRandom(seed);
        const list = Array.from({ length: rows }, () => {
          const set = new Set<number>();
          const n = random.nextInt(Math.min(cols, 40) + 1);
          for (let k = 0; k < n; k++) set.add(random.nextInt(cols));
          return [...set];
        });
        const f = features(list, cols);
        const labels = Array.from({ length: rows }, () => random.nextInt(3));
        const options = resolveLinearSvmOptions({ C, seed });
        const js = trainBinarySvm(f, (i) => labels[i] === 0, options, 'js');
        const auto = trainBinarySvm(f, (i) => labels[i] === 0, options);
        expect(auto.iterations).toBe(js.iterations);
        expect(auto.converged).toBe(js.converged);
        expect(auto.weights.every((x, i) => Object.is(x, js.weights[i]))).toBe(true);
      }),
      { seed: 20261201, numRuns: 200 },
    );
  });
});

describe('features with values (the raw-pixel baseline)', () => {
  it('reach the primal optimum with values, and equal the binary solver when every value is 1', () => {
    const random = new SeededRandom(13);
    const rows = Array.from({ length: 40 }, () => [...new Set(Array.from({ length: 4 }, () => random.nextInt(8)))].sort((a, b) => a - b));
    const binary = features(rows, 8);
    const ones = { ...binary, values: new Float64Array(binary.indices.length).fill(1) };
    const positive = (i: number): boolean => rows[i].includes(3);
    const opts = resolveLinearSvmOptions({ C: 0.5, tolerance: 1e-9, maxIterations: 100000 });
    expect(Array.from(trainBinarySvm(ones, positive, opts).weights)).toEqual(Array.from(trainBinarySvm(binary, positive, opts).weights));
    // values other than 1
    const values = Float64Array.from(binary.indices, (_, k) => 0.25 + ((k * 7) % 5) / 5);
    const valued = { ...binary, values };
    const w = trainBinarySvm(valued, positive, opts).weights;
    // primal objective ½‖w‖² + C Σ max(0, 1 − y w·x̃)² is at its minimum: no small step lowers it
    const objective = (v: Float64Array): number => {
      let o = 0;
      for (const x of v) o += 0.5 * x * x;
      for (let i = 0; i < valued.rows; i++) {
        let dot = v[8];
        for (let k = valued.offsets[i]; k < valued.offsets[i + 1]; k++) dot += v[valued.indices[k]] * values[k];
        const m = Math.max(0, 1 - (positive(i) ? 1 : -1) * dot);
        o += 0.5 * m * m;
      }
      return o;
    };
    const best = objective(w);
    for (let j = 0; j < w.length; j++) {
      for (const step of [1e-3, -1e-3]) {
        const moved = Float64Array.from(w);
        moved[j] += step;
        expect(objective(moved)).toBeGreaterThanOrEqual(best - 1e-12);
      }
    }
    // and scoring uses the values
    const readout = { classes: [0, 1], features: 8, weights: new Float64Array(18).fill(0) };
    readout.weights[2] = 1;
    const one = { rows: 1, cols: 8, offsets: Int32Array.from([0, 1]), indices: Int32Array.from([2]), values: Float64Array.from([0.5]) };
    expect(Array.from(readoutScores(readout, one))).toEqual([0.5, 0]);
  });
});

describe('readout options and labels', () => {
  it("defaults to the authors' LinearSVC settings: C = 0.005, tolerance 1e-4, 10,000 passes", () => {
    expect(resolveLinearSvmOptions({})).toEqual({ C: 0.005, tolerance: 1e-4, maxIterations: 10_000, seed: 0 });
  });

  it('honours the tolerance: a loose one stops after fewer passes further from the optimum', () => {
    const random = new SeededRandom(11);
    const rows = Array.from({ length: 300 }, () => Array.from({ length: 6 }, () => random.nextInt(40)).filter((v, i, a) => a.indexOf(v) === i));
    const f = features(rows, 40);
    const positive = (i: number): boolean => rows[i].some((v) => v < 12);
    const y = rows.map((_, i) => (positive(i) ? 1 : -1));
    const loose = trainBinarySvm(f, positive, resolveLinearSvmOptions({ C: 1, tolerance: 0.5 }));
    const strict = trainBinarySvm(f, positive, resolveLinearSvmOptions({ C: 1, tolerance: 1e-8 }));
    expect(loose.iterations).toBeLessThan(strict.iterations);
    expect(primal(f, y, strict.weights, 1)).toBeLessThan(primal(f, y, loose.weights, 1));
  });

  it('predicts the labels themselves, not their positions among the classes', () => {
    // three classes named 3, 7 and 9, each marked by its own feature
    const marks: Record<number, number> = { 3: 0, 7: 1, 9: 2 };
    const labels = [3, 7, 9, 3, 7, 9, 3, 7, 9, 9];
    const f = features(labels.map((l) => [marks[l], 3 + (labels.length % 2)]), 5);
    const readout = trainLinearReadout(f, labels, { C: 1 });
    expect(readout.classes).toEqual([3, 7, 9]);
    expect(Array.from(predictLabels(readout, f))).toEqual(labels);
  });

  it('scores bit for bit as the definition: the bias, then the features in order, per class (native where built)', () => {
    const random = new SeededRandom(21);
    const cols = 300;
    const rows = Array.from({ length: 400 }, () => Array.from({ length: random.nextInt(40) }, () => random.nextInt(cols)).filter((v, i, a) => a.indexOf(v) === i));
    const f = features(rows, cols);
    // 7 and 12 classes (the native kernel's registers), 17 (its loop)
    for (const nc of [7, 12, 17]) {
      // magnitudes far apart, so that a different order of the additions would show
      const weights = Float64Array.from({ length: nc * (cols + 1) }, () => (random.nextInt(2) === 0 ? 1e8 : 1e-8) * (random.nextInt(1000) - 500));
      const readout = { classes: Array.from({ length: nc }, (_, c) => c), features: cols, weights };
      const expected = new Float64Array(f.rows * nc);
      for (let i = 0; i < f.rows; i++) {
        for (let c = 0; c < nc; c++) {
          let s = weights[c * (cols + 1) + cols];
          for (let k = f.offsets[i]; k < f.offsets[i + 1]; k++) s += weights[c * (cols + 1) + f.indices[k]];
          expected[i * nc + c] = s;
        }
      }
      expect(Buffer.from(readoutScores(readout, f).buffer).equals(Buffer.from(expected.buffer))).toBe(true);
      // an index the readout has no weight for is refused, not read
      const bad = { ...f, indices: Int32Array.from(f.indices, (x, k) => (k === 5 ? cols : x)) };
      expect(() => readoutScores(readout, bad)).toThrow(/feature indices in \[0, 300\)/);
    }
  });

  it('adds the bias weight to every score', () => {
    // a readout by hand: two classes, two features; the scores decide by the bias alone on an empty row
    const readout = { classes: [4, 8], features: 2, weights: Float64Array.from([1, 0, -0.5, 0, 1, 0.25]) };
    const f = features([[], [0], [1], [0, 1]], 2);
    expect(Array.from(readoutScores(readout, f))).toEqual([-0.5, 0.25, 0.5, 0.25, -0.5, 1.25, 0.5, 1.25]);
    expect(Array.from(predictLabels(readout, f))).toEqual([8, 4, 8, 8]);
  });
});
