/**
 * `evspike train`: the paper's unsupervised phase on MNIST. Trains the conv layer with VDSP to
 * convergence from a seed, then runs the test set without learning and reports the spike and
 * event figures of SPEC §7. (The SVM readout comes with the end-to-end `run`.)
 */
import { Engine } from '../events/engine.js';
import { loadMnist } from '../data/mnist.js';
import { resolveNetwork, type Precision } from '../neurons/network.js';
import { addSummary, emptyTotals, inferImages } from '../pipeline/infer.js';
import { sampleFigures, type LayerFigures } from '../pipeline/run.js';
import { printLayerFigures } from './run.js';
import { trainNetwork, type LayerTrainResult } from '../pipeline/train.js';
import { SeededRandom } from '../util/random.js';
import { oneOf, parseIntegerFlag } from '../util/validate.js';
import { helpText, parseCommand, stringFlag, type CommandSpec } from './args.js';
import { DATA_FLAG, JSON_FLAG, QUIET_FLAG, SEED_FLAG } from './flags.js';
import { Progress } from './progress.js';
import { formatNumber, printTable } from './table.js';
import { peakMemoryMB } from '../util/memory.js';

export const TRAIN_SPEC: CommandSpec = {
  name: 'train',
  summary: "Train the paper's conv layer with VDSP to convergence on MNIST, then run the test set without learning and report spikes, synaptic events, fan-out events, dense MACs and sparsity.",
  flags: {
    seed: SEED_FLAG,
    'train-limit': { type: 'string', value: 'N', help: 'Training samples at most (stops earlier at convergence, Q < 0.01).', default: 'no limit: one epoch of 60,000' },
    'test-limit': { type: 'string', value: 'N', help: 'Test images run after training.', default: 'all 10,000' },
    precision: { type: 'string', value: 'float32|float64', help: "Arithmetic of a bin's conv input: float32 as the authors' code, or float64.", default: 'float32' },
    data: DATA_FLAG,
    json: JSON_FLAG,
    quiet: QUIET_FLAG,
  },
};

export interface TrainReport {
  seed: number;
  dataDir: string;
  samplesToConvergence: number;
  stoppedBy: LayerTrainResult['stoppedBy'];
  convergence: number;
  learningRate: number;
  vdspApplications: number;
  testSamples: number;
  spikesPerSample: { input: number; conv: number; pool: number; total: number };
  synapticEventsPerSample: number;
  fanoutEventsPerSample: number;
  denseMacsPerSample: number;
  activationSparsity: number;
  neuronSparsity: number;
  perLayer: LayerFigures[];
  seconds: { train: number; test: number };
  peakMemoryMB: number;
}

export function trainCommand(argv: string[], out: (line: string) => void): number {
  const { values } = parseCommand(argv, TRAIN_SPEC);
  if (values.help) {
    out(helpText(TRAIN_SPEC));
    return 0;
  }
  const seed = parseIntegerFlag('--seed', stringFlag(values, 'seed'), 0, { min: 0, max: 0xffffffff });
  const trainLimit = parseIntegerFlag('--train-limit', stringFlag(values, 'train-limit'), Number.MAX_SAFE_INTEGER, { min: 1 });
  const precision: Precision = oneOf('--precision', stringFlag(values, 'precision'), ['float32', 'float64'], 'float32');
  const data = loadMnist(stringFlag(values, 'data'));
  const testLimit = parseIntegerFlag('--test-limit', stringFlag(values, 'test-limit'), data.test.count, { min: 1, max: data.test.count });
  const network = resolveNetwork({ layers: [{ kind: 'conv', precision }, { kind: 'pool' }] });
  const random = new SeededRandom(seed);
  const engine = new Engine(network, { random });
  const quiet = Boolean(values.quiet);

  const trainProgress = new Progress('training', undefined, { quiet });
  let t0 = performance.now();
  const [result] = trainNetwork(engine, data.train, random, { maxSamples: trainLimit }, (p) =>
    trainProgress.update(p.samples, `Q=${p.convergence.toPrecision(4)}`),
  );
  trainProgress.finish(result.samples, `Q=${result.convergence.toPrecision(6)} (${result.stoppedBy})`);
  const trainSeconds = (performance.now() - t0) / 1000;

  const count = Math.min(testLimit, data.test.count);
  const totals = emptyTotals();
  const testProgress = new Progress('test set', count, { quiet });
  t0 = performance.now();
  inferImages(engine, data.test, Int32Array.from({ length: count }, (_, i) => i), (i) => {
    addSummary(totals, engine.summary());
    testProgress.update(i + 1);
  });
  testProgress.finish(count);
  const testSeconds = (performance.now() - t0) / 1000;

  const report: TrainReport = {
    seed,
    dataDir: data.dir,
    samplesToConvergence: result.samples,
    stoppedBy: result.stoppedBy,
    convergence: result.convergence,
    learningRate: result.learningRate,
    vdspApplications: result.applications,
    testSamples: count,
    ...sampleFigures(totals, network.timeBins),
    seconds: { train: trainSeconds, test: testSeconds },
    peakMemoryMB: peakMemoryMB(),
  };
  if (values.json) {
    out(JSON.stringify(report));
    return 0;
  }
  const f = (x: number, d = 1): string => formatNumber(x, d);
  const rows: [string, string][] = [
    ['seed', String(seed)],
    ['training samples presented', `${result.samples} (stopped by ${result.stoppedBy})`],
    ['convergence Q at the end', `${result.convergence.toPrecision(6)} (threshold 0.01)`],
    ['learning rate / VDSP applications', `${result.learningRate} / ${result.applications}`],
    ['test samples', String(count)],
    ['spikes per sample: input', f(report.spikesPerSample.input)],
    ['spikes per sample: conv', f(report.spikesPerSample.conv)],
    ['spikes per sample: pool', f(report.spikesPerSample.pool)],
    ['spikes per sample: total', f(report.spikesPerSample.total)],
    ['synaptic events per sample', f(report.synapticEventsPerSample, 0)],
    ['fan-out events per sample', f(report.fanoutEventsPerSample, 0)],
    ['dense MACs per sample', f(report.denseMacsPerSample, 0)],
    ['dense MACs / synaptic events', f(report.denseMacsPerSample / report.synapticEventsPerSample, 1)],
    ['activation sparsity (neuron × bin)', `${(100 * report.activationSparsity).toFixed(3)} %`],
    ['activation sparsity (neuron)', `${(100 * report.neuronSparsity).toFixed(3)} %`],
    ['seconds: training / test set', `${f(trainSeconds, 2)} / ${f(testSeconds, 2)}`],
    ['peak memory', `${f(report.peakMemoryMB, 0)} MB`],
  ];
  printTable(rows, out);
  out('');
  printLayerFigures(report, out);
  return 0;
}
