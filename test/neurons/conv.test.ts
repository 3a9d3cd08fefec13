import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/events/engine.js';
import type { ConvLayer } from '../../src/neurons/conv.js';
import { resolveNetwork } from '../../src/neurons/network.js';

/** 3×3 input, conv of 2 maps with 2×2 kernels, no padding: a 2×2 output. Threshold 1, T = 3. */
function tinyEngine(map0: number[], map1: number[], precision: 'float32' | 'float64' = 'float32'): { engine: Engine; conv: ConvLayer } {
  const net = resolveNetwork({
    timeBins: 3,
    inputHeight: 3,
    inputWidth: 3,
    layers: [{ kind: 'conv', maps: 2, kernelSize: 2, padding: 0, thresholdV: 1, precision }, { kind: 'pool', kernelSize: 1, stride: 1 }],
  });
  const engine = new Engine(net, { weights: [[...map0, ...map1]] });
  return { engine, conv: engine.hidden[0] as ConvLayer };
}

function spikes(conv: ConvLayer): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  for (let s = 0; s < conv.spikes.count; s++) {
    const f = conv.spikes.neuron[s];
    out.push([conv.spikes.time[s], Math.floor(f / 4), Math.floor((f % 4) / 2), f % 2]);
  }
  return out.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
}

// Pixel spike bins, row-major:  0  1  -
//                               0  2  -
//                               -  -  -
const input = [0, 1, -1, 0, 2, -1, -1, -1, -1];

describe('SSIF conv layer', () => {
  it('refuses what a broken presynaptic layer could send it: a neuron it lacks, one neuron twice', () => {
    const { conv } = tinyEngine([0.6, 0.6, 0.6, 0.6], [0.5, 0.5, 0.9, 0.5]);
    conv.beginSample(1);
    expect(() => conv.deliver(9, 0)).toThrow(/conv layer 1: presynaptic neuron 9 does not exist \(9 neurons\)/);
    expect(() => conv.deliver(-1, 0)).toThrow(/presynaptic neuron -1 does not exist/);
    conv.beginSample(2);
    for (let n = 0; n < 9; n++) conv.deliver(n, 0);
    expect(() => conv.deliver(0, 0)).toThrow(/more input spikes in one bin than presynaptic neurons/);
    // one neuron in five bins of a sample (zero weights: nothing crosses): its positions get
    // more taps than their 2×2 kernels have, which the kernel finds
    const silent = tinyEngine([0, 0, 0, 0], [0, 0, 0, 0]).conv;
    silent.beginSample(1);
    for (let t = 0; t < 4; t++) {
      silent.deliver(4, t);
      silent.closeBin(false);
    }
    silent.deliver(4, 4);
    expect(() => silent.closeBin(false)).toThrow(/conv layer 1: a position received more input spikes in one sample than its kernel has taps/);
    // the same through a whole sample's bins in one call (one kernel call where it has one)
    const bins = Int32Array.of(0, 1, 2, 3, 4, 5);
    silent.beginSample(2);
    expect(() => silent.runBins(Int32Array.of(4, 4, 4, 4, 4), bins, 5)).toThrow(/conv layer 1: a position received more input spikes in one sample than its kernel has taps/);
    silent.beginSample(3);
    expect(() => silent.runBins(Int32Array.of(0, 1, 9, 2, 3), bins, 5)).toThrow(/conv layer 1: presynaptic neuron 9 does not exist \(9 neurons\)/);
    silent.beginSample(4);
    expect(() => silent.runBins(Int32Array.of(0, -1, 2, 3, 4), bins, 5)).toThrow(/presynaptic neuron -1 does not exist/);
  });

  it('integrates per bin, fires the largest crossing map per position, once', () => {
    // taps (0,0) (0,1) (1,0) (1,1)
    const { engine, conv } = tinyEngine([0.6, 0.6, 0.6, 0.6], [0.5, 0.5, 0.9, 0.5]);
    engine.runSample(input);
    // (0,0), bin 0: pixels (0,0) on tap (0,0) and (1,0) on tap (1,0): map 0 1.2, map 1 1.4 → map 1
    // (0,1), bin 1: pixel (0,1) on tap (0,0): 0.6 / 0.5; bin 2: pixel (1,1) on tap (1,0): 1.2 / 1.4 → map 1
    // (1,0), bin 0: pixel (1,0) on tap (0,0): 0.6 / 0.5; bin 2: pixel (1,1) on tap (0,1): 1.2 / 1.0 → map 0
    // (1,1), bin 2: pixel (1,1) on tap (0,0): 0.6 / 0.5 → nothing
    expect(spikes(conv)).toEqual([
      [0, 1, 0, 0],
      [2, 0, 1, 0],
      [2, 1, 0, 1],
    ]);
  });

  it('counts synaptic events on live neurons and fan-out on real connections', () => {
    const { engine, conv } = tinyEngine([0.6, 0.6, 0.6, 0.6], [0.5, 0.5, 0.9, 0.5]);
    engine.runSample(input);
    // connections: pixel (0,0) → 1 position, (1,0) → 2, (0,1) → 2, (1,1) → 4: 9 × 2 maps
    expect(conv.counts.fanoutEvents).toBe(18);
    // (0,0) is dead after bin 0, so (0,1) reaches 1 live position and (1,1) 3: (1+2+1+3) × 2
    expect(conv.counts.synapticEvents).toBe(14);
    const summary = engine.summary();
    expect(summary.layers.map((l) => l.spikes)).toEqual([4, 3, 3]);
    expect(summary.totalSpikes).toBe(10);
    // dense: T · maps · H · W · k² = 3 · 2 · 2 · 2 · 4
    expect(summary.layers[1].denseMacs).toBe(96);
    expect(summary.layers[1].activationSparsity).toBeCloseTo(1 - 3 / (8 * 3), 12);
  });

  it('gives an exact tie to the higher map and inhibits the others at the position', () => {
    const { engine, conv } = tinyEngine([0.6, 0.6, 0.6, 0.6], [0.6, 0.6, 0.6, 0.6]);
    engine.runSample(input);
    expect(spikes(conv).map((s) => s[1])).toEqual([1, 1, 1]);
    // inhibited neurons sit at v_rest, the spiking one at v_reset
    expect(conv.potentialAt(0 * 4 + 0, 2)).toBe(0);
    expect(conv.potentialAt(1 * 4 + 0, 2)).toBe(-1);
  });

  it('rounds each bin input to float32 by default, and not in float64 mode', () => {
    // one input on tap (0,0) of position (0,0) in bin 0, weight 1 + 2^-30 against threshold 1:
    // float32 rounds it to exactly 1 (not above threshold); float64 keeps it above
    const w = 1 + 2 ** -30;
    const only = [0, -1, -1, -1, -1, -1, -1, -1, -1];
    const f32 = tinyEngine([w, 0, 0, 0], [0, 0, 0, 0], 'float32');
    f32.engine.runSample(only);
    expect(f32.conv.spikes.count).toBe(0);
    const f64 = tinyEngine([w, 0, 0, 0], [0, 0, 0, 0], 'float64');
    f64.engine.runSample(only);
    expect(spikes(f64.conv)).toEqual([[0, 0, 0, 0]]);
  });

  it('starts every sample from rest', () => {
    const { engine, conv } = tinyEngine([0.6, 0.6, 0.6, 0.6], [0.5, 0.5, 0.9, 0.5]);
    engine.runSample(input);
    const first = spikes(conv);
    engine.runSample([-1, -1, -1, -1, -1, -1, -1, -1, -1]);
    expect(conv.spikes.count).toBe(0);
    engine.runSample(input);
    expect(spikes(conv)).toEqual(first);
  });

  it('resets every map of a position that spiked: the winner to resetV, the others to rest', () => {
    // 3 maps; at position (0,0) in bin 0 the middle map wins (1.4 > 1.2 and > 1.1), so there
    // are maps both below and above the winner, all of which held potential before the reset
    const net = resolveNetwork({
      timeBins: 3,
      inputHeight: 3,
      inputWidth: 3,
      layers: [{ kind: 'conv', maps: 3, kernelSize: 2, padding: 0, thresholdV: 1, winners: 0 }, { kind: 'pool', kernelSize: 1, stride: 1 }],
    });
    const engine = new Engine(net, { weights: [[0.6, 0.6, 0.6, 0.6, 0.5, 0.5, 0.9, 0.5, 0.55, 0.55, 0.55, 0.55]] });
    const conv = engine.hidden[0] as ConvLayer;
    engine.runSample([0, -1, -1, 0, -1, -1, -1, -1, -1]);
    expect(spikes3(conv)).toEqual([[0, 1, 0, 0]]);
    const at = (map: number, y: number, x: number): number => conv.potentialAt(map * 4 + y * 2 + x, 2);
    expect([at(0, 0, 0), at(1, 0, 0), at(2, 0, 0)]).toEqual([0, -1, 0]);
    // position (1,0) got pixel (1,0) on tap (0,0) and did not spike: its potentials stay
    expect([at(0, 1, 0), at(1, 1, 0), at(2, 1, 0)]).toEqual([Math.fround(0.6), Math.fround(0.5), Math.fround(0.55)]);
  });
});

function spikes3(conv: ConvLayer): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  for (let s = 0; s < conv.spikes.count; s++) {
    const f = conv.spikes.neuron[s];
    out.push([conv.spikes.time[s], Math.floor(f / 4), Math.floor((f % 4) / 2), f % 2]);
  }
  return out;
}
