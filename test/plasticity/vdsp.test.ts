import { describe, expect, it } from 'vitest';
import { convergence } from '../../src/plasticity/convergence.js';
import { nextLearningRate, vdspWeight, type VdspRule } from '../../src/plasticity/vdsp.js';

const rule64: VdspRule = { restV: 0, thresholdV: 10, weightMin: 0, weightMax: 1, potentiationFactor: 1, depressionFactor: 2, precision: 'float64' };
const rule32: VdspRule = { ...rule64, precision: 'float32' };

describe('vdspWeight', () => {
  it('potentiates a synapse whose input fired (p < v_rest): Δw = η w(1−w) a_pot', () => {
    // 0.8 + 0.01 · 0.8 · 0.2 = 0.8016
    expect(vdspWeight(0.8, -1, 0.01, rule64)).toBeCloseTo(0.8016, 15);
    expect(vdspWeight(0.8, -1, 0.01, rule32)).toBe(vdspWeight(0.8, -1, 0.01, rule64));
  });

  it('depresses one that did not, by (a_dep − p/θ): Δw = −η w(1−w)(2 − p/10)', () => {
    // 0.8 − 0.01 · 0.16 · (2 − 0.05) = 0.79688
    expect(vdspWeight(0.8, 0.5, 0.01, rule64)).toBeCloseTo(0.79688, 15);
    expect(vdspWeight(0.8, 0, 0.01, rule64)).toBeCloseTo(0.8 - 0.01 * 0.16 * 2, 15);
  });

  it('computes the depression gain in float32 in float32 mode, like the authors code', () => {
    const gain32 = Math.fround(2 - Math.fround(Math.fround(0.3) / 10));
    expect(vdspWeight(0.8, 0.3, 0.01, rule32)).toBe(0.8 - 0.8 * 0.2 * gain32 * 0.01);
    expect(vdspWeight(0.8, 0.3, 0.01, rule32)).not.toBe(vdspWeight(0.8, 0.3, 0.01, rule64));
  });

  it('reads the presynaptic potential through float32 before dividing by θ (visible with a_dep = 0)', () => {
    // p = 0.2 + 0.2 + 0.2 = 0.6000000000000001 in float64; the authors' float32 tensor holds 0.6f
    const p = 0.2 + 0.2 + 0.2;
    const rule = { ...rule32, depressionFactor: 0 };
    const gain = Math.fround(0 - Math.fround(Math.fround(p) / 10));
    const unrounded = Math.fround(0 - Math.fround(p / 10));
    expect(gain).not.toBe(unrounded);
    expect(vdspWeight(0.8, p, 0.01, rule)).toBe(0.8 - 0.8 * 0.2 * gain * 0.01);
    expect(vdspWeight(0.8, p, 0.01, rule)).not.toBe(0.8 - 0.8 * 0.2 * unrounded * 0.01);
  });

  it('does not move a weight at a bound, and clips an overshoot', () => {
    for (const p of [-1, 0, 0.7]) {
      expect(vdspWeight(0, p, 0.1, rule64)).toBe(0);
      expect(vdspWeight(1, p, 0.1, rule64)).toBe(1);
    }
    // 0.9 + 0.5 · 0.09 · 5 = 1.125 → 1
    expect(vdspWeight(0.9, -1, 0.5, { ...rule64, potentiationFactor: 5 })).toBe(1);
    expect(vdspWeight(0.1, 0, 0.5, { ...rule64, depressionFactor: 30 })).toBe(0);
  });
});

describe('nextLearningRate', () => {
  const rule = { adaptiveLearningRate: true, learningRateInterval: 500, learningRateMax: 0.1 };
  it('doubles at every multiple of the interval, capped', () => {
    expect(nextLearningRate(0.01, 499, rule)).toBe(0.01);
    expect(nextLearningRate(0.01, 500, rule)).toBe(0.02);
    expect(nextLearningRate(0.02, 1000, rule)).toBe(0.04);
    expect(nextLearningRate(0.08, 2000, rule)).toBe(0.1);
    expect(nextLearningRate(0.1, 2500, rule)).toBe(0.1);
  });
  it('stays put when not adaptive', () => {
    expect(nextLearningRate(0.01, 500, { ...rule, adaptiveLearningRate: false })).toBe(0.01);
  });
});

describe('convergence', () => {
  it('is the mean of (w − w_min)(w_max − w)', () => {
    expect(convergence(Float64Array.from([0, 1, 0.5]), 0, 1)).toBeCloseTo(0.25 / 3, 15);
    expect(convergence(Float64Array.from([0.8, 0.8]), 0, 1)).toBeCloseTo(0.16, 15);
    expect(convergence(Float64Array.from([2, 3]), 2, 3)).toBe(0);
  });
});
