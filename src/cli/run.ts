/**
 * `evspike run [SCENARIO]`: the paper's experiment end to end, and `evspike evaluate`: the
 * test evaluation of a saved checkpoint.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadDataset } from '../data/datasets.js';
import { EvspikeError, InterruptedError, OptionError } from '../errors.js';
import { readCheckpoint } from '../pipeline/checkpoint.js';
import { evaluateCheckpoint } from '../pipeline/evaluate.js';
import { defaultWorkers, runExperiment, runReportJson, type Phase, type RunResult, type SampleFigures } from '../pipeline/run.js';
export { runReportJson } from '../pipeline/run.js';
import { loadScenario, scenarioJson, shippedScenarios, withOverrides, type ResolvedScenario } from '../pipeline/scenario.js';
import { finiteNumber, oneOf, parseIntegerFlag } from '../util/validate.js';
import { KERNEL_CHOICES } from '../neurons/kernels/integrate.js';
import { helpText, listFlag, parseCommand, stringFlag, usageLine, type CommandSpec, type ParsedCommand } from './args.js';
import { DATA_FLAG, JSON_FLAG, KERNEL_FLAG, QUIET_FLAG, SEED_FLAG, SET_FLAG, WORKERS_FLAG } from './flags.js';
import { Progress } from './progress.js';
import { exitCodeOf, withSignals } from './signals.js';
import { formatNumber, printColumns, printTable } from './table.js';

export const RUN_SPEC: CommandSpec = {
  name: 'run',
  summary:
    "The paper's experiment end to end: VDSP training to convergence, feature extraction of the training and test images, the linear SVM readout, and a report. Ctrl-C stops it; with --save, what was saved is kept and `run --resume DIR` goes on from there.",
  args: [
    {
      name: 'SCENARIO',
      optional: true,
      help: `A scenario file (path), or a shipped scenario by name, with or without .json: ${shippedScenarios().join(', ')} (default: mnist-vdsp, the paper).`,
    },
  ],
  flags: {
    seed: SEED_FLAG,
    'train-limit': { type: 'string', value: 'N', help: 'Training samples presented to VDSP at most, per conv layer (0: the untrained network).', default: "the scenario's, else until convergence" },
    'extract-limit': { type: 'string', value: 'N', help: 'Training images whose features train the readout.', default: "the scenario's, else all 60,000" },
    'test-limit': { type: 'string', value: 'N', help: 'Test images evaluated.', default: "the scenario's, else all 10,000" },
    workers: WORKERS_FLAG,
    readout: { type: 'string', value: 'linear-svm|ml-svm', help: "The readout: liblinear's dual coordinate descent, or ml-svm's SMO (at most 2,000 training samples).", default: 'linear-svm' },
    'svm-c': { type: 'string', value: 'C', help: 'Regularisation C of the readout (> 0).', default: '0.005' },
    kernel: KERNEL_FLAG,
    data: DATA_FLAG,
    save: {
      type: 'string',
      value: 'DIR',
      help: 'Save the checkpoint (after training, every 5,000 extracted images, after the readout) and the pictures into DIR. A DIR holding this same run (same scenario and seed) is continued.',
    },
    resume: { type: 'string', value: 'DIR', help: "Go on from the checkpoint in DIR with its own configuration, saving into DIR (or into --save's folder)." },
    'checkpoint-every': { type: 'string', value: 'N', help: 'With --save: save the extracted features every N images.', default: '5000' },
    set: SET_FLAG,
    json: JSON_FLAG,
    quiet: QUIET_FLAG,
  },
};

export const EVALUATE_SPEC: CommandSpec = {
  name: 'evaluate',
  summary: "Re-run the test evaluation of a saved checkpoint: extract the test images with its weights, apply its readout, report accuracy and figures.",
  flags: {
    checkpoint: { type: 'string', value: 'DIR', help: 'The checkpoint folder (of a run that finished its readout).', required: true },
    'test-limit': { type: 'string', value: 'N', help: 'Test images evaluated.', default: "the checkpoint scenario's, else all 10,000" },
    workers: WORKERS_FLAG,
    data: DATA_FLAG,
    json: JSON_FLAG,
    quiet: QUIET_FLAG,
  },
};
const EVALUATE_USAGE = usageLine(EVALUATE_SPEC);

const PHASE_LABELS: Record<Phase, string> = {
  train: 'training (unsupervised)',
  'extract-train': 'features, training set',
  'extract-test': 'features, test set',
  readout: 'SVM readout (classes)',
};

/** One progress display per phase. */
function progressBoard(quiet: boolean): {
  onProgress: (phase: Phase, done: number, total: number | undefined, extra?: string) => void;
  onPhaseEnd: (phase: Phase, done: number, extra?: string) => void;
  clear: () => void;
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
    clear: () => bars.forEach((p) => p.clear()),
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
    ['weight additions performed per sample', `${f(r.additionsPerSample, 0)} (exact skipping)`],
    ['dense MACs per sample', f(r.denseMacsPerSample, 0)],
    ['dense MACs / synaptic events', `${f(r.denseMacsPerSample / r.synapticEventsPerSample, 1)} ×`],
    ['activation sparsity (neuron × bin)', `${(100 * r.activationSparsity).toFixed(3)} %`],
    ['activation sparsity (neuron)', `${(100 * r.neuronSparsity).toFixed(3)} %`],
  ];
}

/** The figures of every layer, one row each. */
export function printLayerFigures(r: SampleFigures, out: (line: string) => void): void {
  printColumns(
    ['layer', 'neurons', 'spikes', 'synaptic events', 'fan-out events', 'additions done', 'dense MACs', 'sparsity (n×bin)', 'sparsity (n)'],
    r.perLayer.map((l) => [
      `${l.layer} ${l.kind}`,
      f(l.neurons, 0),
      f(l.spikesPerSample),
      f(l.synapticEventsPerSample, 0),
      f(l.fanoutEventsPerSample, 0),
      f(l.additionsPerSample, 0),
      f(l.denseMacsPerSample, 0),
      `${(100 * l.activationSparsity).toFixed(3)} %`,
      `${(100 * l.neuronSparsity).toFixed(3)} %`,
    ]),
    out,
  );
}

/** What an interrupted run has saved, in words, and how to go on. */
function interruptedReport(saveDir: string | undefined): string[] {
  if (saveDir === undefined || !existsSync(join(saveDir, 'checkpoint.json'))) {
    return ['nothing was saved (run with --save DIR to keep what a run has done)'];
  }
  const c = readCheckpoint(saveDir).payload;
  const saved = [`trained weights of ${c.layers.length} conv layer(s)`];
  for (const which of ['train', 'test'] as const) {
    const set = c.features?.[which];
    if (set !== undefined) saved.push(`features of ${set.rows} ${which === 'train' ? 'training' : 'test'} images`);
  }
  if (c.phase === 'complete') saved.push('the readout');
  return [`saved in ${saveDir}: ${saved.join(', ')}`, `go on with: npx evspike run --resume ${saveDir}`];
}

/** Whether two resolved scenarios describe the same run (configuration and seed). */
function sameRun(a: ResolvedScenario, b: ResolvedScenario): boolean {
  return JSON.stringify({ ...scenarioJson(a), description: '' }) === JSON.stringify({ ...scenarioJson(b), description: '' });
}

export async function runCommand(argv: string[], out: (line: string) => void, err: (line: string) => void = () => {}): Promise<number> {
  const { values, positionals } = parseCommand(argv, RUN_SPEC);
  if (values.help) {
    out(helpText(RUN_SPEC));
    return 0;
  }
  const workers = workersFlag(values);
  const kernel = oneOf('--kernel', stringFlag(values, 'kernel'), KERNEL_CHOICES, 'auto');
  const checkpointEvery = parseIntegerFlag('--checkpoint-every', stringFlag(values, 'checkpoint-every'), 5000, { min: 1 });
  const resumeDir = stringFlag(values, 'resume');
  const optionalInteger = (flag: string, min: number): number | undefined =>
    values[flag] === undefined ? undefined : parseIntegerFlag(`--${flag}`, stringFlag(values, flag), 0, { min });
  const overrides = {
    seed: values.seed === undefined ? undefined : parseIntegerFlag('--seed', stringFlag(values, 'seed'), 0, { min: 0, max: 0xffffffff }),
    trainLimit: optionalInteger('train-limit', 0),
    extractLimit: optionalInteger('extract-limit', 1),
    testLimit: optionalInteger('test-limit', 1),
    readoutKind: values.readout === undefined ? undefined : oneOf('--readout', stringFlag(values, 'readout'), ['linear-svm', 'ml-svm'], 'linear-svm'),
    C: values['svm-c'] === undefined ? undefined : finiteNumber('--svm-c', Number(stringFlag(values, 'svm-c')), 0, { above: 0 }),
    set: listFlag(values, 'set'),
  };
  if (values['svm-c'] !== undefined && !(Number(stringFlag(values, 'svm-c')) > 0)) {
    throw new OptionError('--svm-c', stringFlag(values, 'svm-c'), 'a positive number');
  }
  const saveDir = stringFlag(values, 'save') ?? resumeDir;
  let scenario: ResolvedScenario;
  let resume = resumeDir === undefined ? undefined : readCheckpoint(resumeDir);
  if (resume !== undefined) {
    const given = Object.entries(overrides).filter(([k, v]) => v !== undefined && !(k === 'set' && (v as string[]).length === 0)).map(([k]) => k);
    if (positionals.length > 0 || given.length > 0) {
      throw new OptionError(positionals.length > 0 ? 'SCENARIO' : given[0], positionals[0] ?? 'given', "nothing: --resume goes on with the checkpoint's own configuration");
    }
    scenario = resume.scenario;
  } else {
    scenario = withOverrides(loadScenario(positionals[0] ?? 'mnist-vdsp'), overrides);
  }
  if (saveDir !== undefined && existsSync(join(saveDir, 'checkpoint.json')) && (resumeDir === undefined || resolve(resumeDir) !== resolve(saveDir))) {
    const existing = readCheckpoint(saveDir);
    if (!sameRun(existing.scenario, scenario)) {
      // never overwrite a saved run that this one did not start from
      throw new EvspikeError(
        `${saveDir}: already holds the checkpoint of another run (scenario ${existing.scenario.name}, seed ${existing.scenario.seed}); save into another folder, or go on from it with --resume ${saveDir}`,
      );
    }
    if (resume === undefined) {
      resume = existing;
      if (!values.quiet) err(`continuing the run saved in ${saveDir} (phase ${existing.payload.phase})`);
    }
  }
  const data = loadDataset(scenario.dataset, stringFlag(values, 'data'));
  const tooMany = (flag: string, limit: number | undefined, available: number, what: string): void => {
    if (limit !== undefined && limit > available) throw new OptionError(`--${flag}`, limit, `at most ${available}: the data holds ${available} ${what}`);
  };
  tooMany('test-limit', overrides.testLimit, data.test.count, 'test images');
  tooMany('extract-limit', overrides.extractLimit, data.train.count, 'training images');
  tooMany('train-limit', overrides.trainLimit, data.train.count * scenario.training.epochs, `training samples (${data.train.count} images × ${scenario.training.epochs} epoch(s))`);
  const quiet = Boolean(values.quiet);
  const board = progressBoard(quiet);
  const controller = new AbortController();
  let result: RunResult;
  try {
    result = await withSignals(controller, () =>
      runExperiment({ scenario, data, workers, kernel, saveDir, resume, checkpointEvery, signal: controller.signal, onProgress: board.onProgress, onPhaseEnd: board.onPhaseEnd }),
    );
  } catch (e) {
    if (!(e instanceof InterruptedError)) throw e;
    board.clear();
    err(`evspike run: interrupted by ${String(e.reason)}`);
    for (const line of interruptedReport(saveDir)) err(line);
    return exitCodeOf(e.reason);
  }
  if (saveDir !== undefined) {
    // the pictures of the saved run, next to its checkpoint
    // the figures' renderer (vega, resvg) loads only when figures are drawn
    const { visualizeCheckpoint } = await import('../pipeline/pictures.js');
    await visualizeCheckpoint(readCheckpoint(saveDir), data.test, saveDir);
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
      ...(saveDir !== undefined ? ([['checkpoint and figures', saveDir]] as [string, string][]) : []),
    ],
    out,
  );
  out('');
  printLayerFigures(result, out);
  out('');
  out(`(per sample: means over the ${result.readoutTrainSamples + result.testSamples} samples presented without learning; sparsity (n×bin): 1 − spikes / (neurons × time bins), sparsity (n): 1 − spikes / neurons)`);
  return 0;
}

export async function evaluateCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseCommand(argv, EVALUATE_SPEC);
  if (values.help) {
    out(helpText(EVALUATE_SPEC));
    return 0;
  }
  const dir = stringFlag(values, 'checkpoint');
  if (dir === undefined) throw new OptionError('--checkpoint', undefined, `a checkpoint folder: ${EVALUATE_USAGE}`);
  const checkpoint = readCheckpoint(dir);
  const workers = workersFlag(values);
  const data = loadDataset(checkpoint.scenario.dataset, stringFlag(values, 'data'));
  const scenario = checkpoint.scenario;
  const count = parseIntegerFlag('--test-limit', stringFlag(values, 'test-limit'), Math.min(scenario.limits.test, data.test.count), { min: 1, max: data.test.count });
  const progress = new Progress('features, test set', count, { quiet: Boolean(values.quiet) });
  const result = await evaluateCheckpoint({ checkpoint, test: data.test, count, workers, onProgress: (d) => progress.update(d) });
  progress.finish(count);
  const { accuracy: testAccuracy, seconds, testSamples: _n, ...figures } = result;
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
  out('');
  printLayerFigures(figures, out);
  return 0;
}
