/**
 * The registry of learning rules: one line per rule. A conv layer's `learning` option names
 * its rule; everything else (the layer, the dense reference, checkpoints) goes through here.
 * A new rule is one new file exporting a {@link LearningRuleKind}, plus one line below.
 */
import { OptionError } from '../errors.js';
import { isPlainObject } from '../util/validate.js';
import type { LearningRule, LearningRuleKind, RuleContext } from './rule.js';
import { STDP } from './stdp.js';
import { VDSP } from './vdsp.js';

export const LEARNING_RULES = {
  vdsp: VDSP,
  stdp: STDP,
} as const;

type Kinds = typeof LEARNING_RULES;
/** The options of any registered rule (a discriminated union on `rule`). */
export type LearningOptions = { [K in keyof Kinds]: Kinds[K] extends LearningRuleKind<infer O, infer _R> ? O : never }[keyof Kinds];
/** Resolved options of any registered rule, every default filled in. */
export type ResolvedLearning = { [K in keyof Kinds]: Kinds[K] extends LearningRuleKind<infer _O, infer R> ? R : never }[keyof Kinds];
export type LearningRuleName = keyof Kinds;

/** The default learning of a conv layer: VDSP with the paper's parameters. */
export const DEFAULT_LEARNING: LearningOptions = { rule: 'vdsp' };

function kindOf(name: unknown, path: string): LearningRuleKind<{ rule: string }, Required<{ rule: string }>> {
  if (typeof name === 'string' && Object.hasOwn(LEARNING_RULES, name)) return LEARNING_RULES[name as LearningRuleName] as never;
  throw new OptionError(`${path}.rule`, name, `one of ${Object.keys(LEARNING_RULES).map((k) => JSON.stringify(k)).join(', ')}`);
}

/** Validate a layer's `learning` option (default: VDSP) and fill in its rule's defaults. */
export function resolveLearning(raw: unknown, path: string): ResolvedLearning {
  const value = raw ?? DEFAULT_LEARNING;
  if (!isPlainObject(value)) throw new OptionError(path, value, 'an object with a "rule"');
  return kindOf(value.rule, path).resolve(value, path) as ResolvedLearning;
}

/** The rule of resolved options, bound to a layer. */
export function createLearningRule(options: ResolvedLearning, context: RuleContext): LearningRule {
  return kindOf(options.rule, 'learning').create(options, context);
}
