/**
 * `evspike bench [SCENARIO]`: speed of the event-driven simulator, one core. Trains to
 * convergence, then times inference (no learning) and training (learning on) on N test
 * samples, and, as the baseline run in the same process, the dense clock-driven reference on a
 * few samples. Prints samples per second, the ratios, synaptic events and dense MACs per sample.
 */
import { Engine } from '../events/engine.js';
import { imageAt } from '../data/idx.js';
import { loadDataset } from '../data/datasets.js';
import { OptionError } from '../errors.js';
import { loadScenario, withOverrides } from '../pipeline/scenario.js';
import { rankOrderEncode } from '../neurons/encoder.js';
import { oneOf } from '../util/validate.js';
import { KERNEL_CHOICES, nativeSimd } from '../neurons/kernels/integrate.js';
import { addSummary, emptyTotals, inferImages } from '../pipeline/infer.js';
import { trainNetwork } from '../pipeline/train.js';
import { denseSample } from '../reference/dense.js';
import { SeededRandom } from '../util/random.js';
import { parseIntegerFlag } from '../util/validate.js';
import { helpText, listFlag, parseCommand, stringFlag, type CommandSpec } from './args.js';
import { DATA_FLAG, JSON_FLAG, KERNEL_FLAG, SCENARIO_ARG, SEED_FLAG, SET_FLAG } from './flags.js';
import { sampleFigures } from '../pipeline/run.js';
import { peakMemoryMB } from '../util/memory.js';
import { formatNumber, printTable } from './table.js';

export const BENCH_SPEC: CommandSpec = {
  name: 'bench',
  summary:
    'Time the event-driven simulator on one core: train to convergence, then inference and training (learning on) on N test samples, with the dense clock-driven reference on a few samples as the baseline in the same process.',
  args: [SCENARIO_ARG],
  flags: {
    samples: { type: 'string', value: 'N', help: 'Test samples timed for inference and for training.', default: '2000' },
    'dense-samples': { type: 'string', value: 'N', help: 'Samples of the dense clock-driven baseline (slow: about 8 per second).', default: '20' },
    seed: SEED_FLAG,
    kernel: KERNEL_FLAG,
    set: SET_FLAG,
    data: DATA_FLAG,
    json: JSON_FLAG,
  },
};

export interface BenchReport {
  inferenceSamplesPerSecond: number;
  /** Training with learning on: the best of three rounds, each a new engine from the converged state. */
  trainSamplesPerSecond: number;
  /** The first of those rounds alone. */
  firstRoundTrainSamplesPerSecond: number;
  synapticEventsPerSample: number;
  /** Weight additions the simulator performed per sample (exact skipping on). */
  additionsPerSample: number;
  /** Inference with exact skipping off, timed in the same process (same results, more work). */
  unskippedInferenceSamplesPerSecond: number;
  unskippedAdditionsPerSample: number;
  denseMacsPerSample: number;
  samples: number;
  kernel: string;
  convergenceSamples: number;
  convergenceSamplesPerSecond: number;
  observedInferenceSamplesPerSecond: number;
  denseBaselineSamples: number;
  denseBaselineSamplesPerSecond: number;
  speedupOverDense: number;
  spikesPerSample: number;
  peakMemoryMB: number;
  /** The authors' code on one core of the same machine kind (see {@link AUTHORS_SPEED}). */
  authorsInferenceSamplesPerSecond: number;
  authorsTrainSamplesPerSecond: number;
}

/**
 * The speed of the authors' code (Goupy et al.'s PyTorch implementation) on one core of the
 * project's 2-core machine kind, single-threaded (torch, OpenMP and BLAS pinned to 1 thread),
 * in samples per second. Measured outside evspike, so quoted here rather than run; the 41-49/s
 * in the reference trace's `timing` field were taken without pinning threads.
 */
export const AUTHORS_SPEED = { inference: 83, train: 60 } as const;

function time(run: () => void): number {
  const t0 = performance.now();
  run();
  return (performance.now() - t0) / 1000;
}

export function benchCommand(argv: string[], out: (line: string) => void, err: (line: string) => void): number {
  const { values, positionals } = parseCommand(argv, BENCH_SPEC);
  if (values.help) {
    out(helpText(BENCH_SPEC));
    return 0;
  }
  const scenario = withOverrides(loadScenario(positionals[0] ?? 'mnist-vdsp'), {
    seed: values.seed === undefined ? undefined : parseIntegerFlag('--seed', stringFlag(values, 'seed'), 0, { min: 0, max: 0xffffffff }),
    set: listFlag(values, 'set'),
  });
  const seed = scenario.seed;
  const kernel = oneOf('--kernel', stringFlag(values, 'kernel'), KERNEL_CHOICES, 'auto');
  const data = loadDataset(scenario.dataset, stringFlag(values, 'data'));
  const samples = parseIntegerFlag('--samples', stringFlag(values, 'samples'), 2000, { min: 1, max: data.test.count });
  const denseSamples = parseIntegerFlag('--dense-samples', stringFlag(values, 'dense-samples'), 20, { min: 1, max: data.test.count });
  const network = scenario.network;
  const random = new SeededRandom(seed);
  const engine = new Engine(network, { random, kernel });
  const conv = engine.convLayers[0];
  if (conv === undefined) throw new OptionError('SCENARIO', scenario.name, 'a network with a layer that learns (a conv layer)');
  const log = (line: string): void => {
    if (!values.json) err(line);
  };

  log(`training to convergence (${scenario.name}, seed ${seed}, ${engine.kernel} kernel) ...`);
  let result: ReturnType<typeof trainNetwork>[number] | undefined;
  const trainSeconds = time(() => {
    [result] = trainNetwork(engine, data.train, random, scenario.training);
  });
  const converged = result!;
  const indices = Int32Array.from({ length: samples }, (_, i) => i);

  // Warm-up (JIT), then inference without subscribers, counting the figures.
  inferImages(engine, data.test, indices.subarray(0, Math.min(200, samples)));
  log(`timing inference on ${samples} test samples ...`);
  const inferSeconds = time(() => inferImages(engine, data.test, indices));
  /** An engine's per-sample figures over the timed samples (an untimed pass). */
  const figuresOf = (e: Engine): ReturnType<typeof sampleFigures> => {
    const totals = emptyTotals();
    inferImages(e, data.test, indices, () => addSummary(totals, e.summary()));
    return sampleFigures(totals, network.timeBins);
  };
  const figures = figuresOf(engine);

  // The same network with exact skipping off: every touched position integrated at every bin.
  // Timed in turns with the skipping engine, best of three each, so that both see the same machine.
  const plain = new Engine(network, { weights: engine.convLayers.map((c) => c.weights), kernel, skipping: false });
  inferImages(plain, data.test, indices.subarray(0, Math.min(200, samples)));
  let skippingSeconds = inferSeconds;
  let plainSeconds = Infinity;
  for (let round = 0; round < 3; round++) {
    plainSeconds = Math.min(plainSeconds, time(() => inferImages(plain, data.test, indices)));
    if (round > 0) skippingSeconds = Math.min(skippingSeconds, time(() => inferImages(engine, data.test, indices)));
  }
  const plainFigures = figuresOf(plain);

  // The same with a subscriber on the spike stream: what observation costs when used.
  let observed = 0;
  const subscription = engine.streams.spikes$.subscribe(() => observed++);
  const observedSeconds = time(() => inferImages(engine, data.test, indices));
  subscription.unsubscribe();

  // Training speed: learning on, from a copy of the converged state.
  const learnLayer = conv.spec.index;
  const spikeTimes = new Int32Array(network.layers[0].outShape.height * network.layers[0].outShape.width);
  // Each round trains a new engine from the converged weights and learning state on the same
  // samples (the same work); the best of three, as for inference. The first round, a new
  // engine's first samples straight after the inference runs, is reported beside it.
  const learnRound = (): number => {
    const learner = new Engine(network, { weights: engine.convLayers.map((c) => c.weights), learning: engine.convLayers.map((c) => c.learning), kernel });
    return time(() => {
      for (let i = 0; i < samples; i++) {
        rankOrderEncode(imageAt(data.test, i), network.timeBins, spikeTimes);
        learner.runSample(spikeTimes, { learnLayer, lastLayer: learnLayer });
      }
    });
  };
  log(`timing training (learning on) on ${samples} test samples, three rounds ...`);
  const firstLearnSeconds = learnRound();
  const learnSeconds = Math.min(firstLearnSeconds, learnRound(), learnRound());

  // Baseline in the same process: the dense clock-driven reference, every neuron every bin.
  log(`timing the dense clock-driven reference on ${denseSamples} sample${denseSamples === 1 ? '' : 's'} ...`);
  const weights = engine.convLayers.map((c) => Float64Array.from(c.weights));
  // one untimed sample first: the JIT's warm-up is not the baseline's speed
  rankOrderEncode(imageAt(data.test, data.test.count - 1), network.timeBins, spikeTimes);
  denseSample(network, weights, spikeTimes);
  const denseSeconds = time(() => {
    for (let i = 0; i < denseSamples; i++) {
      rankOrderEncode(imageAt(data.test, i), network.timeBins, spikeTimes);
      denseSample(network, weights, spikeTimes);
    }
  });

  const report: BenchReport = {
    inferenceSamplesPerSecond: samples / skippingSeconds,
    trainSamplesPerSecond: samples / learnSeconds,
    firstRoundTrainSamplesPerSecond: samples / firstLearnSeconds,
    synapticEventsPerSample: figures.synapticEventsPerSample,
    additionsPerSample: figures.additionsPerSample,
    unskippedInferenceSamplesPerSecond: samples / plainSeconds,
    unskippedAdditionsPerSample: plainFigures.additionsPerSample,
    denseMacsPerSample: figures.denseMacsPerSample,
    samples,
    kernel: engine.kernel,
    convergenceSamples: converged.samples,
    convergenceSamplesPerSecond: converged.samples / trainSeconds,
    observedInferenceSamplesPerSecond: samples / observedSeconds,
    denseBaselineSamples: denseSamples,
    denseBaselineSamplesPerSecond: denseSamples / denseSeconds,
    speedupOverDense: denseSeconds / denseSamples / (skippingSeconds / samples),
    spikesPerSample: figures.spikesPerSample.total,
    peakMemoryMB: peakMemoryMB(),
    authorsInferenceSamplesPerSecond: AUTHORS_SPEED.inference,
    authorsTrainSamplesPerSecond: AUTHORS_SPEED.train,
  };
  if (values.json) {
    out(JSON.stringify(report));
    return 0;
  }
  const f = formatNumber;
  const rows: [string, string][] = [
    ['kernel', report.kernel === 'native' ? `native (${nativeSimd()})` : report.kernel],
    ['training to convergence', `${converged.samples} samples, ${f(report.convergenceSamplesPerSecond)} samples/s`],
    ['inference (event-driven)', `${f(report.inferenceSamplesPerSecond)} samples/s over ${samples} test samples`],
    [
      'inference, exact skipping off',
      `${f(report.unskippedInferenceSamplesPerSecond)} samples/s (skipping: ${f(report.inferenceSamplesPerSecond / report.unskippedInferenceSamplesPerSecond, 2)} ×)`,
    ],
    ['inference, spike stream observed', `${f(report.observedInferenceSamplesPerSecond)} samples/s (${f(observed / samples)} spike events/sample delivered)`],
    ['training (learning on)', `${f(report.trainSamplesPerSecond)} samples/s (best of 3 rounds; the first ${f(report.firstRoundTrainSamplesPerSecond)})`],
    ['dense clock-driven baseline', `${f(report.denseBaselineSamplesPerSecond, 2)} samples/s over ${denseSamples} samples`],
    ['event-driven / dense speed', `${f(report.speedupOverDense, 0)} ×`],
    ["authors' code, one pinned core (quoted)", `${AUTHORS_SPEED.inference} samples/s inference, ${AUTHORS_SPEED.train} samples/s training`],
    ["event-driven / authors' code", `${f(report.inferenceSamplesPerSecond / AUTHORS_SPEED.inference, 0)} × inference, ${f(report.trainSamplesPerSecond / AUTHORS_SPEED.train, 0)} × training`],
    ['spikes per sample', f(report.spikesPerSample, 1)],
    ['synaptic events per sample', f(report.synapticEventsPerSample)],
    [
      'weight additions performed per sample',
      `${f(report.additionsPerSample)} (${f((100 * report.additionsPerSample) / report.synapticEventsPerSample, 1)} % of the synaptic events; ${f(report.unskippedAdditionsPerSample)} without skipping)`,
    ],
    ['dense MACs per sample', f(report.denseMacsPerSample)],
    ['dense MACs / synaptic events', `${f(report.denseMacsPerSample / report.synapticEventsPerSample, 1)} ×`],
    ['peak memory (RSS)', `${f(report.peakMemoryMB)} MB`],
  ];
  printTable(rows, out);
  return 0;
}
