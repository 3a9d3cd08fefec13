import { describe, expect, it } from 'vitest';
import { imageAt } from '../../src/data/idx.js';
import { loadMnist } from '../../src/data/mnist.js';
import { Engine } from '../../src/events/engine.js';
import type { SpikeEvent } from '../../src/events/stream.js';
import { ConvLayer } from '../../src/neurons/conv.js';
import { rankOrderEncode } from '../../src/neurons/encoder.js';
import { resolveNetwork } from '../../src/neurons/network.js';
import { readTrace } from '../../src/replay/trace.js';
import { denseSample } from '../../src/reference/dense.js';
import { referenceTracePath, spikeTimesOf } from '../helpers.js';

/** Spike bin of every neuron of every layer up to `last` after the engine's last sample. */
function engineSpikeTimes(engine: Engine, last: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (let li = 0; li <= last; li++) {
    const { times, duplicates } = spikeTimesOf(engine, li);
    expect(duplicates).toBe(0); // single spike per neuron
    out.push(times);
  }
  return out;
}

describe('event-driven engine against the dense clock-driven reference', () => {
  // The random-network equalities (inference and training) are properties in
  // test/properties/single-spike.test.ts; this one is the real case.
  it('agrees with the dense reference on MNIST test digits with the authors trained weights', () => {
    const trace = readTrace(referenceTracePath());
    const mnist = loadMnist();
    const net = resolveNetwork({});
    const engine = new Engine(net, { weights: [trace.finalWeights] });
    const times = new Int32Array(784);
    for (let i = 0; i < 4; i++) {
      rankOrderEncode(imageAt(mnist.test, i), 15, times);
      engine.runSample(times);
      const dense = denseSample(net, [Float64Array.from(trace.finalWeights)], times);
      expect(engineSpikeTimes(engine, 2)).toEqual(dense.spikeTimes);
      expect(engine.summary().layers[1].denseMacs).toBe(dense.macs);
    }
  });
});

describe('engine', () => {
  const net = resolveNetwork({ timeBins: 4, inputHeight: 6, inputWidth: 6, layers: [{ kind: 'conv', maps: 3, kernelSize: 3, padding: 1, thresholdV: 1 }, { kind: 'pool', kernelSize: 2, stride: 2 }] });
  const weights = [Float64Array.from({ length: 27 }, (_, i) => 0.3 + 0.02 * i)];
  const input = Int32Array.from({ length: 36 }, (_, i) => (i * 7) % 5 - 1);

  it('streams every spike of every layer, in non-decreasing time, and a summary per sample', () => {
    const engine = new Engine(net, { weights });
    const seen: SpikeEvent[] = [];
    const summaries: number[] = [];
    const a = engine.streams.spikes$.subscribe((e) => seen.push(e));
    const b = engine.streams.samples$.subscribe((s) => summaries.push(s.totalSpikes));
    engine.runSample(input);
    a.unsubscribe();
    b.unsubscribe();
    const summary = engine.summary();
    expect(seen.length).toBe(summary.totalSpikes);
    expect(summaries).toEqual([summary.totalSpikes]);
    for (let li = 0; li < 3; li++) expect(seen.filter((e) => e.layer === li).length).toBe(summary.layers[li].spikes);
    for (let i = 1; i < seen.length; i++) expect(seen[i].time).toBeGreaterThanOrEqual(seen[i - 1].time);
    // after unsubscribing, nothing more arrives
    engine.runSample(input);
    expect(seen.length).toBe(summary.totalSpikes);
  });

  it('draws the same initial weights from the same seed, and other weights from another', async () => {
    const { SeededRandom } = await import('../../src/util/random.js');
    const w = (seed: number): Float64Array => (new Engine(resolveNetwork({}), { random: new SeededRandom(seed) }).hidden[0] as ConvLayer).weights;
    expect(Array.from(w(7))).toEqual(Array.from(w(7)));
    expect(Array.from(w(7))).not.toEqual(Array.from(w(8)));
    const w0 = w(0);
    const mean = w0.reduce((a, b) => a + b, 0) / w0.length;
    const sd = Math.sqrt(w0.reduce((a, b) => a + (b - mean) ** 2, 0) / w0.length);
    expect(mean).toBeCloseTo(0.8, 2);
    expect(sd).toBeGreaterThan(0.045);
    expect(sd).toBeLessThan(0.055);
  });

  it('refuses inputs and options that do not fit the network, naming them', () => {
    const engine = new Engine(net, { weights });
    expect(() => engine.runSample(new Int32Array(35))).toThrow(/spikeTimes: expected one time per input neuron \(36\)/);
    const bad = Int32Array.from(input);
    bad[9] = 4;
    expect(() => engine.runSample(bad)).toThrow(/spikeTimes\[9\]: expected −1 or a time in \[0, 4\), got 4/);
    expect(() => engine.runSample(Array.from(input, (t, i) => (i === 2 ? Number.NaN : t)))).toThrow(/spikeTimes\[2\]: .* got NaN/);
    expect(() => engine.runSample(input, { learnLayer: 2 })).toThrow(/learnLayer: expected the index of a layer with weights \(a conv layer\)/);
    expect(() => engine.runSample(input, { lastLayer: 3 })).toThrow(/lastLayer: expected a layer index in \[0, 2\]/);
  });

  it('leaves the last sample as it was when it refuses the next one, with every kernel', () => {
    for (const kernel of ['auto', 'wasm', 'js'] as const) {
      const engine = new Engine(net, { weights, kernel });
      engine.runSample(Int32Array.from(input));
      const before = { input: Array.from(engine.input.spikeTime), spikes: engineSpikeTimes(engine, 2), summary: engine.summary() };
      const bad = Int32Array.from(input);
      bad[20] = -2;
      expect(() => engine.runSample(bad), kernel).toThrow(/spikeTimes\[20\]: expected −1 or a time in \[0, 4\), got -2/);
      expect({ input: Array.from(engine.input.spikeTime), spikes: engineSpikeTimes(engine, 2), summary: engine.summary() }, kernel).toEqual(before);
    }
  });

  it('runs the JavaScript kernel to the same result as the WebAssembly one', () => {
    const a = new Engine(net, { weights, kernel: 'wasm' });
    const b = new Engine(net, { weights, kernel: 'js' });
    a.runSample(input, { learnLayer: 1 });
    b.runSample(input, { learnLayer: 1 });
    expect(engineSpikeTimes(a, 2)).toEqual(engineSpikeTimes(b, 2));
    expect(Array.from((a.hidden[0] as ConvLayer).weights)).toEqual(Array.from((b.hidden[0] as ConvLayer).weights));
  });

  it("starts each layer with weights from the learning state it is given (a checkpoint's), or its rule's initial one", () => {
    const net = resolveNetwork({ layers: [{ kind: 'conv', maps: 4, kernelSize: 3, padding: 1 }, { kind: 'pool' }] });
    const weights = [new Float64Array(4 * 9).fill(0.5)];
    const restored = new Engine(net, { weights, learning: [{ learningRate: 0.04, applications: 1234 }] });
    expect([restored.convLayers[0].learning.learningRate, restored.convLayers[0].learning.applications]).toEqual([0.04, 1234]);
    const fresh = new Engine(net, { weights });
    expect([fresh.convLayers[0].learning.learningRate, fresh.convLayers[0].learning.applications]).toEqual([0.01, 0]);
    // a state no run could have reached is refused, naming the field
    for (const [state, message] of [
      [{ learningRate: Number.NaN, applications: 0 }, /learning\[0\]\.learningRate: expected a finite number ≥ 0, got NaN/],
      [{ learningRate: -0.01, applications: 0 }, /learning\[0\]\.learningRate: expected a finite number ≥ 0/],
      [{ learningRate: Number.POSITIVE_INFINITY, applications: 0 }, /learning\[0\]\.learningRate/],
      [{ learningRate: 0.01, applications: 2.5 }, /learning\[0\]\.applications: expected a whole number ≥ 0, got 2\.5/],
      [{ learningRate: 0.01, applications: -1 }, /learning\[0\]\.applications/],
      [{ learningRate: 0.01, applications: 1e300 }, /learning\[0\]\.applications/],
    ] as const) {
      expect(() => new Engine(net, { weights, learning: [state] })).toThrow(message);
    }
    // and so are weights that are not numbers, given or set
    const broken = Float64Array.from(weights[0]);
    broken[7] = Number.NaN;
    expect(() => new Engine(net, { weights: [broken] })).toThrow(/weights\[0\]\[7\]: expected a finite number, got NaN/);
    broken[7] = Number.POSITIVE_INFINITY;
    expect(() => restored.convLayers[0].setWeights(broken)).toThrow(/conv layer 1: weight 7 is Infinity, not a finite number/);
    expect(restored.convLayers[0].weights[7]).toBe(0.5);
  });
});
