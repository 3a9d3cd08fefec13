/**
 * A dense, clock-driven reference of the whole model (SPEC §2-§5), written for obviousness,
 * not speed: every bin, every layer sweeps every neuron, through its kind's dense kernel
 * (`reference/conv.ts`, `reference/pool.ts`). It shares nothing with the event-driven engine
 * but the pure rules (the learning rules, the input potential), so it serves as the oracle of
 * the model-based tests and as the clock-driven baseline of the benchmark.
 */
import { InputPotential } from '../neurons/encoder.js';
import { kindOf } from '../neurons/kinds/index.js';
import type { ResolvedConvLayer, ResolvedNetwork } from '../neurons/network.js';
import { neuronCount } from '../neurons/network.js';
import type { LearningRule } from '../plasticity/rule.js';
import { createLearningRule } from '../plasticity/rules.js';

/** Result of one sample in the dense reference. */
export interface DenseSample {
  /** Per layer (network order, input first), spike bin of every neuron or −1. */
  spikeTimes: Int32Array[];
  /** Winners of the learning layer as [bin, map, y, x], in the order the rule was applied. */
  winners: [number, number, number, number][];
  /** Dense multiply-accumulates actually performed by the conv sweeps. */
  macs: number;
}

/** The learning layer of the reference and its rule, whose state carries over between samples. */
export interface DenseLearning {
  /** Index of the layer that learns. */
  readonly layer: number;
  readonly rule: LearningRule;
}

/** A fresh rule for the conv layer at `layer` of `net`, as the event-driven layer builds its own. */
export function denseLearning(net: ResolvedNetwork, layer: number): DenseLearning {
  const spec = net.layers[layer] as ResolvedConvLayer;
  return { layer, rule: createLearningRule(spec.learning, { restV: net.restV, thresholdV: spec.thresholdV, weightMin: spec.weightMin, weightMax: spec.weightMax, precision: spec.precision }) };
}

/**
 * Run one sample through the dense reference.
 * @param weights weights of each layer with weights, in network order; the learning layer's are updated in place
 * @param inputTimes spike bin of each input pixel, −1 for none
 * @param learning the learning layer and its rule (its state is updated), or undefined
 */
export function denseSample(
  net: ResolvedNetwork,
  weights: Float64Array[],
  inputTimes: ArrayLike<number>,
  learning?: DenseLearning,
  lastLayer = net.layers.length - 1,
): DenseSample {
  const T = net.timeBins;
  const { restV, resetV } = net;
  const inputPotential = new InputPotential(T, restV, resetV);
  const spikeTimes: Int32Array[] = [Int32Array.from(inputTimes)];
  const winners: DenseSample['winners'] = [];
  const states: unknown[] = [];
  let weightIndex = 0;
  for (let li = 1; li <= lastLayer; li++) {
    const spec = net.layers[li];
    if (spec.kind === 'input') throw new RangeError(`layer ${li}: the input can only come first`);
    const kind = kindOf(spec);
    spikeTimes.push(new Int32Array(neuronCount(spec.outShape)).fill(-1));
    states.push(kind.dense.start(spec, kind.weightCount(spec) > 0 ? weights[weightIndex++] : undefined, restV, resetV));
  }

  /** Potential of neuron i of layer li at the end of bin t, as a learning rule reads it. */
  const potentialOf = (li: number, i: number, t: number): number => {
    if (li === 0) return inputPotential.at(spikeTimes[0][i], t);
    return kindOf(net.layers[li]).dense.potential(states[li - 1], i, t, spikeTimes[li]);
  };

  let macs = 0;
  for (let t = 0; t < T; t++) {
    for (let li = 1; li <= lastLayer; li++) {
      const kind = kindOf(net.layers[li]);
      macs += kind.dense.step(states[li - 1], t, {
        inTimes: spikeTimes[li - 1],
        outTimes: spikeTimes[li],
        presynapticV: (i, time) => potentialOf(li - 1, i, time),
        rule: learning !== undefined && learning.layer === li ? learning.rule : undefined,
        winners,
      });
    }
  }
  return { spikeTimes, winners, macs };
}
