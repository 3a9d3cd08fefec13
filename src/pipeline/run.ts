/**
 * The whole experiment of the paper, end to end: VDSP training to convergence, feature
 * extraction of the training and test images (in parallel over worker threads), the SVM
 * readout, and the test accuracy with the spike and event figures. Checkpoints are written
 * after each phase when asked, and a run can resume from one, skipping the phases it holds.
 */
import { availableParallelism } from 'node:os';
import type { MnistData } from '../data/mnist.js';
import { OptionError } from '../errors.js';
import { Engine } from '../events/engine.js';
import { ConvLayer } from '../neurons/conv.js';
import type { KernelChoice } from '../neurons/kernels/integrate.js';
import type { SparseFeatures } from '../readout/features.js';
import { accuracy, predictLabels, trainLinearReadout, type LinearReadout } from '../readout/linear-svm.js';
import { ML_SVM_MAX_SAMPLES, trainMlSvmReadout } from '../readout/ml-svm.js';
import { peakMemoryMB } from '../util/memory.js';
import { SeededRandom } from '../util/random.js';
import {
  readFeatures,
  writeCheckpoint,
  writeFeatures,
  type Checkpoint,
  type CheckpointLayer,
  type CheckpointPayload,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
} from './checkpoint.js';
import { extractFeatures, featureCount } from './extract.js';
import type { RunTotals } from './infer.js';
import { scenarioJson, type ResolvedScenario } from './scenario.js';
import { trainNetwork } from './train.js';
import { mergeTotals, WorkerPool } from './workers.js';
import { emptyTotals } from './infer.js';

/** The phases of a run, for progress reports. */
export type Phase = 'train' | 'extract-train' | 'extract-test' | 'readout';

export interface RunOptions {
  scenario: ResolvedScenario;
  data: MnistData;
  /** Worker threads for extraction and the readout. Default: the machine's cores. */
  workers?: number;
  kernel?: KernelChoice;
  /** Write checkpoints into this folder. */
  saveDir?: string;
  /** Go on from this checkpoint (already loaded and verified). */
  resume?: Checkpoint;
  /** Progress: the phase, items done, items in the phase (undefined if unknown), extra text. */
  onProgress?: (phase: Phase, done: number, total: number | undefined, extra?: string) => void;
  /** The end of a phase, with what it did. */
  onPhaseEnd?: (phase: Phase, done: number, extra?: string) => void;
}

/** Per-sample figures over every sample presented without learning. */
export interface SampleFigures {
  spikesPerSample: { input: number; conv: number; pool: number; total: number };
  synapticEventsPerSample: number;
  fanoutEventsPerSample: number;
  denseMacsPerSample: number;
  activationSparsity: number;
}

export interface RunResult extends SampleFigures {
  accuracy: number;
  samplesToConvergence: number;
  seconds: { train: number; extract: number; readout: number; total: number };
  seed: number;
  config: ReturnType<typeof scenarioJson>;
  /** Training images that trained the readout, test images evaluated. */
  readoutTrainSamples: number;
  testSamples: number;
  trainAccuracy: number;
  workers: number;
  kernel: 'wasm' | 'js';
  layers: { layer: number; samples: number; stoppedBy: string; convergence: number; learningRate: number; applications: number }[];
  resumedFrom?: string;
  peakMemoryMB: number;
}

/** Figures per sample from summed totals. */
export function sampleFigures(totals: RunTotals, timeBins: number): SampleFigures {
  const n = Math.max(1, totals.samples);
  const spikesOf = (kind: string): number => totals.layers.filter((l) => l.kind === kind).reduce((a, l) => a + l.spikes, 0) / n;
  const sum = (f: (l: RunTotals['layers'][number]) => number): number => totals.layers.reduce((a, l) => a + f(l), 0) / n;
  const neurons = totals.layers.reduce((a, l) => a + l.neurons, 0);
  return {
    spikesPerSample: { input: spikesOf('input'), conv: spikesOf('conv'), pool: spikesOf('pool'), total: totals.totalSpikes / n },
    synapticEventsPerSample: sum((l) => l.synapticEvents),
    fanoutEventsPerSample: sum((l) => l.fanoutEvents),
    denseMacsPerSample: sum((l) => l.denseMacs),
    activationSparsity: neurons === 0 ? 1 : 1 - totals.totalSpikes / n / (neurons * timeBins),
  };
}

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/** Run the experiment. */
export async function runExperiment(options: RunOptions): Promise<RunResult> {
  const { scenario, data } = options;
  const workers = options.workers ?? defaultWorkers();
  const kernel = options.kernel ?? 'auto';
  const net = scenario.network;
  const progress = options.onProgress ?? (() => {});
  const phaseEnd = options.onPhaseEnd ?? (() => {});
  const started = performance.now();
  const random = new SeededRandom(scenario.seed);
  const resumed = options.resume?.payload;
  const readoutSamples = Math.min(scenario.limits.extract, data.train.count);
  if (scenario.readout.kind === 'ml-svm' && readoutSamples > ML_SVM_MAX_SAMPLES && resumed?.phase !== 'complete') {
    // refuse before hours of work, not after
    throw new OptionError('readout', `ml-svm on ${readoutSamples} samples`, `at most ${ML_SVM_MAX_SAMPLES} training samples for the ml-svm readout (SMO grows quadratically); use --extract-limit ${ML_SVM_MAX_SAMPLES} or the linear-svm readout`);
  }

  // 1. Training (or the trained state of the checkpoint).
  let layers: CheckpointLayer[];
  let engine: Engine;
  let trainSeconds = 0;
  if (resumed !== undefined) {
    engine = new Engine(net, { weights: resumed.layers.map((l) => l.weights), kernel });
    resumed.layers.forEach((l) => {
      const conv = engine.layer(l.layer) as ConvLayer;
      conv.learning.learningRate = l.learningRate;
      conv.learning.applications = l.applications;
    });
    layers = resumed.layers;
    phaseEnd('train', layers[0]?.samples ?? 0, 'from the checkpoint');
  } else {
    engine = new Engine(net, { random, kernel });
    const initial = engine.convLayers.map((c) => Array.from(c.weights));
    const t0 = performance.now();
    progress('train', 0, undefined);
    const results = trainNetwork(engine, data.train, random, scenario.training, (p) => progress('train', p.samples, undefined, `layer ${p.layer}, Q=${p.convergence.toPrecision(4)}`));
    trainSeconds = (performance.now() - t0) / 1000;
    layers = results.map((r, i) => ({
      layer: r.layer,
      initialWeights: initial[i],
      weights: Array.from((engine.layer(r.layer) as ConvLayer).weights),
      learningRate: r.learningRate,
      applications: r.applications,
      samples: r.samples,
      stoppedBy: r.stoppedBy,
      convergence: r.convergence,
      convergenceHistory: Array.from(r.convergenceHistory),
    }));
    const last = results[results.length - 1];
    phaseEnd('train', last.samples, `Q=${last.convergence.toPrecision(6)} (${last.stoppedBy})`);
  }
  const payload: CheckpointPayload = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    createdAt: new Date().toISOString(),
    scenario: scenarioJson(scenario),
    phase: resumed?.phase ?? 'trained',
    layers,
    features: resumed?.features,
    readout: resumed?.readout,
    results: resumed?.results,
  };
  if (options.saveDir !== undefined) writeCheckpoint(options.saveDir, payload);

  // 2. Features of the training and test images.
  const trainCount = Math.min(scenario.limits.extract, data.train.count);
  const testCount = Math.min(scenario.limits.test, data.test.count);
  const cols = featureCount(engine);
  const weights = engine.convLayers.map((c) => Float64Array.from(c.weights));
  const t1 = performance.now();
  const pool = workers > 1 ? new WorkerPool(workers) : undefined;
  let readout: LinearReadout;
  let trainFeatures: SparseFeatures;
  let testFeatures: SparseFeatures;
  const totals = emptyTotals();
  let extractSeconds: number;
  let readoutSeconds: number;
  try {
    const extract = async (phase: Phase, which: 'train' | 'test', count: number): Promise<SparseFeatures> => {
      const saved = resumed?.features?.[which];
      const savedTotals = resumed?.results?.[`${which}Totals`] as RunTotals | undefined;
      if (options.resume !== undefined && saved !== undefined && saved.rows === count && savedTotals !== undefined) {
        const f = readFeatures(options.resume.dir, saved);
        mergeTotals(totals, savedTotals);
        phaseEnd(phase, count, 'from the checkpoint');
        return f;
      }
      const images = which === 'train' ? data.train : data.test;
      progress(phase, 0, count);
      const onProgress = (done: number): void => progress(phase, done, count);
      const result = pool
        ? await pool.extract(scenario.networkOptions, weights, images, count, cols, kernel, onProgress)
        : extractFeatures(engine, images, 0, count, onProgress);
      mergeTotals(totals, result.totals);
      phaseEnd(phase, count);
      if (options.saveDir !== undefined) {
        payload.features = { ...payload.features, [which]: writeFeatures(options.saveDir, `features-${which}.bin`, result.features) };
        payload.results = { ...payload.results, [`${which}Totals`]: result.totals };
        writeCheckpoint(options.saveDir, payload);
      }
      return result.features;
    };
    trainFeatures = await extract('extract-train', 'train', trainCount);
    testFeatures = await extract('extract-test', 'test', testCount);
    extractSeconds = (performance.now() - t1) / 1000;

    // 3. Readout.
    const t2 = performance.now();
    progress('readout', 0, 10);
    const r = resumed?.readout;
    if (r !== undefined && resumed?.phase === 'complete') {
      readout = { kind: 'linear-svm', classes: r.classes, features: r.features, weights: Float64Array.from(r.weights), iterations: r.iterations, options: scenario.readout };
      phaseEnd('readout', r.classes.length, 'from the checkpoint');
    } else if (scenario.readout.kind === 'ml-svm') {
      readout = trainMlSvmReadout(trainFeatures, data.train.labels, scenario.readout, (done) => progress('readout', done, 10));
      phaseEnd('readout', readout.classes.length, 'ml-svm');
    } else if (pool) {
      readout = await pool.trainLinearReadout(trainFeatures, data.train.labels, scenario.readout, (done) => progress('readout', done, 10));
      phaseEnd('readout', readout.classes.length, `passes per class: ${readout.iterations.join(' ')}`);
    } else {
      let done = 0;
      readout = trainLinearReadout(trainFeatures, data.train.labels, scenario.readout, () => progress('readout', ++done, 10));
      phaseEnd('readout', readout.classes.length, `passes per class: ${readout.iterations.join(' ')}`);
    }
    readoutSeconds = (performance.now() - t2) / 1000;
  } finally {
    await pool?.close();
  }

  // 4. Accuracy and the report.
  const predicted = predictLabels(readout, testFeatures);
  const testAccuracy = accuracy(predicted, data.test.labels.subarray(0, testCount));
  const trainAccuracy = accuracy(predictLabels(readout, trainFeatures), data.train.labels.subarray(0, trainCount));
  const figures = sampleFigures(totals, net.timeBins);
  const result: RunResult = {
    accuracy: testAccuracy,
    samplesToConvergence: layers[0]?.samples ?? 0,
    ...figures,
    seconds: { train: trainSeconds, extract: extractSeconds, readout: readoutSeconds, total: (performance.now() - started) / 1000 },
    seed: scenario.seed,
    config: scenarioJson(scenario),
    readoutTrainSamples: trainCount,
    testSamples: testCount,
    trainAccuracy,
    workers,
    kernel: (engine.convLayers[0] as ConvLayer).kernel,
    layers: layers.map((l) => ({ layer: l.layer, samples: l.samples, stoppedBy: l.stoppedBy, convergence: l.convergence, learningRate: l.learningRate, applications: l.applications })),
    resumedFrom: options.resume?.dir,
    peakMemoryMB: peakMemoryMB(),
  };
  if (options.saveDir !== undefined) {
    payload.phase = 'complete';
    payload.readout = { kind: scenario.readout.kind, classes: [...readout.classes], features: readout.features, weights: Array.from(readout.weights), iterations: [...readout.iterations] };
    payload.results = { ...payload.results, accuracy: testAccuracy, testSamples: testCount, readoutTrainSamples: trainCount };
    writeCheckpoint(options.saveDir, payload);
  }
  return result;
}
