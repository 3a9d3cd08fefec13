import { describe, expect, it } from 'vitest';
import { OptionError } from '../../src/errors.js';
import { CONV_DEFAULTS, resolveNetwork, type NetworkOptions } from '../../src/neurons/network.js';

describe('resolveNetwork', () => {
  it("defaults to the paper's input → conv (70 maps 7×7, pad 3) → pool (3×3 / 3)", () => {
    const net = resolveNetwork();
    expect(net.timeBins).toBe(15);
    expect(net.layers.map((l) => l.kind)).toEqual(['input', 'conv', 'pool']);
    expect(net.layers[1].outShape).toEqual({ channels: 70, height: 28, width: 28 });
    expect(net.layers[2].outShape).toEqual({ channels: 70, height: 9, width: 9 });
    const conv = net.layers[1];
    if (conv.kind !== 'conv') throw new Error('expected conv');
    expect(conv).toMatchObject({ ...CONV_DEFAULTS, thresholdV: 10, winners: 7, inhibitionRadius: 3, precision: 'float32' });
    expect(conv.learning).toEqual({ rule: 'vdsp', learningRate: 0.01, learningRateMax: 0.1, adaptiveLearningRate: true, learningRateInterval: 500, potentiationFactor: 1, depressionFactor: 2 });
  });

  it('expresses a second conv → pool pair by configuration', () => {
    const net = resolveNetwork({
      layers: [{ kind: 'conv', maps: 8, kernelSize: 5, padding: 2 }, { kind: 'pool', kernelSize: 2, stride: 2 }, { kind: 'conv', maps: 4, kernelSize: 3, padding: 1 }, { kind: 'pool', kernelSize: 2, stride: 2 }],
    });
    expect(net.layers.map((l) => l.outShape)).toEqual([
      { channels: 1, height: 28, width: 28 },
      { channels: 8, height: 28, width: 28 },
      { channels: 8, height: 14, width: 14 },
      { channels: 4, height: 14, width: 14 },
      { channels: 4, height: 7, width: 7 },
    ]);
    const conv2 = net.layers[3];
    expect(conv2.kind === 'conv' && conv2.inShape.channels).toBe(8);
  });

  const bad: [string, unknown, RegExp][] = [
    ['unknown key', { timeBin: 15 }, /timeBin: expected no such option/],
    ['negative bins', { timeBins: -1 }, /timeBins: expected an integer ≥ 1 and ≤ 1000000, got -1/],
    ['NaN threshold', { layers: [{ kind: 'conv', thresholdV: Number.NaN }] }, /layers\[0\]\.thresholdV: expected a finite number > 0, got NaN/],
    ['unknown layer key', { layers: [{ kind: 'conv', map: 3 }] }, /layers\[0\]\.map: expected no such option/],
    ['unknown kind', { layers: [{ kind: 'dense' }] }, /layers\[0\]\.kind: expected "conv" or "pool", got "dense"/],
    ['pool first', { layers: [{ kind: 'pool' }] }, /layers\[0\]\.kind: expected a layer after a conv layer \(it follows the input\)/],
    ['a VDSP key on the layer', { layers: [{ kind: 'conv', learningRate: 0.1 }, { kind: 'pool' }] }, /layers\[0\]\.learningRate: expected no such option: the learning rule's parameters live under "learning" \(layers\[0\]\.learning\.learningRate\)/],
    ['an unknown rule', { layers: [{ kind: 'conv', learning: { rule: 'bcm' } }, { kind: 'pool' }] }, /layers\[0\]\.learning\.rule: expected one of "vdsp", "stdp", got "bcm"/],
    ['a positive a⁻', { layers: [{ kind: 'conv', learning: { rule: 'stdp', depressionRate: 0.1 } }, { kind: 'pool' }] }, /layers\[0\]\.learning\.depressionRate: expected a negative number/],
    ['a VDSP key under STDP', { layers: [{ kind: 'conv', learning: { rule: 'stdp', learningRate: 0.1 } }, { kind: 'pool' }] }, /layers\[0\]\.learning\.learningRate: expected no such option/],
    ['two convs in a row', { layers: [{ kind: 'conv' }, { kind: 'conv' }] }, /layers\[1\]\.kind/],
    ['reset above rest', { resetV: 1 }, /resetV: expected a value below restV/],
    ['kernel too large', { inputHeight: 3, inputWidth: 3, layers: [{ kind: 'conv', kernelSize: 9, padding: 0 }] }, /layers\[0\]\.kernelSize/],
    ['string value', { layers: [{ kind: 'conv', maps: '70' }] }, /layers\[0\]\.maps: expected an integer ≥ 1 and ≤ 4096, got "70"/],
    ['empty layers', { layers: [] }, /layers: expected a non-empty array/],
  ];
  for (const [name, options, message] of bad) {
    it(`rejects ${name} with the field and value`, () => {
      expect(() => resolveNetwork(options as NetworkOptions)).toThrow(OptionError);
      expect(() => resolveNetwork(options as NetworkOptions)).toThrow(message);
    });
  }
});
