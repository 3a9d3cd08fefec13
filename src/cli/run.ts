/**
 * `evspike run [SCENARIO]`: the paper's experiment end to end, and `evspike evaluate`: the
 * test evaluation of a saved checkpoint.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadMnist } from '../data/mnist.js';
import { EvspikeError, OptionError } from '../errors.js';
import { Engine } from '../events/engine.js';
import { readCheckpoint } from '../pipeline/checkpoint.js';
import { extractFeatures, featureCount } from '../pipeline/extract.js';
import { defaultWorkers, runExperiment, sampleFigures, type Phase, type RunResult, type SampleFigures } from '../pipeline/run.js';
import { loadScenario, withOverrides, type ResolvedScenario } from '../pipeline/scenario.js';
import { WorkerPool } from '../pipeline/workers.js';
import { visualizeCheckpoint } from '../viz/visualize.js';
import { accuracy, predictLabels } from '../readout/linear-svm.js';
import { finiteNumber, oneOf, parseIntegerFlag } from '../util/validate.js';
import { parseCommand, stringFlag, type ParsedCommand } from './args.js';
import { Progress } from './progress.js';
import { formatNumber, printTable } from './table.js';

export const RUN_USAGE =
  'evspike run [SCENARIO] [--seed N] [--train-limit N] [--extract-limit N] [--test-limit N] [--workers N] [--readout linear-svm|ml-svm] [--svm-c C] [--data DIR] [--save DIR] [--resume DIR] [--json] [--quiet]';
export const EVALUATE_USAGE = 'evspike evaluate --checkpoint DIR [--test-limit N] [--workers N] [--data DIR] [--json] [--quiet]';

const PHASE_LABELS: Record<Phase, string> = {
  train: 'VDSP training',
  'extract-train': 'features, training set',
  'extract-test': 'features, test set',
  readout: 'SVM readout (classes)',
};

/** One progress display per phase. */
function progressBoard(quiet: boolean): {
  onProgress: (phase: Phase, done: number, total: number | undefined, extra?: string) => void;
  onPhaseEnd: (phase: Phase, done: number, extra?: string) => void;
} {
  const bars = new Map<Phase, Progress>();
  const bar = (phase: Phase, total: number | undefined): Progress => {
    let p = bars.get(phase);
    if (p === undefined) {
      p = new Progress(PHASE_LABELS[phase], total, { quiet });
      bars.set(phase, p);
    }
    return p;
  };
  return {
    onProgress: (phase, done, total, extra) => bar(phase, total).update(done, extra),
    onPhaseEnd: (phase, done, extra) => bar(phase, undefined).finish(done, extra),
  };
}

function workersFlag(values: ParsedCommand['values']): number {
  return parseIntegerFlag('--workers', stringFlag(values, 'workers'), defaultWorkers(), { min: 1, max: 256 });
}

const f = (x: number, d = 1): string => formatNumber(x, d);

function figureRows(r: SampleFigures): [string, string][] {
  return [
    ['spikes per sample: input', f(r.spikesPerSample.input)],
    ['spikes per sample: conv', f(r.spikesPerSample.conv)],
    ['spikes per sample: pool', f(r.spikesPerSample.pool)],
    ['spikes per sample: total', f(r.spikesPerSample.total)],
    ['synaptic events per sample', f(r.synapticEventsPerSample, 0)],
    ['dense MACs per sample', f(r.denseMacsPerSample, 0)],
    ['dense MACs / synaptic events', `${f(r.denseMacsPerSample / r.synapticEventsPerSample, 1)} ×`],
    ['activation sparsity', `${(100 * r.activationSparsity).toFixed(3)} %`],
  ];
}

/** The JSON report of `run --json`. */
export function runReportJson(r: RunResult): Record<string, unknown> {
  return {
    accuracy: r.accuracy,
    samplesToConvergence: r.samplesToConvergence,
    spikesPerSample: r.spikesPerSample,
    synapticEventsPerSample: r.synapticEventsPerSample,
    denseMacsPerSample: r.denseMacsPerSample,
    activationSparsity: r.activationSparsity,
    seconds: r.seconds,
    seed: r.seed,
    config: r.config,
    fanoutEventsPerSample: r.fanoutEventsPerSample,
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

export async function runCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommand(
    argv,
    {
      seed: { type: 'string' },
      'train-limit': { type: 'string' },
      'extract-limit': { type: 'string' },
      'test-limit': { type: 'string' },
      workers: { type: 'string' },
      readout: { type: 'string' },
      'svm-c': { type: 'string' },
      kernel: { type: 'string' },
      data: { type: 'string' },
      save: { type: 'string' },
      resume: { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
    },
    1,
    RUN_USAGE,
  );
  if (values.help) {
    out(RUN_USAGE);
    return 0;
  }
  const workers = workersFlag(values);
  const kernel = oneOf('--kernel', stringFlag(values, 'kernel'), ['auto', 'wasm', 'js'], 'auto');
  const resumeDir = stringFlag(values, 'resume');
  const overrides = {
    seed: values.seed === undefined ? undefined : parseIntegerFlag('--seed', stringFlag(values, 'seed'), 0, { min: 0, max: 0xffffffff }),
    trainLimit: values['train-limit'] === undefined ? undefined : parseIntegerFlag('--train-limit', stringFlag(values, 'train-limit'), 0, { min: 0 }),
    extractLimit: values['extract-limit'] === undefined ? undefined : parseIntegerFlag('--extract-limit', stringFlag(values, 'extract-limit'), 0, { min: 1 }),
    testLimit: values['test-limit'] === undefined ? undefined : parseIntegerFlag('--test-limit', stringFlag(values, 'test-limit'), 0, { min: 1 }),
    readoutKind: values.readout === undefined ? undefined : oneOf('--readout', stringFlag(values, 'readout'), ['linear-svm', 'ml-svm'], 'linear-svm'),
    C: values['svm-c'] === undefined ? undefined : finiteNumber('--svm-c', Number(stringFlag(values, 'svm-c')), 0, { above: 0 }),
  };
  if (values['svm-c'] !== undefined && !(Number(stringFlag(values, 'svm-c')) > 0)) {
    throw new OptionError('--svm-c', stringFlag(values, 'svm-c'), 'a positive number');
  }
  let scenario: ResolvedScenario;
  const resume = resumeDir === undefined ? undefined : readCheckpoint(resumeDir);
  if (resume !== undefined) {
    const given = Object.entries(overrides).filter(([, v]) => v !== undefined).map(([k]) => k);
    if (positionals.length > 0 || given.length > 0) {
      throw new OptionError(positionals.length > 0 ? 'SCENARIO' : given[0], positionals[0] ?? 'given', "nothing: --resume goes on with the checkpoint's own configuration");
    }
    scenario = resume.scenario;
  } else {
    scenario = withOverrides(loadScenario(positionals[0] ?? 'mnist-vdsp'), overrides);
  }
  const saveDir = stringFlag(values, 'save');
  if (saveDir !== undefined && existsSync(join(saveDir, 'checkpoint.json')) && (resumeDir === undefined || resolve(resumeDir) !== resolve(saveDir))) {
    // never overwrite a saved run that this one did not start from
    throw new EvspikeError(`${saveDir}: already holds a checkpoint; save into another folder, or go on from it with --resume ${saveDir} --save ${saveDir}`);
  }
  const data = loadMnist(stringFlag(values, 'data'));
  const quiet = Boolean(values.quiet);
  const result = await runExperiment({
    scenario,
    data,
    workers,
    kernel,
    saveDir,
    resume,
    ...progressBoard(quiet),
  });
  if (saveDir !== undefined) {
    // the pictures of the saved run, next to its checkpoint
    visualizeCheckpoint(readCheckpoint(saveDir), data.test, saveDir);
  }
  if (values.json) {
    out(JSON.stringify(runReportJson(result)));
    return 0;
  }
  out('');
  printTable(
    [
      ['scenario', `${scenario.name} (seed ${result.seed})`],
      ['test accuracy', `${(100 * result.accuracy).toFixed(2)} % on ${result.testSamples} test images`],
      ['training accuracy of the readout', `${(100 * result.trainAccuracy).toFixed(2)} % on ${result.readoutTrainSamples} training images`],
      [
        'training samples to convergence',
        result.layers.length === 1
          ? `${result.samplesToConvergence} (${result.layers[0].stoppedBy})`
          : result.layers.map((l) => `layer ${l.layer}: ${l.samples} (${l.stoppedBy})`).join(', '),
      ],
      ...figureRows(result),
      ['seconds: training', f(result.seconds.train, 2)],
      ['seconds: feature extraction', `${f(result.seconds.extract, 2)} (${result.workers} worker${result.workers === 1 ? '' : 's'})`],
      ['seconds: readout', f(result.seconds.readout, 2)],
      ['seconds: total', f(result.seconds.total, 2)],
      ['peak memory', `${f(result.peakMemoryMB, 0)} MB`],
      ...(saveDir !== undefined ? ([['checkpoint and pictures', saveDir]] as [string, string][]) : []),
    ],
    out,
  );
  out(`(spikes and events per sample: means over the ${result.readoutTrainSamples + result.testSamples} samples presented without learning)`);
  return 0;
}

export async function evaluateCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseCommand(
    argv,
    { checkpoint: { type: 'string' }, 'test-limit': { type: 'string' }, workers: { type: 'string' }, data: { type: 'string' }, json: { type: 'boolean' }, quiet: { type: 'boolean' } },
    0,
    EVALUATE_USAGE,
  );
  if (values.help) {
    out(EVALUATE_USAGE);
    return 0;
  }
  const dir = stringFlag(values, 'checkpoint');
  if (dir === undefined) throw new OptionError('--checkpoint', undefined, `a checkpoint folder: ${EVALUATE_USAGE}`);
  const checkpoint = readCheckpoint(dir);
  const r = checkpoint.payload.readout;
  if (r === undefined || checkpoint.payload.phase !== 'complete') {
    throw new EvspikeError(`${dir}: the checkpoint has no readout yet (phase ${checkpoint.payload.phase}); run --resume ${dir} first`);
  }
  const workers = workersFlag(values);
  const data = loadMnist(stringFlag(values, 'data'));
  const scenario = checkpoint.scenario;
  const count = parseIntegerFlag('--test-limit', stringFlag(values, 'test-limit'), Math.min(scenario.limits.test, data.test.count), { min: 1, max: data.test.count });
  const engine = new Engine(scenario.network, { weights: checkpoint.payload.layers.map((l) => l.weights) });
  const cols = featureCount(engine);
  if (cols !== r.features) throw new EvspikeError(`${dir}: mismatched checkpoint: the readout has ${r.features} features, the network ${cols}`);
  const progress = new Progress('features, test set', count, { quiet: Boolean(values.quiet) });
  const t0 = performance.now();
  let extracted;
  if (workers > 1) {
    const pool = new WorkerPool(workers);
    try {
      extracted = await pool.extract(scenario.networkOptions, engine.convLayers.map((c) => c.weights), data.test, count, cols, 'auto', (d) => progress.update(d));
    } finally {
      await pool.close();
    }
  } else {
    extracted = extractFeatures(engine, data.test, 0, count, (d) => progress.update(d));
  }
  progress.finish(count);
  const seconds = (performance.now() - t0) / 1000;
  const readout = { classes: r.classes, features: r.features, weights: Float64Array.from(r.weights) };
  const testAccuracy = accuracy(predictLabels(readout, extracted.features), data.test.labels.subarray(0, count));
  const figures = sampleFigures(extracted.totals, scenario.network.timeBins);
  if (values.json) {
    out(JSON.stringify({ accuracy: testAccuracy, testSamples: count, ...figures, seconds, checkpoint: dir, seed: scenario.seed, config: checkpoint.payload.scenario }));
    return 0;
  }
  printTable(
    [
      ['checkpoint', `${dir} (${scenario.name}, seed ${scenario.seed})`],
      ['test accuracy', `${(100 * testAccuracy).toFixed(2)} % on ${count} test images`],
      ...figureRows(figures),
      ['seconds', f(seconds, 2)],
    ],
    out,
  );
  return 0;
}
