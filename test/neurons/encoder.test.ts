import { describe, expect, it } from 'vitest';
import { imageAt } from '../../src/data/idx.js';
import { loadMnist } from '../../src/data/mnist.js';
import { InputPotential, NO_SPIKE, rankOrderEncode } from '../../src/neurons/encoder.js';
import { readTrace } from '../../src/replay/trace.js';
import { referenceTracePath } from '../helpers.js';

describe('rankOrderEncode', () => {
  it('ranks brightest first, ties in raster order, bin = ceil(r / (N / (T − 1)))', () => {
    const out = new Int32Array(5);
    // N = 4 non-zero pixels, T = 3: bin width 2; ranks 0,1,2,3 → bins 0,1,1,2
    const n = rankOrderEncode(Uint8Array.from([0, 200, 100, 200, 50]), 3, out);
    expect(n).toBe(4);
    expect(Array.from(out)).toEqual([NO_SPIKE, 0, 1, 1, 2]);
  });

  it('puts only the brightest pixel in bin 0 and spreads a flat image over the bins', () => {
    const out = new Int32Array(784);
    rankOrderEncode(new Uint8Array(784).fill(255), 15, out);
    const perBin = new Array(15).fill(0);
    out.forEach((b) => perBin[b]++);
    // r / 56: bin 0 holds r = 0, bins 1-13 hold 56 ranks each, bin 14 the last 55
    expect(perBin).toEqual([1, ...new Array(13).fill(56), 55]);
    expect(out[0]).toBe(0);
    expect(out[783]).toBe(14);
  });

  it('gives no spike at all to an empty image', () => {
    const out = new Int32Array(4).fill(7);
    expect(rankOrderEncode(new Uint8Array(4), 15, out)).toBe(0);
    expect(Array.from(out)).toEqual([-1, -1, -1, -1]);
  });

  it('assigns, per intensity, the same bins as the authors encoder (which orders ties differently)', () => {
    const trace = readTrace(referenceTracePath());
    const mnist = loadMnist();
    const out = new Int32Array(784);
    let pixelsInDifferentBins = 0;
    for (const step of trace.trainSteps) {
      const pixels = imageAt(mnist.train, step.train_index);
      rankOrderEncode(pixels, 15, out);
      const ours = new Map<number, number[]>();
      const theirs = new Map<number, number[]>();
      for (let i = 0; i < 784; i++) {
        if (out[i] !== step.input_times[i]) pixelsInDifferentBins++;
        if (pixels[i] === 0) {
          expect(step.input_times[i]).toBe(-1);
          continue;
        }
        (ours.get(pixels[i]) ?? ours.set(pixels[i], []).get(pixels[i])!).push(out[i]);
        (theirs.get(pixels[i]) ?? theirs.set(pixels[i], []).get(pixels[i])!).push(step.input_times[i]);
      }
      for (const [v, bins] of ours) expect(bins.sort((a, b) => a - b)).toEqual(theirs.get(v)!.sort((a, b) => a - b));
    }
    // The tie order does matter for individual pixels, as SPEC §2 says.
    expect(pixelsInDifferentBins).toBeGreaterThan(0);
  });
});

describe('InputPotential', () => {
  const p = new InputPotential(15, 0, -1);

  it('ramps by 1/(s+1) per bin before the spike and sits at v_reset from it on', () => {
    expect([p.at(3, 0), p.at(3, 1), p.at(3, 2)]).toEqual([0.25, 0.5, 0.75]);
    expect(p.at(3, 3)).toBe(-1);
    expect(p.at(3, 14)).toBe(-1);
    expect(p.at(0, 0)).toBe(-1);
  });

  it('stays at v_rest for a pixel that never spikes', () => {
    expect(p.at(-1, 0)).toBe(0);
    expect(p.at(-1, 14)).toBe(0);
  });

  it('accumulates like the authors code, not by the closed form', () => {
    // 1/10 added 3 times is 0.30000000000000004 in float64, while 3/10 is 0.3
    expect(p.at(9, 2)).toBe(0.1 + 0.1 + 0.1);
    expect(p.at(9, 2)).not.toBe(3 / 10);
  });
});
