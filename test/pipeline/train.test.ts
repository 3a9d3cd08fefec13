import { describe, expect, it } from 'vitest';
import { loadMnist } from '../../src/data/mnist.js';
import { Engine } from '../../src/events/engine.js';
import type { ConvLayer } from '../../src/neurons/conv.js';
import { resolveNetwork } from '../../src/neurons/network.js';
import { trainNetwork } from '../../src/pipeline/train.js';
import { convergence } from '../../src/plasticity/convergence.js';
import { SeededRandom } from '../../src/util/random.js';

const mnist = loadMnist();

function train(seed: number, maxSamples?: number) {
  const random = new SeededRandom(seed);
  const engine = new Engine(resolveNetwork({}), { random });
  const [result] = trainNetwork(engine, mnist.train, random, { maxSamples });
  return { result, conv: engine.hidden[0] as ConvLayer };
}

describe('VDSP training on MNIST', () => {
  it('converges within the authors range of samples and learns nearly binary weights', () => {
    const { result, conv } = train(0);
    expect(result.stoppedBy).toBe('convergence');
    // the authors' code stops after 577-753 samples over 10 seeds
    expect(result.samples).toBeGreaterThan(500);
    expect(result.samples).toBeLessThan(900);
    expect(result.convergence).toBeLessThan(0.01);
    expect(result.convergenceHistory.length).toBe(result.samples);
    expect(result.convergenceHistory[0]).toBeGreaterThan(0.1); // starts near 0.8 · 0.2
    expect(result.learningRate).toBe(0.1);
    const binary = conv.weights.filter((w) => w < 0.05 || w > 0.95).length / conv.weights.length;
    expect(binary).toBeGreaterThan(0.9);
  });

  it('is deterministic: the same seed gives bit-identical weights, another seed others', () => {
    const a = train(5, 40);
    const b = train(5, 40);
    expect(a.result.stoppedBy).toBe('limit');
    expect(a.result.samples).toBe(40);
    expect(Array.from(a.conv.weights)).toEqual(Array.from(b.conv.weights));
    expect(a.conv.learning).toEqual(b.conv.learning);
    expect(Array.from(train(6, 40).conv.weights)).not.toEqual(Array.from(a.conv.weights));
  });

  it('trains a second conv → pool pair after the first, layer by layer', () => {
    const net = resolveNetwork({
      layers: [{ kind: 'conv', maps: 16, kernelSize: 5, padding: 2, thresholdV: 8 }, { kind: 'pool', kernelSize: 2, stride: 2 }, { kind: 'conv', maps: 8, kernelSize: 3, padding: 1, thresholdV: 3 }, { kind: 'pool', kernelSize: 2, stride: 2 }],
    });
    const random = new SeededRandom(1);
    const engine = new Engine(net, { random });
    const before = Float64Array.from((engine.hidden[2] as ConvLayer).weights);
    const results = trainNetwork(engine, mnist.train, random, { maxSamples: 30 });
    expect(results.map((r) => [r.layer, r.samples])).toEqual([
      [1, 30],
      [3, 30],
    ]);
    expect(results[0].applications).toBeGreaterThan(0);
    expect(results[1].applications).toBeGreaterThan(0);
    expect(Array.from((engine.hidden[2] as ConvLayer).weights)).not.toEqual(Array.from(before));
  });
});

describe('random streams per use', () => {
  const pair = (maps: number) => [
    { kind: 'conv' as const, maps, kernelSize: 3, padding: 1, thresholdV: 3 },
    { kind: 'pool' as const, kernelSize: 2, stride: 2 },
  ];
  const firstPair = [
    { kind: 'conv' as const, maps: 16, kernelSize: 5, padding: 2, thresholdV: 8 },
    { kind: 'pool' as const, kernelSize: 2, stride: 2 },
  ];
  function trainLayers(layers: object[], seed: number) {
    const random = new SeededRandom(seed);
    const engine = new Engine(resolveNetwork({ layers: layers as never }), { random });
    const initial = Float64Array.from((engine.hidden[0] as ConvLayer).weights);
    const results = trainNetwork(engine, mnist.train, random, { maxSamples: 60 });
    return { initial, results, first: engine.hidden[0] as ConvLayer };
  }

  it('adding, removing or resizing a later layer changes nothing in how the first one trains', () => {
    const alone = trainLayers(firstPair, 0);
    const withSecond = trainLayers([...firstPair, ...pair(8)], 0);
    const resized = trainLayers([...firstPair, ...pair(24)], 0);
    expect(withSecond.results.length).toBe(2);
    for (const other of [withSecond, resized]) {
      expect(Array.from(other.initial)).toEqual(Array.from(alone.initial));
      expect(Array.from(other.first.weights)).toEqual(Array.from(alone.first.weights));
      expect(other.results[0].convergenceHistory).toEqual(alone.results[0].convergenceHistory);
      expect(other.first.learning).toEqual(alone.first.learning);
    }
    // a different seed does change the first layer
    expect(Array.from(trainLayers(firstPair, 1).initial)).not.toEqual(Array.from(alone.initial));
  });

  it('draws named streams that depend on the seed and the name only', () => {
    const root = new SeededRandom(7);
    const a = root.derive('weights', 1).nextUint32();
    root.nextUint32(); // drawing from the root does not move a derived stream
    expect(root.derive('weights', 1).nextUint32()).toBe(a);
    expect(new SeededRandom(7).derive('weights', 3).nextUint32()).not.toBe(a);
    expect(new SeededRandom(8).derive('weights', 1).nextUint32()).not.toBe(a);
    expect(new SeededRandom(7).derive('shuffle').nextUint32()).not.toBe(a);
    expect(new SeededRandom(7, 'weights/1').nextUint32()).toBe(a);
  });
});

describe('epochs and the convergence history', () => {
  /** The first `n` training images as a set of their own. */
  const firstImages = (n: number) => ({ count: n, height: 28, width: 28, pixels: mnist.train.pixels.subarray(0, n * 784), labels: mnist.train.labels.subarray(0, n) });

  it('presents exactly epochs × images to a layer that does not converge', () => {
    const images = firstImages(25);
    for (const epochs of [1, 2, 3]) {
      const random = new SeededRandom(2);
      const engine = new Engine(resolveNetwork({}), { random });
      const [result] = trainNetwork(engine, images, random, { epochs, convergenceThreshold: 1e-12 });
      expect(result.stoppedBy).toBe('epochs');
      expect(result.samples).toBe(epochs * 25);
      expect(result.convergenceHistory).toHaveLength(epochs * 25);
    }
  });

  it('records Q after each sample: the history equals Q recomputed from the weights', () => {
    const random = new SeededRandom(4);
    const engine = new Engine(resolveNetwork({}), { random });
    const conv = engine.hidden[0] as ConvLayer;
    const initialQ = convergence(conv.weights, 0, 1);
    const seen: number[] = [];
    const [result] = trainNetwork(engine, mnist.train, random, { maxSamples: 30 }, () => seen.push(convergence(conv.weights, 0, 1)));
    expect(Array.from(result.convergenceHistory)).toEqual(seen);
    expect(result.convergenceHistory[result.samples - 1]).toBe(result.convergence);
    expect(result.convergence).toBe(convergence(conv.weights, 0, 1));
    expect(result.convergenceHistory[0]).not.toBe(initialQ); // the first entry is after sample 1, not before
  });
});
