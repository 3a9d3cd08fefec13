/**
 * Voltage-dependent synaptic plasticity (VDSP), SPEC §4, as pure functions.
 *
 * On a postsynaptic spike (a winner), each synapse looks at the potential p of its
 * presynaptic neuron at that moment:
 * - p < v_rest (the input fired at or before now): Δw = +η · f(w) · a_pot
 * - otherwise:                                     Δw = −η · f(w) · (a_dep − p / θ)
 * with the multiplicative soft bound f(w) = (w − w_min)(w_max − w), θ the postsynaptic
 * threshold, and the result clipped to [w_min, w_max].
 */
import type { Precision } from '../neurons/network.js';

/** Parameters of the rule; a resolved conv layer has all of them. */
export interface VdspRule {
  readonly restV: number;
  readonly thresholdV: number;
  readonly weightMin: number;
  readonly weightMax: number;
  readonly potentiationFactor: number;
  readonly depressionFactor: number;
  /**
   * `float32`: the presynaptic potential and the depression gain (a_dep − p/θ) are computed in
   * float32, as the authors' code does (it reads the potentials through a float32 tensor);
   * the weights and Δw stay float64. `float64`: all float64.
   */
  readonly precision: Precision;
}

/**
 * The new value of one weight after VDSP.
 * @param weight current weight w
 * @param presynapticV potential p of the presynaptic neuron at the postsynaptic spike
 * @param learningRate η
 */
export function vdspWeight(weight: number, presynapticV: number, learningRate: number, rule: VdspRule): number {
  const soft = (weight - rule.weightMin) * (rule.weightMax - weight);
  let next: number;
  if (rule.precision === 'float32') {
    const p = Math.fround(presynapticV);
    if (p < rule.restV) {
      next = weight + soft * rule.potentiationFactor * learningRate;
    } else {
      const gain = Math.fround(Math.fround(rule.depressionFactor) - Math.fround(p / Math.fround(rule.thresholdV)));
      next = weight - soft * gain * learningRate;
    }
  } else if (presynapticV < rule.restV) {
    next = weight + soft * rule.potentiationFactor * learningRate;
  } else {
    next = weight - soft * (rule.depressionFactor - presynapticV / rule.thresholdV) * learningRate;
  }
  if (next < rule.weightMin) return rule.weightMin;
  if (next > rule.weightMax) return rule.weightMax;
  return next;
}

/**
 * Apply VDSP to one map's kernel in place.
 * @param weights all weights of the layer
 * @param offset index of the map's first weight
 * @param presynapticV potentials of the kernel's presynaptic neurons, one per weight, in the
 *   kernel's order
 */
export function applyVdsp(
  weights: Float64Array,
  offset: number,
  presynapticV: Float64Array,
  learningRate: number,
  rule: VdspRule,
): void {
  for (let i = 0; i < presynapticV.length; i++) {
    weights[offset + i] = vdspWeight(weights[offset + i], presynapticV[i], learningRate, rule);
  }
}

/** Learning-rate schedule parameters (a resolved conv layer has them). */
export interface LearningRateRule {
  readonly adaptiveLearningRate: boolean;
  readonly learningRateInterval: number;
  readonly learningRateMax: number;
}

/**
 * Learning rate after one more VDSP application. When the count of applications over the
 * whole training run reaches a multiple of `learningRateInterval` (adaptive mode), η doubles,
 * capped at `learningRateMax`. The authors' code updates η right after each application, so a
 * doubling takes effect for the next winner of the same bin.
 * @param applications the count after this application
 */
export function nextLearningRate(learningRate: number, applications: number, rule: LearningRateRule): number {
  if (rule.adaptiveLearningRate && applications % rule.learningRateInterval === 0) {
    return Math.min(2 * learningRate, rule.learningRateMax);
  }
  return learningRate;
}

/**
 * Convergence measure Q = mean over all weights of (w − w_min)(w_max − w). It is 0 when every
 * weight sits at a bound; training stops once Q falls below a threshold (0.01 by default).
 */
export function convergence(weights: Float64Array, weightMin: number, weightMax: number): number {
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    sum += (w - weightMin) * (weightMax - w);
  }
  return sum / weights.length;
}
