/**
 * Multiplicative STDP of Kheradpisheh et al. 2018 ("STDP-based spiking deep convolutional
 * neural networks for object recognition", Neural Networks 99), as SpykeTorch implements it,
 * in the same single-spike network and winner-take-all as VDSP.
 *
 * For a winner, each synapse of its kernel changes by
 * - Δw = a⁺ · (w − w_min)(w_max − w)  if its input spiked at or before the winner's bin,
 * - Δw = a⁻ · (w − w_min)(w_max − w)  otherwise (a⁻ < 0),
 * and is clipped to [w_min, w_max] (the soft bound w(1 − w) for the paper's [0, 1]). An input
 * "spiked at or before" when its potential is below rest, exactly the test VDSP makes. a⁺
 * doubles every `rateInterval` applications up to `potentiationRateMax`, and a⁻ follows it so
 * that a⁻/a⁺ stays as configured.
 */
import { OptionError } from '../errors.js';
import { boolean, checkKeys, finiteNumber, integer } from '../util/validate.js';
import type { LearningRule, LearningRuleKind, RuleContext } from './rule.js';

/** Options of STDP, as a conv layer's `learning`; every field but `rule` has a default. */
export interface StdpOptions {
  rule: 'stdp';
  /** Initial potentiation rate a⁺ (> 0). Default 0.004. */
  potentiationRate?: number;
  /** Initial depression rate a⁻ (< 0). Default −0.003. */
  depressionRate?: number;
  /** Cap of a⁺ as it doubles. Default 0.15 (at least `potentiationRate`). */
  potentiationRateMax?: number;
  /** Double a⁺ (and a⁻ with it) every `rateInterval` applications. Default true. */
  adaptiveRate?: boolean;
  /** Applications between doublings. Default 500. */
  rateInterval?: number;
}

export type ResolvedStdpOptions = Readonly<Required<StdpOptions>>;

/** Kheradpisheh et al.'s parameters (SpykeTorch's defaults for the first layer). */
export const STDP_DEFAULTS: ResolvedStdpOptions = Object.freeze({
  rule: 'stdp',
  potentiationRate: 0.004,
  depressionRate: -0.003,
  potentiationRateMax: 0.15,
  adaptiveRate: true,
  rateInterval: 500,
});

/**
 * The new value of one weight after STDP.
 * @param fired whether the synapse's input spiked at or before the winner's bin
 * @param potentiationRate a⁺; @param depressionRate a⁻
 */
export function stdpWeight(weight: number, fired: boolean, potentiationRate: number, depressionRate: number, weightMin: number, weightMax: number): number {
  const soft = (weight - weightMin) * (weightMax - weight);
  const next = weight + (fired ? potentiationRate : depressionRate) * soft;
  if (next < weightMin) return weightMin;
  if (next > weightMax) return weightMax;
  return next;
}

/** a⁺ after one more application: doubled at every multiple of the interval, capped. */
export function nextPotentiationRate(rate: number, applications: number, options: ResolvedStdpOptions): number {
  if (options.adaptiveRate && applications % options.rateInterval === 0) return Math.min(2 * rate, options.potentiationRateMax);
  return rate;
}

/** STDP bound to a layer; its learning rate is a⁺, and a⁻ = a⁺ · (a⁻₀ / a⁺₀). */
class Stdp implements LearningRule {
  readonly name = 'stdp';
  learningRate: number;
  applications = 0;
  private readonly ratio: number;

  constructor(
    private readonly options: ResolvedStdpOptions,
    private readonly context: RuleContext,
  ) {
    this.learningRate = options.potentiationRate;
    this.ratio = options.depressionRate / options.potentiationRate;
  }

  apply(weights: Float64Array, offset: number, presynapticV: Float64Array): void {
    const { restV, weightMin, weightMax } = this.context;
    const round = this.context.precision === 'float32';
    const aPlus = this.learningRate;
    const aMinus = aPlus * this.ratio;
    for (let i = 0; i < presynapticV.length; i++) {
      const p = round ? Math.fround(presynapticV[i]) : presynapticV[i];
      weights[offset + i] = stdpWeight(weights[offset + i], p < restV, aPlus, aMinus, weightMin, weightMax);
    }
    this.applications++;
    this.learningRate = nextPotentiationRate(this.learningRate, this.applications, this.options);
  }
}

/** The STDP rule kind (registered as `'stdp'`). */
export const STDP: LearningRuleKind<StdpOptions, ResolvedStdpOptions> = {
  name: 'stdp',
  resolve(raw, path) {
    checkKeys(raw, Object.keys(STDP_DEFAULTS), path);
    const d = STDP_DEFAULTS;
    const potentiationRate = finiteNumber(`${path}.potentiationRate`, raw.potentiationRate, d.potentiationRate, { above: 0 });
    const depressionRate = finiteNumber(`${path}.depressionRate`, raw.depressionRate, d.depressionRate);
    if (!(depressionRate < 0)) throw new OptionError(`${path}.depressionRate`, depressionRate, 'a negative number (a⁻ < 0 depresses)');
    return {
      rule: 'stdp',
      potentiationRate,
      depressionRate,
      potentiationRateMax: finiteNumber(`${path}.potentiationRateMax`, raw.potentiationRateMax, Math.max(d.potentiationRateMax, potentiationRate), { min: potentiationRate }),
      adaptiveRate: boolean(`${path}.adaptiveRate`, raw.adaptiveRate, d.adaptiveRate),
      rateInterval: integer(`${path}.rateInterval`, raw.rateInterval, d.rateInterval, { min: 1 }),
    };
  },
  create: (options, context) => new Stdp(options, context),
};
