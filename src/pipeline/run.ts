/**
 * The whole experiment of the paper, end to end: VDSP training to convergence, feature
 * extraction of the training and test images (in parallel over worker threads), the SVM
 * readout, and the test accuracy with the spike and event figures. Checkpoints are written
 * after each phase when asked, and a run can resume from one, skipping the phases it holds.
 */
import { copyFileSync, renameSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { MnistData } from '../data/mnist.js';
import { EvspikeError, InterruptedError, OptionError } from '../errors.js';
import { Engine } from '../events/engine.js';
import type { ImageSet } from '../data/idx.js';
import { LAYER_KINDS, type LayerKindName } from '../neurons/kinds/index.js';
import type { TrainableLayer } from '../neurons/layer.js';
import type { KernelChoice, KernelName } from '../neurons/kernels/integrate.js';
import type { SparseFeatures } from '../readout/features.js';
import { accuracy, classesOf, predictLabels, trainLinearReadout, type LinearReadout } from '../readout/linear-svm.js';
import { ML_SVM_MAX_SAMPLES, trainMlSvmReadout } from '../readout/ml-svm.js';
import { peakMemoryMB } from '../util/memory.js';
import { SeededRandom } from '../util/random.js';
import {
  readFeatureSet,
  writeCheckpoint,
  writeFeatures,
  type Checkpoint,
  type CheckpointFeatures,
  type CheckpointLayer,
  type CheckpointPayload,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
} from './checkpoint.js';
import { extractInSlices, featureCount, type ExtractResult } from './extract.js';
import { emptyTotals, mergeTotals, type RunTotals } from './infer.js';
import { scenarioJson, UNLIMITED, type ResolvedScenario } from './scenario.js';
import { trainingSteps, type LayerTrainResult } from './train.js';
import { abortable, WorkerPool } from './workers.js';
import { concatFeatures } from '../readout/features.js';

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
  /**
   * Stops the run with an {@link InterruptedError} within about a second (Ctrl-C). Whatever was
   * saved before stays saved: with `saveDir`, the trained layers and every finished part of
   * the features, so a resumed run goes on from there.
   */
  signal?: AbortSignal;
  /** With `saveDir`: save the extracted features every this many images. Default 5,000. */
  checkpointEvery?: number;
}

/**
 * The figures of one layer, per sample. Sparsity comes in two forms: `activationSparsity` is
 * per neuron and time bin, 1 − spikes / (neurons × bins), the fraction of (neuron, bin) slots
 * without a spike, which is what a clock-driven simulator would compute for nothing;
 * `neuronSparsity` is per neuron, 1 − spikes / neurons, the fraction of neurons that stay
 * silent for the whole sample (each neuron spikes at most once).
 */
/** The event and sparsity figures per sample, of one layer or of all of them. */
export interface EventFigures {
  synapticEventsPerSample: number;
  fanoutEventsPerSample: number;
  /** Weight additions the simulator performed (≤ synaptic events: exact skipping does less). */
  additionsPerSample: number;
  denseMacsPerSample: number;
  /** 1 − spikes / (neurons × time bins). */
  activationSparsity: number;
  /** 1 − spikes / neurons (the fraction of neurons silent in a sample). */
  neuronSparsity: number;
}

export interface LayerFigures extends EventFigures {
  /** Index of the layer in the network (0: the input). */
  layer: number;
  kind: string;
  neurons: number;
  spikesPerSample: number;
}

/** Per-sample figures over every sample presented without learning (the events over all layers). */
export interface SampleFigures extends EventFigures {
  /** Spikes per sample, summed by layer kind (`input`, each kind of the registry), and in all. */
  spikesPerSample: Record<'input' | LayerKindName | 'total', number>;
  /** The same figures for every layer, in network order. */
  perLayer: LayerFigures[];
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
  kernel: KernelName;
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
    spikesPerSample: {
      input: spikesOf('input'),
      ...(Object.fromEntries(Object.keys(LAYER_KINDS).map((kind) => [kind, spikesOf(kind)])) as Record<LayerKindName, number>),
      total: totals.totalSpikes / n,
    },
    synapticEventsPerSample: sum((l) => l.synapticEvents),
    fanoutEventsPerSample: sum((l) => l.fanoutEvents),
    additionsPerSample: sum((l) => l.additions),
    denseMacsPerSample: sum((l) => l.denseMacs),
    activationSparsity: neurons === 0 ? 1 : 1 - totals.totalSpikes / n / (neurons * timeBins),
    neuronSparsity: neurons === 0 ? 1 : 1 - totals.totalSpikes / n / neurons,
    perLayer: totals.layers.map((l, layer) => ({
      layer,
      kind: l.kind,
      neurons: l.neurons,
      spikesPerSample: l.spikes / n,
      synapticEventsPerSample: l.synapticEvents / n,
      fanoutEventsPerSample: l.fanoutEvents / n,
      additionsPerSample: l.additions / n,
      denseMacsPerSample: l.denseMacs / n,
      activationSparsity: l.neurons === 0 ? 1 : 1 - l.spikes / n / (l.neurons * timeBins),
      neuronSparsity: l.neurons === 0 ? 1 : 1 - l.spikes / n / l.neurons,
    })),
  };
}

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/** Yield to the event loop (so that signals are heard) and stop if `signal` has aborted. */
async function checkpointTick(signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (signal?.aborted) throw new InterruptedError(signal.reason);
}

/**
 * Check the scenario's explicit limits against the data: a limit above what the data holds is
 * an error, not a silent cap.
 */
export function checkLimits(scenario: ResolvedScenario, data: MnistData): void {
  const check = (field: string, limit: number, available: number, what: string): void => {
    if (limit !== UNLIMITED && limit > available) throw new OptionError(field, limit, `at most ${available}: the data holds ${what}`);
  };
  check('limits.test', scenario.limits.test, data.test.count, `${data.test.count} test images`);
  check('limits.extract', scenario.limits.extract, data.train.count, `${data.train.count} training images`);
  check('limits.train', scenario.limits.train, data.train.count * scenario.training.epochs, `${data.train.count} training images × ${scenario.training.epochs} epoch(s)`);
}

/**
 * Copy the feature files a checkpoint in `from` refers to into `to` (atomically each), so a
 * run resumed from one folder and saved into another has a complete checkpoint there.
 */
function copyFeatureFiles(from: string, to: string, payload: CheckpointPayload): void {
  for (const set of [payload.features?.train, payload.features?.test]) {
    for (const part of set?.parts ?? []) {
      const tmp = join(to, `.${part.file}.${process.pid}.tmp`);
      try {
        copyFileSync(join(from, part.file), tmp);
        renameSync(tmp, join(to, part.file));
      } catch (e) {
        throw new EvspikeError(`${join(to, part.file)}: cannot copy the feature file of ${from}: ${(e as Error).message}`);
      }
    }
  }
}

/** What the phases share: progress reports and the abort signal. */
interface PhaseContext {
  progress: NonNullable<RunOptions['onProgress']>;
  phaseEnd: NonNullable<RunOptions['onPhaseEnd']>;
  signal: AbortSignal | undefined;
}

/** The trained network: its engine and the learned state of each layer with weights. */
export interface Trained {
  engine: Engine;
  layers: CheckpointLayer[];
  seconds: number;
}

/**
 * Phase 1: train every layer with weights on the training images (a slice at a time, so that
 * an abort is heard), from the seed's initial weights.
 */
export async function trainPhase(scenario: ResolvedScenario, train: ImageSet, kernel: KernelChoice, ctx: PhaseContext): Promise<Trained> {
  const random = new SeededRandom(scenario.seed);
  const engine = new Engine(scenario.network, { random, kernel });
  const initial = engine.convLayers.map((c) => Array.from(c.weights));
  const t0 = performance.now();
  ctx.progress('train', 0, undefined);
  const steps = trainingSteps(engine, train, random, scenario.training);
  let results: LayerTrainResult[];
  let sliceStart = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) {
      results = step.value;
      break;
    }
    const p = step.value;
    ctx.progress('train', p.samples, undefined, `layer ${p.layer}, Q=${p.convergence.toPrecision(4)}`);
    if (performance.now() - sliceStart > 100) {
      await checkpointTick(ctx.signal);
      sliceStart = performance.now();
    }
  }
  const layers = results.map((r, i) => ({
    layer: r.layer,
    initialWeights: initial[i],
    weights: Array.from((engine.layer(r.layer) as TrainableLayer).weights),
    learningRate: r.learningRate,
    applications: r.applications,
    samples: r.samples,
    stoppedBy: r.stoppedBy,
    convergence: r.convergence,
    convergenceHistory: Array.from(r.convergenceHistory),
  }));
  const last = results[results.length - 1];
  ctx.phaseEnd('train', last?.samples ?? 0, last === undefined ? 'no layer with weights' : `Q=${last.convergence.toPrecision(6)} (${last.stoppedBy})`);
  return { engine, layers, seconds: (performance.now() - t0) / 1000 };
}

/** Phase 1 from a checkpoint: the engine with the saved weights and learning state. */
export function restoreTrained(scenario: ResolvedScenario, layers: CheckpointLayer[], kernel: KernelChoice): Trained {
  const engine = new Engine(scenario.network, { weights: layers.map((l) => l.weights), learning: layers, kernel });
  return { engine, layers, seconds: 0 };
}

/** Where extraction saves its parts, and what a resumed run already has. */
export interface ExtractSaving {
  /** The checkpoint payload that records the saved parts (written after each). */
  payload: CheckpointPayload;
  /** Save into this folder; undefined: do not save. */
  saveDir: string | undefined;
  /** Save a part every this many images. */
  every: number;
  /** The folder of the checkpoint a resumed run goes on from, whose saved parts count. */
  resumeDir: string | undefined;
}

/**
 * Phase 2, for one image set: the features of its first `count` images (over the worker pool
 * when given), saved in parts as they come, going on after the parts a resumed checkpoint has.
 */
export async function extractPhase(
  phase: 'extract-train' | 'extract-test',
  images: ImageSet,
  count: number,
  trained: Trained,
  scenario: ResolvedScenario,
  pool: WorkerPool | undefined,
  kernel: KernelChoice,
  saving: ExtractSaving,
  ctx: PhaseContext,
): Promise<ExtractResult> {
  const which = phase === 'extract-train' ? 'train' : 'test';
  const { payload, saveDir, every } = saving;
  const engine = trained.engine;
  const cols = featureCount(engine);
  const totalsKey = `${which}Totals`;
  const saved: CheckpointFeatures | undefined = payload.features?.[which];
  const savedTotals = payload.results?.[totalsKey] as RunTotals | undefined;
  let prefix: SparseFeatures | undefined;
  const prefixTotals = emptyTotals();
  if (saving.resumeDir !== undefined && saved !== undefined && savedTotals !== undefined && saved.rows <= count) {
    prefix = readFeatureSet(saving.resumeDir, saved, cols);
    mergeTotals(prefixTotals, savedTotals);
  }
  const first = prefix?.rows ?? 0;
  if (prefix !== undefined && first === count) {
    ctx.phaseEnd(phase, count, 'from the checkpoint');
    return { features: prefix, totals: prefixTotals };
  }
  ctx.progress(phase, first, count);
  // the record of what is saved, extended by one part file every `every` images
  let record: CheckpointFeatures = first > 0 && saved !== undefined ? saved : { rows: 0, parts: [] };
  const pending: SparseFeatures[] = [];
  let pendingTotals = emptyTotals();
  const savedSoFar = mergeTotals(emptyTotals(), prefixTotals);
  const onChunk = (_start: number, end: number, features: SparseFeatures, chunkTotals: RunTotals): void => {
    if (saveDir === undefined) return;
    pending.push(features);
    mergeTotals(pendingTotals, chunkTotals);
    if (end - record.rows < every && end < count) return;
    const part = writeFeatures(saveDir, `features-${which}-${record.rows}-${end}.bin`, concatFeatures(pending, cols));
    mergeTotals(savedSoFar, pendingTotals);
    record = { rows: end, parts: [...record.parts, part] };
    payload.features = { ...payload.features, [which]: record };
    payload.results = { ...payload.results, [totalsKey]: structuredClone(savedSoFar) };
    writeCheckpoint(saveDir, payload);
    pending.length = 0;
    pendingTotals = emptyTotals();
  };
  const onProgress = (d: number): void => ctx.progress(phase, first + d, count);
  const chunk = Math.min(500, every); // a part is saved as soon as its chunks are done; small chunks end the phase evenly
  const weights = engine.convLayers.map((c) => Float64Array.from(c.weights));
  const result = pool
    ? await pool.extract({ network: scenario.networkOptions, weights, images, start: first, end: count, cols, kernel, chunk, onProgress, onChunk, shared16: phase === 'extract-train', signal: ctx.signal })
    : await extractInSlices(engine, images, first, count, { chunk, onProgress, onChunk, signal: ctx.signal });
  ctx.phaseEnd(phase, count, first > 0 ? `from image ${first} on (the rest from the checkpoint)` : undefined);
  if (prefix === undefined) return result;
  return { features: concatFeatures([prefix, result.features], cols), totals: mergeTotals(prefixTotals, result.totals) };
}

/** Phase 3: the readout on the training features (over the worker pool when given), or the checkpoint's. */
export async function readoutPhase(
  scenario: ResolvedScenario,
  features: SparseFeatures,
  labels: Uint8Array,
  pool: WorkerPool | undefined,
  saved: CheckpointPayload | undefined,
  ctx: PhaseContext,
): Promise<LinearReadout> {
  const progress = (done: number): void => ctx.progress('readout', done, 10);
  progress(0);
  const r = saved?.readout;
  if (r !== undefined && saved?.phase === 'complete') {
    ctx.phaseEnd('readout', r.classes.length, 'from the checkpoint');
    return { kind: 'linear-svm', classes: r.classes, features: r.features, weights: Float64Array.from(r.weights), iterations: r.iterations, options: scenario.readout };
  }
  let readout: LinearReadout;
  if (scenario.readout.kind === 'ml-svm') {
    await checkpointTick(ctx.signal);
    readout = trainMlSvmReadout(features, labels, scenario.readout, progress);
    ctx.phaseEnd('readout', readout.classes.length, 'ml-svm');
    return readout;
  }
  readout = pool
    ? await pool.trainLinearReadout(features, labels, scenario.readout, progress, ctx.signal)
    : await trainReadoutInSlices(features, labels, scenario.readout, progress, ctx.signal);
  ctx.phaseEnd('readout', readout.classes.length, `passes per class: ${readout.iterations.join(' ')}`);
  return readout;
}

/** Run the experiment: train, extract, read out, report; saving and resuming when asked. */
export async function runExperiment(options: RunOptions): Promise<RunResult> {
  const { scenario, data } = options;
  const workers = options.workers ?? defaultWorkers();
  const kernel = options.kernel ?? 'auto';
  const ctx: PhaseContext = { progress: options.onProgress ?? (() => {}), phaseEnd: options.onPhaseEnd ?? (() => {}), signal: options.signal };
  const saveDir = options.saveDir;
  const every = options.checkpointEvery ?? 5000;
  if (!Number.isInteger(every) || every < 1) throw new OptionError('checkpointEvery', every, 'a positive integer');
  const started = performance.now();
  const resumed = options.resume?.payload;
  checkLimits(scenario, data);
  const trainCount = Math.min(scenario.limits.extract, data.train.count);
  const testCount = Math.min(scenario.limits.test, data.test.count);
  if (scenario.readout.kind === 'ml-svm' && trainCount > ML_SVM_MAX_SAMPLES && resumed?.phase !== 'complete') {
    // refuse before hours of work, not after
    throw new OptionError('readout', `ml-svm on ${trainCount} samples`, `at most ${ML_SVM_MAX_SAMPLES} training samples for the ml-svm readout (SMO grows quadratically); use --extract-limit ${ML_SVM_MAX_SAMPLES} or the linear-svm readout`);
  }
  if (saveDir !== undefined && options.resume !== undefined && resolve(saveDir) !== resolve(options.resume.dir) && resumed !== undefined) {
    writeCheckpoint(saveDir, resumed); // creates the folder, and refers to the files copied next
    copyFeatureFiles(options.resume.dir, saveDir, resumed);
  }

  // The workers start now: their start-up overlaps the training.
  const pool = workers > 1 ? new WorkerPool(workers) : undefined;
  let trained: Trained;
  let payload: CheckpointPayload;
  let readout: LinearReadout;
  let train: ExtractResult;
  let test: ExtractResult;
  let extractSeconds: number;
  let readoutSeconds: number;
  try {
    // 1. Training (or the trained state of the checkpoint).
    if (resumed !== undefined) {
      trained = restoreTrained(scenario, resumed.layers, kernel);
      ctx.phaseEnd('train', resumed.layers[0]?.samples ?? 0, 'from the checkpoint');
    } else {
      trained = await trainPhase(scenario, data.train, kernel, ctx);
    }
    payload = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      createdAt: resumed?.createdAt ?? new Date().toISOString(),
      scenario: scenarioJson(scenario),
      phase: resumed?.phase ?? 'trained',
      layers: trained.layers,
      features: resumed?.features,
      readout: resumed?.readout,
      results: resumed?.results,
    };
    if (saveDir !== undefined) writeCheckpoint(saveDir, payload);

    // 2. Features of the training and test images, saved in parts as they come; 3. the readout.
    const saving: ExtractSaving = { payload, saveDir, every, resumeDir: options.resume?.dir };
    const t1 = performance.now();
    train = await extractPhase('extract-train', data.train, trainCount, trained, scenario, pool, kernel, saving, ctx);
    test = await extractPhase('extract-test', data.test, testCount, trained, scenario, pool, kernel, saving, ctx);
    extractSeconds = (performance.now() - t1) / 1000;
    const t2 = performance.now();
    readout = await readoutPhase(scenario, train.features, data.train.labels, pool, resumed, ctx);
    readoutSeconds = (performance.now() - t2) / 1000;
  } finally {
    await pool?.close();
  }
  await abortable(Promise.resolve(), ctx.signal);

  // 4. Accuracy and the report.
  const testAccuracy = accuracy(predictLabels(readout, test.features), data.test.labels.subarray(0, testCount));
  const trainAccuracy = accuracy(predictLabels(readout, train.features), data.train.labels.subarray(0, trainCount));
  const totals = mergeTotals(mergeTotals(emptyTotals(), train.totals), test.totals);
  const layers = trained.layers;
  const result: RunResult = {
    accuracy: testAccuracy,
    samplesToConvergence: layers[0]?.samples ?? 0,
    ...sampleFigures(totals, scenario.network.timeBins),
    seconds: { train: trained.seconds, extract: extractSeconds, readout: readoutSeconds, total: (performance.now() - started) / 1000 },
    seed: scenario.seed,
    config: scenarioJson(scenario),
    readoutTrainSamples: trainCount,
    testSamples: testCount,
    trainAccuracy,
    workers,
    kernel: trained.engine.kernel,
    layers: layers.map((l) => ({ layer: l.layer, samples: l.samples, stoppedBy: l.stoppedBy, convergence: l.convergence, learningRate: l.learningRate, applications: l.applications })),
    resumedFrom: options.resume?.dir,
    peakMemoryMB: peakMemoryMB(),
  };
  if (saveDir !== undefined) {
    payload.phase = 'complete';
    payload.readout = { kind: scenario.readout.kind, classes: [...readout.classes], features: readout.features, weights: Array.from(readout.weights), iterations: [...readout.iterations] };
    payload.results = { ...payload.results, accuracy: testAccuracy, testSamples: testCount, readoutTrainSamples: trainCount };
    writeCheckpoint(saveDir, payload);
  }
  return result;
}

/** The one-vs-rest readout on this thread, a class at a time with the event loop run between. */
async function trainReadoutInSlices(
  features: SparseFeatures,
  labels: Uint8Array,
  options: ResolvedScenario['readout'],
  onClass: (done: number) => void,
  signal: AbortSignal | undefined,
): Promise<LinearReadout> {
  const classes = classesOf(labels, features.rows);
  const stride = features.cols + 1;
  const weights = new Float64Array(classes.length * stride);
  const iterations = new Array<number>(classes.length).fill(0);
  for (let c = 0; c < classes.length; c++) {
    await checkpointTick(signal);
    const one = trainLinearReadout(features, labels, options, undefined, [c]);
    weights.set(one.weights.subarray(c * stride, (c + 1) * stride), c * stride);
    iterations[c] = one.iterations[c];
    onClass(c + 1);
  }
  return { kind: 'linear-svm', classes, features: features.cols, weights, iterations, options };
}

/** The JSON report of a run (`run --json`, and each point of a sweep). */
export function runReportJson(r: RunResult): Record<string, unknown> {
  return {
    accuracy: r.accuracy,
    samplesToConvergence: r.samplesToConvergence,
    spikesPerSample: r.spikesPerSample,
    synapticEventsPerSample: r.synapticEventsPerSample,
    denseMacsPerSample: r.denseMacsPerSample,
    activationSparsity: r.activationSparsity,
    neuronSparsity: r.neuronSparsity,
    perLayer: r.perLayer,
    seconds: r.seconds,
    seed: r.seed,
    config: r.config,
    fanoutEventsPerSample: r.fanoutEventsPerSample,
    additionsPerSample: r.additionsPerSample,
    trainAccuracy: r.trainAccuracy,
    readoutTrainSamples: r.readoutTrainSamples,
    testSamples: r.testSamples,
    workers: r.workers,
    kernel: r.kernel,
    layers: r.layers,
    peakMemoryMB: r.peakMemoryMB,
    ...(r.resumedFrom === undefined ? {} : { resumedFrom: r.resumedFrom }),
  };
}

