/**
 * What a learning rule is to the layer it trains: a value the layer is given, which owns its
 * parameters, its learning-rate schedule and its count of applications. The conv layer calls
 * it once per winner with the winner's kernel and the potentials of its receptive field; it
 * knows no rule by name. Rules are registered by name in `rules.ts`.
 */

/** What a rule reads of the layer it trains (resolved layer options). */
export interface RuleContext {
  /** Resting potential: a presynaptic potential below it means the input fired at or before now. */
  readonly restV: number;
  /** Threshold θ of the postsynaptic neurons. */
  readonly thresholdV: number;
  readonly weightMin: number;
  readonly weightMax: number;
  /** `float32`: the presynaptic potential is read through float32, as the authors' code does. */
  readonly precision: 'float32' | 'float64';
}

/** The state of a rule that carries over between samples (what checkpoints keep). */
export interface LearningState {
  /** The current learning rate (VDSP: η; STDP: a⁺). */
  learningRate: number;
  /** Applications (winners) so far in the training run. */
  applications: number;
}

/**
 * A rule the native kernel implements too, by its parameters: VDSP's, in the order
 * integrate.c's setLearner takes them (v_rest, θ, w_min, w_max, a_pot, a_dep, η_max, and the
 * integers float32, adaptive, interval). The kernel then applies it itself, bit-identical to
 * {@link LearningRule.apply}, which stays the definition.
 */
export interface NativeRuleForm {
  readonly kind: 'vdsp';
  readonly numbers: readonly number[];
  readonly integers: readonly number[];
}

/** A learning rule bound to one layer: its state, and the update of one winner's kernel. */
export interface LearningRule extends LearningState {
  /** The rule's name, as in its options (`'vdsp'`, `'stdp'`). */
  readonly name: string;
  /** Its form for the native kernel, where the kernel implements it (VDSP); absent elsewhere. */
  readonly native?: NativeRuleForm;
  /**
   * Update the kernel of one winner in place, then count the application and advance the
   * learning-rate schedule.
   * @param weights every weight of the layer
   * @param offset index of the winner's map's first weight
   * @param presynapticV the potential of each presynaptic neuron of the kernel, in the kernel's
   *   order, at the winner's bin (padding reads `restV`)
   */
  apply(weights: Float64Array, offset: number, presynapticV: Float64Array): void;
}

/**
 * A kind of learning rule: its options (with `rule` naming it), their resolution with the
 * defaults, and the rule built from resolved options. One file per rule, one registry line.
 */
export interface LearningRuleKind<Options extends { rule: string }, Resolved extends Required<Options>> {
  readonly name: Resolved['rule'];
  /** Validate `raw` (whose `rule` is this kind's name) and fill in the defaults; errors name `path`. */
  resolve(raw: Record<string, unknown>, path: string): Resolved;
  create(options: Resolved, context: RuleContext): LearningRule;
}
