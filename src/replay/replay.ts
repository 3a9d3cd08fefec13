/**
 * Replay of a reference trace: every recorded training step from its recorded state and
 * inputs, every recorded test sample with the final weights, and a comparison with what the
 * authors' code recorded.
 */
import { Engine } from '../events/engine.js';
import type { ConvLayer } from '../neurons/conv.js';
import type { SpikeLog } from '../neurons/layer.js';
import type { Precision, ResolvedConvLayer } from '../neurons/network.js';
import { resolveNetwork } from '../neurons/network.js';
import type { Trace, TraceSpike } from './trace.js';

/** What evspike computed for one training step, with the trace's key names. */
export interface ReplayedStep {
  sample: number;
  weights_after: number[];
  lr_after: number;
  vdsp_count_after: number;
  conv_spikes: TraceSpike[];
  winners: TraceSpike[];
}

/** What evspike computed for one test sample, with the trace's key names. */
export interface ReplayedInference {
  test_index: number;
  conv_spikes: TraceSpike[];
  pool_features: number[];
  total_spikes: number;
}

export interface StepComparison {
  sample: number;
  identical: boolean;
  convSpikesEqual: boolean;
  winnersEqual: boolean;
  learningRateEqual: boolean;
  countEqual: boolean;
  /** Largest |w − w_trace| after the step. */
  maxWeightDiff: number;
}

export interface InferenceComparison {
  test_index: number;
  convSpikesEqual: boolean;
  poolFeaturesEqual: boolean;
  /** |A ∩ B| / |A ∪ B| of the pool feature sets (1 when both are empty). */
  jaccard: number;
  totalSpikesEqual: boolean;
}

export interface ReplayReport {
  trainSteps: { total: number; identical: number };
  inference: {
    total: number;
    convSpikesIdentical: number;
    poolFeaturesIdentical: number;
    totalSpikesIdentical: number;
    meanJaccard: number;
  };
  steps: StepComparison[];
  samples: InferenceComparison[];
}

export interface ReplayResult {
  train_steps: ReplayedStep[];
  inference: ReplayedInference[];
  report: ReplayReport;
}

export interface ReplayOptions {
  /** Conv integration arithmetic; default the network's (float32). */
  precision?: Precision;
  /** Weight tolerance for a training step to count as identical. Default 1e-6. */
  weightTolerance?: number;
}

function spikesOf(log: SpikeLog, spec: ResolvedConvLayer, first = 0): TraceSpike[] {
  const { height, width } = spec.outShape;
  const out: TraceSpike[] = [];
  for (let s = first; s < log.count; s++) {
    const flat = log.neuron[s];
    const map = Math.floor(flat / (height * width));
    const pos = flat - map * height * width;
    out.push([log.time[s], map, Math.floor(pos / width), pos % width]);
  }
  return out;
}

function sortSpikes(spikes: TraceSpike[]): TraceSpike[] {
  return [...spikes].sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2] || a[3] - b[3]);
}

function sameSpikes(a: TraceSpike[], b: TraceSpike[]): boolean {
  return a.length === b.length && a.every((s, i) => s[0] === b[i][0] && s[1] === b[i][1] && s[2] === b[i][2] && s[3] === b[i][3]);
}

/** Jaccard index of two sets of integers. */
export function jaccard(a: readonly number[], b: readonly number[]): number {
  if (a.length === 0 && b.length === 0) return 1;
  const setA = new Set(a);
  let common = 0;
  const setB = new Set(b);
  for (const x of setB) if (setA.has(x)) common++;
  return common / (setA.size + setB.size - common);
}

/** Replay every step and sample of `trace` and compare with it. */
export function replayTrace(trace: Trace, options: ReplayOptions = {}): ReplayResult {
  const tolerance = options.weightTolerance ?? 1e-6;
  const netOptions = structuredClone(trace.networkOptions);
  if (options.precision !== undefined) {
    const precision = options.precision;
    netOptions.layers = (netOptions.layers ?? []).map((layer) => {
      switch (layer.kind) {
        case 'conv':
          return { ...layer, precision };
        case 'pool':
          return layer;
        default: {
          const _exhaustive: never = layer;
          return _exhaustive;
        }
      }
    });
  }
  const network = resolveNetwork(netOptions);
  const engine = new Engine(network, { weights: [trace.finalWeights] });
  const conv = engine.hidden[0] as ConvLayer;
  const convSpec = conv.spec;

  const train_steps: ReplayedStep[] = [];
  const steps: StepComparison[] = [];
  for (const step of trace.trainSteps) {
    conv.setWeights(step.weights_before);
    conv.learning.learningRate = step.lr_before;
    conv.learning.applications = step.vdsp_count_before;
    engine.runSample(step.input_times, { learnLayer: 1, lastLayer: 1 });
    const convSpikes = sortSpikes(spikesOf(conv.spikes, convSpec));
    const winners = spikesOf(conv.winners, convSpec);
    let maxWeightDiff = 0;
    for (let i = 0; i < conv.weights.length; i++) {
      maxWeightDiff = Math.max(maxWeightDiff, Math.abs(conv.weights[i] - step.weights_after[i]));
    }
    const cmp: StepComparison = {
      sample: step.sample,
      convSpikesEqual: sameSpikes(convSpikes, sortSpikes(step.conv_spikes)),
      winnersEqual: sameSpikes(winners, step.winners),
      learningRateEqual: conv.learning.learningRate === step.lr_after,
      countEqual: conv.learning.applications === step.vdsp_count_after,
      maxWeightDiff,
      identical: false,
    };
    cmp.identical = cmp.convSpikesEqual && cmp.winnersEqual && cmp.learningRateEqual && cmp.countEqual && maxWeightDiff <= tolerance;
    steps.push(cmp);
    train_steps.push({
      sample: step.sample,
      weights_after: Array.from(conv.weights),
      lr_after: conv.learning.learningRate,
      vdsp_count_after: conv.learning.applications,
      conv_spikes: convSpikes,
      winners,
    });
  }

  conv.setWeights(trace.finalWeights);
  const inference: ReplayedInference[] = [];
  const samples: InferenceComparison[] = [];
  for (const entry of trace.inference) {
    engine.runSample(entry.input_times);
    const summary = engine.summary();
    const convSpikes = sortSpikes(spikesOf(conv.spikes, convSpec));
    const pool = engine.outputSpikes();
    const features = Array.from(pool.neuron.subarray(0, pool.count)).sort((a, b) => a - b);
    const expected = [...entry.pool_features].sort((a, b) => a - b);
    samples.push({
      test_index: entry.test_index,
      convSpikesEqual: sameSpikes(convSpikes, sortSpikes(entry.conv_spikes)),
      poolFeaturesEqual: features.length === expected.length && features.every((f, i) => f === expected[i]),
      jaccard: jaccard(features, expected),
      totalSpikesEqual: summary.totalSpikes === entry.total_spikes,
    });
    inference.push({ test_index: entry.test_index, conv_spikes: convSpikes, pool_features: features, total_spikes: summary.totalSpikes });
  }

  const count = <T>(xs: T[], f: (x: T) => boolean): number => xs.reduce((n, x) => n + (f(x) ? 1 : 0), 0);
  const report: ReplayReport = {
    trainSteps: { total: steps.length, identical: count(steps, (s) => s.identical) },
    inference: {
      total: samples.length,
      convSpikesIdentical: count(samples, (s) => s.convSpikesEqual),
      poolFeaturesIdentical: count(samples, (s) => s.poolFeaturesEqual),
      totalSpikesIdentical: count(samples, (s) => s.totalSpikesEqual),
      meanJaccard: samples.length === 0 ? 1 : samples.reduce((a, s) => a + s.jaccard, 0) / samples.length,
    },
    steps,
    samples,
  };
  return { train_steps, inference, report };
}
