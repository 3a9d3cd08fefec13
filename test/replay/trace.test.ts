import { describe, expect, it } from 'vitest';
import { TraceFormatError } from '../../src/errors.js';
import { parseTrace, readTrace, readTraceText } from '../../src/replay/trace.js';
import { referenceTracePath } from '../helpers.js';

describe('trace reader', () => {
  const text = readTraceText(referenceTracePath());
  const original = JSON.parse(text);

  it('reads the reference trace with the authors parameters', () => {
    const trace = parseTrace(text, 'ref.json');
    expect(trace.trainSteps.length).toBe(28);
    expect(trace.inference.length).toBe(200);
    expect(trace.finalWeights.length).toBe(3430);
    const conv = trace.network.layers[1];
    expect(conv.kind === 'conv' && [conv.maps, conv.thresholdV, conv.winners]).toEqual([70, 10, 7]);
    expect(conv.kind === 'conv' && conv.learning).toMatchObject({ rule: 'vdsp', learningRate: 0.01, learningRateMax: 0.1, learningRateInterval: 500, depressionFactor: 2 });
  });

  const broken: [string, (t: any) => void, RegExp][] = [
    ['an unknown key', (t) => (t.extra = 1), /bad\.json: extra: expected no such key/],
    ['an unknown parameter', (t) => (t.params.conv_foo = 1), /params\.conv_foo: expected no such key/],
    ['a wrong weight count', (t) => t.final_weights.pop(), /final_weights: expected an array of 3430 values, got an array of length 3429/],
    ['a non-numeric weight', (t) => (t.train_steps[3].weights_after[7] = 'NaN'), /train_steps\[3\]\.weights_after\[7\]: expected a finite number, got "NaN"/],
    ['a null weight', (t) => (t.final_weights[0] = null), /final_weights\[0\]: expected a finite number, got null/],
    ['a bin out of range', (t) => (t.inference[5].input_times[100] = 15), /inference\[5\]\.input_times\[100\]: expected an integer in \[-1, 14\], got 15/],
    ['a negative bin', (t) => (t.train_steps[0].input_times[0] = -2), /train_steps\[0\]\.input_times\[0\]: expected an integer in \[-1, 14\], got -2/],
    ['a spike outside the map', (t) => (t.inference[0].conv_spikes[0] = [3, 70, 0, 0]), /inference\[0\]\.conv_spikes\[0\]\[1\] \(map\): expected an integer in \[0, 69\], got 70/],
    ['a missing entry key', (t) => delete t.train_steps[1].winners, /train_steps\[1\]\.winners: expected a value, got nothing/],
    ['a short input', (t) => t.inference[2].input_times.pop(), /inference\[2\]\.input_times: expected an array of 784 values/],
    ['a wrong weight shape', (t) => (t.weights_shape = [70, 1, 5, 5]), /weights_shape: expected \[70, 1, 7, 7\]/],
    ['an inconsistent parameter', (t) => (t.params.conv_firing_thr = -3), /params: layers\[0\]\.thresholdV/],
  ];
  for (const [what, damage, message] of broken) {
    it(`refuses ${what}, naming the field and the value`, () => {
      const t = structuredClone(original);
      damage(t);
      expect(() => parseTrace(JSON.stringify(t), 'bad.json')).toThrow(message);
    });
  }

  it('refuses a missing file and text that is not JSON', () => {
    expect(() => readTrace('no/such/trace.json')).toThrow(/no\/such\/trace\.json: cannot read trace: no such file/);
    expect(() => parseTrace('{"train_steps": [', 'cut.json')).toThrow(/cut\.json: not valid JSON/);
    expect(() => parseTrace('[]', 'arr.json')).toThrow(TraceFormatError);
  });
});
