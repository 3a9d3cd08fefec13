import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadMnist } from '../../src/data/mnist.js';
import { Engine } from '../../src/events/engine.js';
import { resolveNetwork } from '../../src/neurons/network.js';
import { readCheckpoint, readFeatureSet } from '../../src/pipeline/checkpoint.js';
import { extractFeatures, featureCount } from '../../src/pipeline/extract.js';
import { addSummary, emptyTotals, inferImages } from '../../src/pipeline/infer.js';
import { runExperiment, type RunResult } from '../../src/pipeline/run.js';
import { loadScenario, withOverrides } from '../../src/pipeline/scenario.js';
import { WorkerPool } from '../../src/pipeline/workers.js';
import { FeatureBuilder, sameFeatures } from '../../src/readout/features.js';
import { resolveLinearSvmOptions, trainLinearReadout } from '../../src/readout/linear-svm.js';
import { SeededRandom } from '../../src/util/random.js';
import { imageAt } from '../../src/data/idx.js';
import { rankOrderEncode } from '../../src/neurons/encoder.js';
import { denseSample } from '../../src/reference/dense.js';

const mnist = loadMnist();

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('end-to-end run (quick scenario: readout on 3,000 training images, 1,000 test images)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evspike-run-'));
  let result: RunResult;

  beforeAll(async () => {
    result = await runExperiment({ scenario: loadScenario('mnist-quick'), data: mnist, workers: 2, saveDir: dir });
  });

  it('trains, extracts, reads out and reaches an accuracy that broken features or readout would miss', () => {
    expect(result.samplesToConvergence).toBeGreaterThan(500);
    expect(result.layers[0].stoppedBy).toBe('convergence');
    expect(result.readoutTrainSamples).toBe(3000);
    expect(result.testSamples).toBe(1000);
    expect(result.accuracy).toBeGreaterThan(0.93);
    expect(result.spikesPerSample.total).toBeGreaterThan(500);
    expect(result.spikesPerSample.total).toBeLessThan(620);
    expect(result.denseMacsPerSample).toBe(15 * 70 * 28 * 28 * 49 + 15 * 70 * 9 * 9 * 9);
  });

  it('saves a checkpoint that loads, verifies and evaluates to the same accuracy', async () => {
    const cp = readCheckpoint(dir);
    expect(cp.payload.phase).toBe('complete');
    expect(cp.payload.layers[0].weights).toHaveLength(3430);
    expect(cp.payload.layers[0].convergenceHistory).toHaveLength(result.samplesToConvergence);
    expect(cp.payload.readout?.weights).toHaveLength(10 * 5671);
    expect(readFeatureSet(dir, cp.payload.features!.test!, 5670).rows).toBe(1000);
    expect(readdirSync(dir).sort()).toEqual(['checkpoint.json', 'features-test-0-1000.bin', 'features-train-0-3000.bin']);
    const r = await cli('evaluate', '--checkpoint', dir, '--json', '--quiet', '--workers', '1');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).accuracy).toBe(result.accuracy);
  });

  it('resumes from a trained-only checkpoint to the same result', async () => {
    const trained = mkdtempSync(join(tmpdir(), 'evspike-resume-'));
    const cp = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8'));
    // keep only the trained phase: what a run killed during extraction leaves
    const { createHash } = await import('node:crypto');
    const payload = { ...cp.payload, phase: 'trained', readout: undefined, features: undefined, results: undefined };
    const body = JSON.stringify(payload);
    writeFileSync(join(trained, 'checkpoint.json'), JSON.stringify({ checksum: `sha256:${createHash('sha256').update(body).digest('hex')}`, payload: JSON.parse(body) }));
    const r = await cli('run', '--resume', trained, '--json', '--quiet', '--workers', '2');
    expect(r.code).toBe(0);
    const resumed = JSON.parse(r.out);
    // the keys of run --json
    for (const key of ['accuracy', 'samplesToConvergence', 'spikesPerSample', 'synapticEventsPerSample', 'denseMacsPerSample', 'activationSparsity', 'seconds', 'seed', 'config']) {
      expect(resumed).toHaveProperty(key);
    }
    expect(Object.keys(resumed.spikesPerSample)).toEqual(['input', 'conv', 'pool', 'total']);
    expect(Object.keys(resumed.seconds)).toEqual(['train', 'extract', 'readout', 'total']);
    expect(resumed.config.name).toBe('mnist-quick');
    expect(resumed.accuracy).toBe(result.accuracy);
    expect(resumed.spikesPerSample).toEqual(result.spikesPerSample);
    expect(resumed.seconds.train).toBe(0);
    // and from the complete one, skipping every phase
    const again = await cli('run', '--resume', dir, '--json', '--quiet');
    expect(JSON.parse(again.out).accuracy).toBe(result.accuracy);
  });

  it('refuses a corrupt, truncated or mismatched checkpoint, saying which', async () => {
    const file = join(dir, 'checkpoint.json');
    const text = readFileSync(file, 'utf8');
    const bad = mkdtempSync(join(tmpdir(), 'evspike-bad-'));
    const badFile = join(bad, 'checkpoint.json');
    writeFileSync(badFile, text.replace('"learningRate":0.1', '"learningRate":0.2'));
    expect((await cli('evaluate', '--checkpoint', bad)).err).toMatch(/checksum mismatch: the checkpoint is corrupt/);
    writeFileSync(badFile, text.slice(0, text.length / 2));
    expect((await cli('evaluate', '--checkpoint', bad)).err).toMatch(/truncated or not JSON/);
    const cp = JSON.parse(text);
    cp.payload.layers[0].weights.pop();
    const { createHash } = await import('node:crypto');
    const body = JSON.stringify(cp.payload);
    writeFileSync(badFile, JSON.stringify({ checksum: `sha256:${createHash('sha256').update(body).digest('hex')}`, payload: cp.payload }));
    const r = await cli('evaluate', '--checkpoint', bad);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/mismatched checkpoint: layer 1 needs 3430 weights, the checkpoint has 3429/);
    expect((await cli('evaluate', '--checkpoint', join(bad, 'nope'))).err).toMatch(/checkpoint folder does not exist/);
    expect((await cli('run', '--resume', dir, '--seed', '3')).err).toMatch(/--resume goes on with the checkpoint's own configuration/);
    expect((await cli('run', 'mnist-quick', '--seed', '4', '--save', dir)).err).toMatch(/already holds the checkpoint of another run \(scenario mnist-quick, seed 0\); save into another folder/);
    // the good checkpoint is untouched by all this
    expect(readFileSync(file, 'utf8')).toBe(text);
  });
});

describe('feature extraction', () => {
  it('gives identical features with 1 and with 2 workers', async () => {
    const net = resolveNetwork();
    const random = new SeededRandom(3);
    const engine = new Engine(net, { random });
    const weights = engine.convLayers.map((c) => Float64Array.from(c.weights));
    const inProcess = extractFeatures(engine, mnist.test, 0, 1500);
    const one = new WorkerPool(1);
    const two = new WorkerPool(2);
    try {
      const scenario = loadScenario('mnist-vdsp');
      const job = { network: scenario.networkOptions, weights, images: mnist.test, end: 1500, cols: featureCount(engine), chunk: 400 };
      const a = await one.extract(job);
      const b = await two.extract(job);
      expect(sameFeatures(a.features, inProcess.features)).toBe(true);
      expect(sameFeatures(b.features, inProcess.features)).toBe(true);
      expect(b.totals).toEqual(inProcess.totals);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('sums the same per-layer figures as the samples\' summaries', () => {
    const engine = new Engine(resolveNetwork(), { random: new SeededRandom(4) });
    const extracted = extractFeatures(engine, mnist.test, 0, 200).totals;
    const summed = emptyTotals();
    inferImages(engine, mnist.test, Int32Array.from({ length: 200 }, (_, i) => i), () => addSummary(summed, engine.summary()));
    expect(extracted).toEqual(summed);
    expect(extracted.samples).toBe(200);
  });

  it('keeps the workers right when one pool extracts with other weights and other images in turn', async () => {
    const scenario = loadScenario('mnist-vdsp');
    const engines = [3, 4].map((seed) => new Engine(resolveNetwork(), { random: new SeededRandom(seed) }));
    const cols = featureCount(engines[0]);
    const pool = new WorkerPool(2);
    try {
      // weights A on the test images, B on them, B on the training images, A on those, A again
      for (const [e, images] of [[0, mnist.test], [1, mnist.test], [1, mnist.train], [0, mnist.train], [0, mnist.train]] as const) {
        const engine = engines[e];
        const weights = engine.convLayers.map((c) => Float64Array.from(c.weights));
        const got = await pool.extract({ network: scenario.networkOptions, weights, images, end: 300, cols, chunk: 100 });
        expect(sameFeatures(got.features, extractFeatures(engine, images, 0, 300).features)).toBe(true);
      }
    } finally {
      await pool.close();
    }
  });
});

describe('readout over the worker pool', () => {
  it('trains the same readout as one thread, with 16-bit shared indices and with 32-bit ones', async () => {
    const net = resolveNetwork();
    const engine = new Engine(net, { random: new SeededRandom(5) });
    const real = extractFeatures(engine, mnist.test, 0, 600).features;
    // more than 65,535 features: the pool sends 32-bit indices
    const random = new SeededRandom(6);
    const builder = new FeatureBuilder(70_000, 600);
    for (let i = 0; i < 600; i++) {
      const label = mnist.test.labels[i];
      const active = new Set<number>([label * 7000 + random.nextInt(7000), 65_536 + random.nextInt(4464), random.nextInt(70_000)]);
      builder.add(Int32Array.from(active), active.size);
    }
    const wide = builder.build();
    const labels = mnist.test.labels.subarray(0, 600);
    const options = resolveLinearSvmOptions({ C: 0.005 });
    const pool = new WorkerPool(2);
    try {
      for (const features of [real, wide]) {
        const shared = await pool.trainLinearReadout(features, labels, options);
        const local = trainLinearReadout(features, labels, options);
        expect(Array.from(shared.weights)).toEqual(Array.from(local.weights));
        expect(shared.iterations).toEqual(local.iterations);
      }
    } finally {
      await pool.close();
    }
  });
});

describe('scenarios', () => {
  it('ship the paper configuration with every value of SPEC', () => {
    const s = loadScenario('mnist-vdsp');
    const conv = s.network.layers[1];
    expect(conv.kind === 'conv' && [conv.maps, conv.kernelSize, conv.padding, conv.thresholdV, conv.winners, conv.inhibitionRadius]).toEqual([70, 7, 3, 10, 7, 3]);
    expect(conv.kind === 'conv' && conv.learning).toEqual({ rule: 'vdsp', learningRate: 0.01, learningRateMax: 0.1, adaptiveLearningRate: true, learningRateInterval: 500, potentiationFactor: 1, depressionFactor: 2 });
    expect(s.readout).toMatchObject({ kind: 'linear-svm', C: 0.005 });
    expect(s.training.convergenceThreshold).toBe(0.01);
  });

  it('validate overrides with the same resolver', () => {
    const s = loadScenario('mnist-vdsp');
    expect(withOverrides(s, { testLimit: 10, seed: 4 }).limits.test).toBe(10);
    expect(() => withOverrides(s, { testLimit: -1 })).toThrow(/options: limits\.test: expected an integer ≥ 1, got -1/);
    expect(() => withOverrides(s, { C: 0 })).toThrow(/readout\.C: expected a finite number > 0, got 0/);
    expect(() => loadScenario('no-such-scenario')).toThrow(/unknown scenario "no-such-scenario"/);
  });

  const badFlags: [string[], RegExp][] = [
    [['run', 'nope'], /unknown scenario "nope"/],
    [['run', '--workers', '0'], /--workers: expected an integer ≥ 1/],
    [['run', '--test-limit', '-3'], /--test-limit: expected an integer ≥ 1, got "-3"/],
    [['run', '--extract-limit', 'x'], /--extract-limit: expected an integer/],
    [['run', '--svm-c', '0'], /--svm-c: expected a finite number > 0, got 0/],
    [['run', '--svm-c', 'abc'], /--svm-c/],
    [['run', '--readout', 'rbf'], /--readout: expected one of "linear-svm", "ml-svm"/],
    [['run', '--data', '/no/such/dir'], /\/no\/such\/dir: data folder does not exist/],
    [['evaluate'], /--checkpoint: expected a checkpoint folder/],
  ];
  for (const [argv, message] of badFlags) {
    it(`refuse ${argv.join(' ')} with a clear message`, async () => {
      const r = await cli(...argv);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
    });
  }

  it('refuses the ml-svm readout on the full training set', async () => {
    const r = await cli('run', '--readout', 'ml-svm', '--test-limit', '10', '--quiet', '--workers', '1');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/at most 2000 training samples for the ml-svm readout/);
  });
});

describe('the report of every layer', () => {
  it('gives spikes, events, MACs and both sparsities per layer of a two-pair network, adding up to the totals', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evspike-layers-'));
    const file = join(dir, 'two-pairs.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'two-pairs',
        network: {
          layers: [
            { kind: 'conv', maps: 16, kernelSize: 5, padding: 2, thresholdV: 8 },
            { kind: 'pool', kernelSize: 2, stride: 2 },
            { kind: 'conv', maps: 8, kernelSize: 3, padding: 1, thresholdV: 3 },
            { kind: 'pool', kernelSize: 2, stride: 2 },
          ],
        },
        limits: { train: 20, extract: 300, test: 100 },
      }),
    );
    const r = await cli('run', file, '--json', '--quiet', '--workers', '1');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    const layers = report.perLayer as { layer: number; kind: string; neurons: number; spikesPerSample: number; synapticEventsPerSample: number; fanoutEventsPerSample: number; denseMacsPerSample: number; activationSparsity: number; neuronSparsity: number }[];
    expect(layers.map((l) => [l.layer, l.kind, l.neurons])).toEqual([
      [0, 'input', 784],
      [1, 'conv', 16 * 28 * 28],
      [2, 'pool', 16 * 14 * 14],
      [3, 'conv', 8 * 14 * 14],
      [4, 'pool', 8 * 7 * 7],
    ]);
    const sum = (key: 'spikesPerSample' | 'synapticEventsPerSample' | 'fanoutEventsPerSample' | 'denseMacsPerSample') => layers.reduce((a, l) => a + l[key], 0);
    expect(sum('spikesPerSample')).toBeCloseTo(report.spikesPerSample.total, 9);
    expect(layers[1].spikesPerSample + layers[3].spikesPerSample).toBeCloseTo(report.spikesPerSample.conv, 9);
    expect(sum('synapticEventsPerSample')).toBeCloseTo(report.synapticEventsPerSample, 6);
    expect(sum('fanoutEventsPerSample')).toBeCloseTo(report.fanoutEventsPerSample, 6);
    expect(sum('denseMacsPerSample')).toBe(report.denseMacsPerSample);
    expect(layers[3].denseMacsPerSample).toBe(15 * 8 * 14 * 14 * 16 * 3 * 3);
    expect(layers[3].spikesPerSample).toBeGreaterThan(0);
    for (const l of layers) {
      expect(l.activationSparsity).toBeCloseTo(1 - l.spikesPerSample / (l.neurons * 15), 12);
      expect(l.neuronSparsity).toBeCloseTo(1 - l.spikesPerSample / l.neurons, 12);
    }
    const neurons = layers.reduce((a, l) => a + l.neurons, 0);
    expect(report.neuronSparsity).toBeCloseTo(1 - report.spikesPerSample.total / neurons, 12);
    // the table shows a row per layer
    const table = await cli('run', file, '--quiet', '--workers', '1');
    for (const row of ['0 input', '1 conv', '2 pool', '3 conv', '4 pool']) expect(table.out).toMatch(new RegExp(`^${row} +[\\d,]+ +[\\d.,]+ `, 'm'));
  });
});

describe('extracted features', () => {
  it('are, row by row, exactly the output neurons that spiked in the dense reference, ascending', () => {
    // a small network, so that the dense clock-driven reference is quick
    const net = resolveNetwork({ layers: [{ kind: 'conv', maps: 6, kernelSize: 5, padding: 2, thresholdV: 6 }, { kind: 'pool', kernelSize: 3, stride: 3 }] });
    const random = new SeededRandom(9);
    const engine = new Engine(net, { random });
    const weights = engine.convLayers.map((c) => Float64Array.from(c.weights));
    const count = 40;
    const { features, totals } = extractFeatures(engine, mnist.test, 0, count);
    expect(features.rows).toBe(count);
    expect(features.cols).toBe(6 * 9 * 9);
    const times = new Int32Array(784);
    let nonEmpty = 0;
    for (let i = 0; i < count; i++) {
      rankOrderEncode(imageAt(mnist.test, i), net.timeBins, times);
      const dense = denseSample(net, weights, times);
      const last = dense.spikeTimes[dense.spikeTimes.length - 1];
      const expected = [...last.keys()].filter((j) => last[j] >= 0);
      const row = Array.from(features.indices.subarray(features.offsets[i], features.offsets[i + 1]));
      expect(row, `image ${i}`).toEqual(expected);
      if (expected.length > 0) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(30);
    expect(features.offsets[count]).toBe(features.indices.length);
    expect(totals.samples).toBe(count);
  });
});
