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
import { boolean, checkKeys, finiteNumber, integer } from '../util/validate.js';
import type { LearningRule, LearningRuleKind, NativeRuleForm, RuleContext } from './rule.js';

/** Parameters of the weight update: the rule's factors and what it reads of the layer. */
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
  readonly precision: 'float32' | 'float64';
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

/** Learning-rate schedule parameters (resolved VDSP options have them). */
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

/** Options of VDSP, as a conv layer's `learning`; every field but `rule` has a default. */
export interface VdspOptions {
  rule: 'vdsp';
  /** Initial learning rate η. Default 0.01. */
  learningRate?: number;
  /** Cap η_max of the adaptive learning rate. Default 0.1 (at least `learningRate`). */
  learningRateMax?: number;
  /** Double η every `learningRateInterval` applications. Default true. */
  adaptiveLearningRate?: boolean;
  /** Applications between doublings of η. Default 500. */
  learningRateInterval?: number;
  /** Potentiation factor a_pot. Default 1. */
  potentiationFactor?: number;
  /** Depression factor a_dep. Default 2. */
  depressionFactor?: number;
}

export type ResolvedVdspOptions = Readonly<Required<VdspOptions>>;

/** The paper's VDSP parameters. */
export const VDSP_DEFAULTS: ResolvedVdspOptions = Object.freeze({
  rule: 'vdsp',
  learningRate: 0.01,
  learningRateMax: 0.1,
  adaptiveLearningRate: true,
  learningRateInterval: 500,
  potentiationFactor: 1,
  depressionFactor: 2,
});

/** VDSP bound to a layer: {@link applyVdsp} per winner, then {@link nextLearningRate}. */
class Vdsp implements LearningRule {
  readonly name = 'vdsp';
  learningRate: number;
  applications = 0;
  readonly native: NativeRuleForm;
  private readonly rule: VdspRule;

  constructor(
    private readonly options: ResolvedVdspOptions,
    context: RuleContext,
  ) {
    this.learningRate = options.learningRate;
    const rule: VdspRule = { ...context, potentiationFactor: options.potentiationFactor, depressionFactor: options.depressionFactor };
    this.rule = rule;
    this.native = {
      kind: 'vdsp',
      numbers: [rule.restV, rule.thresholdV, rule.weightMin, rule.weightMax, rule.potentiationFactor, rule.depressionFactor, options.learningRateMax],
      integers: [rule.precision === 'float32' ? 1 : 0, options.adaptiveLearningRate ? 1 : 0, options.learningRateInterval],
    };
  }

  apply(weights: Float64Array, offset: number, presynapticV: Float64Array): void {
    applyVdsp(weights, offset, presynapticV, this.learningRate, this.rule);
    this.applications++;
    this.learningRate = nextLearningRate(this.learningRate, this.applications, this.options);
  }
}

/** The VDSP rule kind (registered as `'vdsp'`). */
export const VDSP: LearningRuleKind<VdspOptions, ResolvedVdspOptions> = {
  name: 'vdsp',
  resolve(raw, path) {
    checkKeys(raw, Object.keys(VDSP_DEFAULTS), path);
    const d = VDSP_DEFAULTS;
    const learningRate = finiteNumber(`${path}.learningRate`, raw.learningRate, d.learningRate, { min: 0 });
    return {
      rule: 'vdsp',
      learningRate,
      learningRateMax: finiteNumber(`${path}.learningRateMax`, raw.learningRateMax, Math.max(d.learningRateMax, learningRate), { min: learningRate }),
      adaptiveLearningRate: boolean(`${path}.adaptiveLearningRate`, raw.adaptiveLearningRate, d.adaptiveLearningRate),
      learningRateInterval: integer(`${path}.learningRateInterval`, raw.learningRateInterval, d.learningRateInterval, { min: 1 }),
      potentiationFactor: finiteNumber(`${path}.potentiationFactor`, raw.potentiationFactor, d.potentiationFactor, { min: 0 }),
      depressionFactor: finiteNumber(`${path}.depressionFactor`, raw.depressionFactor, d.depressionFactor, { min: 0 }),
    };
  },
  create: (options, context) => new Vdsp(options, context),
};
