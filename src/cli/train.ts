/**
 * `evspike train [SCENARIO]`: the unsupervised phase. Trains every layer with weights of the
 * scenario's network with its learning rule to convergence from a seed, then runs the test set
 * without learning and reports the spike and event figures of SPEC §7. (The readout comes with
 * the end-to-end `run`.)
 */
import { loadDataset } from '../data/datasets.js';
import { inferImages, addSummary, emptyTotals } from '../pipeline/infer.js';
import { sampleFigures, trainPhase, type SampleFigures } from '../pipeline/run.js';
import { loadScenario, withOverrides } from '../pipeline/scenario.js';
import type { LayerTrainResult } from '../pipeline/train.js';
import { oneOf, parseIntegerFlag } from '../util/validate.js';
import { peakMemoryMB } from '../util/memory.js';
import { helpText, listFlag, parseCommand, stringFlag, type CommandSpec } from './args.js';
import { DATA_FLAG, JSON_FLAG, QUIET_FLAG, SCENARIO_ARG, SEED_FLAG, SET_FLAG } from './flags.js';
import { Progress } from './progress.js';
import { printLayerFigures } from './run.js';
import { formatNumber, printTable } from './table.js';

export const TRAIN_SPEC: CommandSpec = {
  name: 'train',
  summary:
    "Train the scenario's network with its learning rule (VDSP in the paper) to convergence, then run the test set without learning and report spikes, synaptic events, fan-out events, dense MACs and sparsity per layer.",
  args: [SCENARIO_ARG],
  flags: {
    seed: SEED_FLAG,
    'train-limit': { type: 'string', value: 'N', help: 'Training samples at most, per layer (stops earlier at convergence, Q < the threshold).', default: "the scenario's, else one epoch of 60,000" },
    'test-limit': { type: 'string', value: 'N', help: 'Test images run after training.', default: 'all 10,000' },
    precision: { type: 'string', value: 'float32|float64', help: "Arithmetic of every conv layer's bin input: float32 as the authors' code, or float64.", default: "the scenario's (float32)" },
    set: SET_FLAG,
    data: DATA_FLAG,
    json: JSON_FLAG,
    quiet: QUIET_FLAG,
  },
};

export interface TrainReport extends SampleFigures {
  scenario: string;
  seed: number;
  dataDir: string;
  samplesToConvergence: number;
  stoppedBy: LayerTrainResult['stoppedBy'];
  convergence: number;
  /** The first trained layer's learning rule, its final learning rate and its applications. */
  rule: string;
  learningRate: number;
  applications: number;
  /** Every trained layer. */
  layers: { layer: number; rule: string; samples: number; stoppedBy: LayerTrainResult['stoppedBy']; convergence: number; learningRate: number; applications: number }[];
  testSamples: number;
  seconds: { train: number; test: number };
  peakMemoryMB: number;
}

export async function trainCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommand(argv, TRAIN_SPEC);
  if (values.help) {
    out(helpText(TRAIN_SPEC));
    return 0;
  }
  const base = loadScenario(positionals[0] ?? 'mnist-vdsp');
  const precision = values.precision === undefined ? undefined : oneOf('--precision', stringFlag(values, 'precision'), ['float32', 'float64'], 'float32');
  const precisionSettings =
    precision === undefined
      ? []
      : base.network.layers.flatMap((l, i) => {
          switch (l.kind) {
            case 'conv':
              return [`network.layers[${i - 1}].precision=${JSON.stringify(precision)}`];
            case 'input':
            case 'pool':
              return [];
            default: {
              const _exhaustive: never = l;
              return _exhaustive;
            }
          }
        });
  const scenario = withOverrides(base, {
    seed: values.seed === undefined ? undefined : parseIntegerFlag('--seed', stringFlag(values, 'seed'), 0, { min: 0, max: 0xffffffff }),
    trainLimit: values['train-limit'] === undefined ? undefined : parseIntegerFlag('--train-limit', stringFlag(values, 'train-limit'), 0, { min: 1 }),
    set: [...precisionSettings, ...listFlag(values, 'set')],
  });
  const data = loadDataset(scenario.dataset, stringFlag(values, 'data'));
  const testLimit = parseIntegerFlag('--test-limit', stringFlag(values, 'test-limit'), data.test.count, { min: 1, max: data.test.count });
  const network = scenario.network;
  const quiet = Boolean(values.quiet);

  const trainProgress = new Progress('training', undefined, { quiet });
  const trained = await trainPhase(scenario, data.train, 'auto', {
    progress: (_phase, done, _total, extra) => trainProgress.update(done, extra),
    phaseEnd: (_phase, done, extra) => trainProgress.finish(done, extra),
    signal: undefined,
  });
  const engine = trained.engine;

  const count = Math.min(testLimit, data.test.count);
  const totals = emptyTotals();
  const testProgress = new Progress('test set', count, { quiet });
  const t0 = performance.now();
  inferImages(engine, data.test, Int32Array.from({ length: count }, (_, i) => i), (i) => {
    addSummary(totals, engine.summary());
    testProgress.update(i + 1);
  });
  testProgress.finish(count);
  const testSeconds = (performance.now() - t0) / 1000;

  const rules = engine.convLayers.map((l) => l.learning.name);
  const first = trained.layers[0];
  const report: TrainReport = {
    scenario: scenario.name,
    seed: scenario.seed,
    dataDir: data.dir,
    samplesToConvergence: first?.samples ?? 0,
    stoppedBy: first?.stoppedBy ?? 'limit',
    convergence: first?.convergence ?? 0,
    rule: rules[0] ?? 'none',
    learningRate: first?.learningRate ?? 0,
    applications: first?.applications ?? 0,
    layers: trained.layers.map((l, i) => ({ layer: l.layer, rule: rules[i], samples: l.samples, stoppedBy: l.stoppedBy, convergence: l.convergence, learningRate: l.learningRate, applications: l.applications })),
    testSamples: count,
    ...sampleFigures(totals, network.timeBins),
    seconds: { train: trained.seconds, test: testSeconds },
    peakMemoryMB: peakMemoryMB(),
  };
  if (values.json) {
    out(JSON.stringify(report));
    return 0;
  }
  const f = (x: number, d = 1): string => formatNumber(x, d);
  const rows: [string, string][] = [
    ['scenario', `${scenario.name} (seed ${scenario.seed})`],
    ...report.layers.map(
      (l): [string, string] => [
        `layer ${l.layer} (${l.rule})`,
        `${l.samples} samples (stopped by ${l.stoppedBy}), Q ${l.convergence.toPrecision(6)} (threshold ${scenario.training.convergenceThreshold}), rate ${l.learningRate}, ${l.applications} applications`,
      ],
    ),
    ['test samples', String(count)],
    ['spikes per sample: input', f(report.spikesPerSample.input)],
    ['spikes per sample: conv', f(report.spikesPerSample.conv)],
    ['spikes per sample: pool', f(report.spikesPerSample.pool)],
    ['spikes per sample: total', f(report.spikesPerSample.total)],
    ['synaptic events per sample', f(report.synapticEventsPerSample, 0)],
    ['fan-out events per sample', f(report.fanoutEventsPerSample, 0)],
    ['weight additions performed per sample', f(report.additionsPerSample, 0)],
    ['dense MACs per sample', f(report.denseMacsPerSample, 0)],
    ['dense MACs / synaptic events', f(report.denseMacsPerSample / report.synapticEventsPerSample, 1)],
    ['activation sparsity (neuron × bin)', `${(100 * report.activationSparsity).toFixed(3)} %`],
    ['activation sparsity (neuron)', `${(100 * report.neuronSparsity).toFixed(3)} %`],
    ['seconds: training / test set', `${f(trained.seconds, 2)} / ${f(testSeconds, 2)}`],
    ['peak memory', `${f(report.peakMemoryMB, 0)} MB`],
  ];
  printTable(rows, out);
  out('');
  printLayerFigures(report, out);
  return 0;
}
