import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadMnist } from '../../src/data/mnist.js';
import { Engine } from '../../src/events/engine.js';
import { describeModel, descriptionNetwork, engineFromDescription, type SsifConvNode } from '../../src/export/model.js';
import { describeCheckpoint } from '../../src/pipeline/onnx.js';
import { buildOnnxModel, splitWeights } from '../../src/export/onnx.js';
import { readOnnxModel } from '../../src/export/read.js';
import { openSession, runBatch } from '../../src/export/session.js';
import { rankOrderEncode } from '../../src/neurons/encoder.js';
import { networkOptionsOf, neuronCount, resolveNetwork } from '../../src/neurons/network.js';
import { extractFeatures } from '../../src/pipeline/extract.js';
import { readCheckpoint } from '../../src/pipeline/checkpoint.js';
import { runExperiment } from '../../src/pipeline/run.js';
import { sameFeatures } from '../../src/readout/features.js';
import { loadScenario } from '../../src/pipeline/scenario.js';
import { predictLabels } from '../../src/readout/linear-svm.js';
import { SeededRandom } from '../../src/util/random.js';
import { networkCase } from '../arbitraries.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A random readout of 3 classes over `features` features. */
function randomReadout(features: number, seed: number): { classes: number[]; features: number; weights: Float64Array } {
  const random = new SeededRandom(seed);
  return { classes: [0, 1, 2], features, weights: Float64Array.from({ length: 3 * (features + 1) }, () => random.normal(0, 1)) };
}

describe('weight split for exact float32 sums', () => {
  it('splits each float32 weight exactly into a grid part and a small rest', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: 60 }), (ws) => {
        const w = Float64Array.from(ws);
        const { hi, lo, gridBits } = splitWeights(w, 49);
        for (let i = 0; i < w.length; i++) {
          expect(hi[i] + lo[i] === Math.fround(w[i])).toBe(true);
          expect(Math.abs(lo[i])).toBeLessThanOrEqual(2 ** -(gridBits + 1));
          expect(Number.isInteger(hi[i] * 2 ** gridBits)).toBe(true);
        }
        const maxAbs = Math.max(2 ** -20, ...Array.from(w, (x) => Math.abs(Math.fround(x))));
        expect(49 * maxAbs * 2 ** gridBits).toBeLessThan(2 ** 24);
      }),
      { seed: 201 },
    );
  });
});

describe('ONNX export against the event-driven simulator on random networks', () => {
  for (const input of ['spikes', 'images'] as const) {
    it(`gives the same features and labels (${input} input)`, async () => {
      await fc.assert(
        fc.asyncProperty(networkCase, async ({ net: drawn, weights, inputs, seed }) => {
          // the export reproduces the default float32 integration
          const options = networkOptionsOf(drawn);
          options.layers = options.layers!.map((l) => (l.kind === 'conv' ? { ...l, precision: 'float32' } : l));
          const net = resolveNetwork(options);
          const last = net.layers[net.layers.length - 1].outShape;
          const desc = describeModel(net, weights, randomReadout(neuronCount(last), seed));
          const { session } = await openSession(buildOnnxModel(desc, input), 'cpu');
          const { height, width } = net.layers[0].outShape;
          const hw = height * width;
          const random = new SeededRandom(seed);
          // the inputs of the case, or images with ties, zeros and saturated pixels
          const images = Uint8Array.from({ length: inputs.length * hw }, () => [0, 0, 255, 17, random.nextInt(256)][random.nextInt(5)]);
          const spikes = new Int32Array(inputs.length * hw);
          inputs.forEach((s, i) => (input === 'spikes' ? spikes.set(s, i * hw) : rankOrderEncode(images.subarray(i * hw, (i + 1) * hw), net.timeBins, spikes.subarray(i * hw, (i + 1) * hw))));
          const r = await runBatch(session, input === 'images' ? images : spikes, inputs.length, height, width);
          const engine = new Engine(net, { weights });
          const features = neuronCount(last);
          for (let i = 0; i < inputs.length; i++) {
            engine.runSample(spikes.subarray(i * hw, (i + 1) * hw));
            const expected = new Float32Array(features);
            const log = engine.outputSpikes();
            for (let s = 0; s < log.count; s++) expected[log.neuron[s]] = 1;
            expect(Array.from(r.features.subarray(i * features, (i + 1) * features))).toEqual(Array.from(expected));
          }
          await session.release();
        }),
        { seed: 202, numRuns: 30 },
      );
    });
  }

  it('refuses a network that integrates in float64', () => {
    const net = resolveNetwork({ inputHeight: 4, inputWidth: 4, layers: [{ kind: 'conv', maps: 2, kernelSize: 3, padding: 1, precision: 'float64' }, { kind: 'pool', kernelSize: 2, stride: 2 }] });
    const desc = describeModel(net, [new Float64Array(18).fill(0.5)], randomReadout(8, 1));
    expect(() => buildOnnxModel(desc)).toThrow(/reproduces float32 integration; this network's conv layer integrates in float64/);
  });
});

describe('ONNX export of the trained quick-scenario network', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evspike-onnx-'));
  const mnist = loadMnist();
  beforeAll(async () => {
    await runExperiment({ scenario: loadScenario('mnist-quick'), data: mnist, workers: 2, saveDir: join(dir, 'cp') });
  });

  for (const input of ['images', 'spikes'] as const) {
    it(`agrees with the simulator on MNIST test images (${input} input)`, async () => {
      const file = join(dir, `model-${input}.onnx`);
      const exported = await cli('export', '--checkpoint', join(dir, 'cp'), '--out', file, '--input', input);
      expect(exported.code).toBe(0);
      expect(exported.out).toMatch(/ONNX opset 17/);
      const r = await cli('infer', '--model', file, '--limit', '300', '--batch', '150', '--json', '--quiet');
      expect(r.code).toBe(0);
      const report = JSON.parse(r.out);
      expect(report.device).toBe('cpu');
      // measured: 299 of 300 identical (the other is a float32 near-tie of two maps); without
      // the hi/lo weight split that makes the graph's float32 sums exact it was 289 of 300
      expect(Math.round(report.identicalFeatures * 300)).toBeGreaterThanOrEqual(299);
      expect(report.identicalLabels).toBeGreaterThanOrEqual(0.999);
      expect(Math.abs(report.accuracy - report.simulatorAccuracy)).toBeLessThanOrEqual(0.0005);
      expect(report.accuracy).toBeGreaterThan(0.9);
      expect(report.denseMacsPerSample).toBeGreaterThan(100 * report.synapticEventsPerSample);
    });
  }

  it('gives back the model description from the file alone, and one function builds the same network from it', () => {
    const model = readOnnxModel(join(dir, 'model-images.onnx'));
    const cp = readCheckpoint(join(dir, 'cp'));
    const desc = model.description;
    const written = describeCheckpoint(cp);
    // the description, node for node: everything but the weights' float32 rounding
    expect(desc.layers.map((n) => n.kind)).toEqual(['ssif-conv', 'single-spike-pool']);
    const { weights: readWeights, ...readConv } = desc.layers[0] as SsifConvNode;
    const { weights: savedWeights, ...savedConv } = written.layers[0] as SsifConvNode;
    expect(readConv).toEqual(savedConv);
    expect(readConv.learning).toEqual({ rule: 'vdsp', learningRate: 0.01, learningRateMax: 0.1, adaptiveLearningRate: true, learningRateInterval: 500, potentiationFactor: 1, depressionFactor: 2 });
    expect(desc.layers[1]).toEqual(written.layers[1]);
    expect([desc.timeBins, desc.restV, desc.resetV, desc.height, desc.width]).toEqual([15, 0, -1, 28, 28]);
    // the network configuration, value for value
    expect(networkOptionsOf(descriptionNetwork(desc))).toEqual(cp.scenario.networkOptions);
    // the weights as the simulator integrates them (float32), every one
    expect(Array.from(readWeights)).toEqual(Array.from(savedWeights, (w) => Math.fround(w)));
    // the readout: classes, and every weight and bias (float64 in the graph, so exact)
    const r = cp.payload.readout!;
    expect(desc.readout.classes).toEqual(r.classes);
    expect(desc.readout.features).toBe(r.features);
    expect(Array.from(desc.readout.weights)).toEqual(r.weights);
    // and so the same features and labels as the checkpoint's own network
    const rebuilt = extractFeatures(engineFromDescription(desc), mnist.test, 0, 50);
    const original = extractFeatures(new Engine(cp.scenario.network, { weights: cp.payload.layers.map((l) => l.weights) }), mnist.test, 0, 50);
    expect(sameFeatures(rebuilt.features, original.features)).toBe(true);
    expect(Array.from(predictLabels(desc.readout, rebuilt.features))).toEqual(Array.from(predictLabels({ ...r, weights: Float64Array.from(r.weights) }, original.features)));
  });

  it('explains what is wrong with a bad checkpoint, output path, model file or device', async () => {
    const bad = await cli('export', '--checkpoint', join(dir, 'nope'), '--out', join(dir, 'x.onnx'));
    expect(bad.err).toMatch(/checkpoint folder does not exist/);
    const unwritable = await cli('export', '--checkpoint', join(dir, 'cp'), '--out', join(dir, 'no', 'such', 'dir', 'x.onnx'));
    expect(unwritable.code).toBe(2);
    expect(unwritable.err).toMatch(/cannot write: folder .*dir does not exist/);
    const junk = join(dir, 'junk.onnx');
    writeFileSync(junk, 'this is not protobuf');
    expect((await cli('infer', '--model', junk)).err).toMatch(/junk\.onnx: (file: expected an ONNX model|metadata: expected the evspike metadata)/);
    expect((await cli('infer', '--model', join(dir, 'missing.onnx'))).err).toMatch(/missing\.onnx: file: expected a readable model file, got "no such file"/);
    expect((await cli('infer', '--model', join(dir, 'model-images.onnx'), '--device', 'tpu')).err).toMatch(/--device: expected one of "cpu", "cuda", "auto"/);
    expect((await cli('infer', '--model', join(dir, 'model-images.onnx'), '--batch', '0')).err).toMatch(/--batch: expected an integer ≥ 1/);
  });

  it('uses CUDA when asked only if it is there, and says so; auto falls back to the CPU', async () => {
    const file = join(dir, 'model-images.onnx');
    const model = readOnnxModel(file);
    let cudaAvailable = true;
    try {
      await (await openSession(model.bytes, 'cuda')).session.release();
    } catch (e) {
      cudaAvailable = false;
      expect((e as Error).message).toMatch(/CUDA execution provider is not available .*ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/);
    }
    const auto = await openSession(model.bytes, 'auto');
    expect(auto.device).toBe(cudaAvailable ? 'cuda' : 'cpu');
    if (!cudaAvailable) expect(auto.fallbackReason).toMatch(/CUDA execution provider not available/);
    await auto.session.release();
    const r = await cli('infer', '--model', file, '--device', 'cuda', '--limit', '10', '--quiet');
    expect(r.code).toBe(cudaAvailable ? 0 : 2);
  });
});
