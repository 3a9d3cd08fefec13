/**
 * The stages of a sample the native kernel runs beside the conv layer's: the rank-order encoder
 * and the engine's input stage, each against its JavaScript definition, in each vector width
 * this machine has (the pool layer's loop: test/neurons/pool.test.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { imageAt } from '../../src/data/idx.js';
import { loadMnist } from '../../src/data/mnist.js';
import { rankOrderEncode, rankOrderEncodeJs } from '../../src/neurons/encoder.js';
import { nativeKernelModule, nativeSimd, SIMD_LEVEL } from '../../src/neurons/kernels/integrate.js';

const native = nativeKernelModule();
/** The vector widths to run: the widest here and none (the other code path). */
const widths = native === null ? [] : [...new Set([SIMD_LEVEL[nativeSimd()!], SIMD_LEVEL.scalar])];

describe.skipIf(native === null)('native stages of a sample', () => {
  it('encodes every MNIST image into the JavaScript encoder\'s bins, in each vector width', () => {
    const mnist = loadMnist();
    const ours = new Int32Array(784);
    const theirs = new Int32Array(784);
    let spikes = 0;
    for (const set of [mnist.train, mnist.test]) {
      for (let i = 0; i < set.count; i++) {
        const pixels = imageAt(set, i);
        const n = rankOrderEncodeJs(pixels, 15, theirs);
        spikes += n;
        for (const simd of widths) {
          ours.fill(7);
          expect(native!.rankOrderEncode(pixels, 15, ours, simd)).toBe(n);
          if (ours.some((b, k) => b !== theirs[k])) expect({ set: set === mnist.train ? 'train' : 'test', i, simd, bins: Array.from(ours) }).toEqual({ set: set === mnist.train ? 'train' : 'test', i, simd, bins: Array.from(theirs) });
        }
      }
    }
    // the images do spike (about 150 pixels each)
    expect(spikes / 70000).toBeGreaterThan(100);
    // and the exported encoder is one of the two
    rankOrderEncode(imageAt(mnist.test, 0), 15, ours);
    rankOrderEncodeJs(imageAt(mnist.test, 0), 15, theirs);
    expect(Array.from(ours)).toEqual(Array.from(theirs));
  });

  it('encodes any image the same: empty, flat, a single pixel, a few bins or one, and images larger than its stack list', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 1, max: 3000 }).map((n) => new Uint8Array(n)),
          fc.integer({ min: 1, max: 3000 }).map((n) => new Uint8Array(n).fill(255)),
          fc.uint8Array({ minLength: 1, maxLength: 3000 }),
          fc.uint8Array({ minLength: 16380, maxLength: 16390 }),
          fc.integer({ min: 20000, max: 40000 }).chain((n) => fc.nat(n - 1).map((at) => Object.assign(new Uint8Array(n), { [at]: 9 }))),
        ),
        fc.constantFrom(1, 2, 3, 15, 100),
        (pixels, T) => {
          const theirs = new Int32Array(pixels.length);
          const n = rankOrderEncodeJs(pixels, T, theirs);
          for (const simd of widths) {
            const ours = new Int32Array(pixels.length + 3).fill(7);
            expect(native!.rankOrderEncode(pixels, T, ours, simd)).toBe(n);
            expect(Array.from(ours.subarray(0, pixels.length))).toEqual(Array.from(theirs));
            // nothing past the image
            expect(Array.from(ours.subarray(pixels.length))).toEqual([7, 7, 7]);
          }
        },
      ),
      { seed: 141, numRuns: 120 },
    );
  });

  it("takes a sample's input as the engine does in JavaScript: spike times, the log in neuron order, the spikes by bin; refuses a time out of range, writing nothing", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.integer({ min: -1, max: 19 }), { minLength: 1, maxLength: 900 }), fc.option(fc.integer({ min: -5, max: 40 })), (T, raw, bad) => {
        const times = Int32Array.from(raw, (t) => (t >= T ? -1 : t));
        if (bad !== null && (bad < -1 || bad >= T)) times[raw.length >> 1] = bad;
        const valid = times.every((t) => t === -1 || (t >= 0 && t < T));
        // the JavaScript definition (Engine.runSample and inputByBin)
        const neuron: number[] = [];
        for (let i = 0; i < times.length; i++) if (times[i] >= 0) neuron.push(i);
        const binStart = new Array(T + 1).fill(0);
        for (const i of neuron) binStart[times[i] + 1]++;
        for (let t = 0; t < T; t++) binStart[t + 1] += binStart[t];
        const byBin = Array.from({ length: T }, (_, t) => neuron.filter((i) => times[i] === t)).flat();
        for (const simd of widths) {
          const out = { spikeTime: new Int32Array(times.length).fill(9), neuron: new Int32Array(times.length).fill(9), time: new Float64Array(times.length).fill(9), binStart: new Int32Array(T + 1).fill(9), byBin: new Int32Array(times.length).fill(9) };
          const count = native!.inputSample(times, T, out.spikeTime, out.neuron, out.time, out.binStart, out.byBin, simd);
          if (!valid) {
            expect(count).toBe(-1);
            for (const a of Object.values(out)) expect(Array.from(a as ArrayLike<number>).every((x) => x === 9)).toBe(true);
            continue;
          }
          expect(count).toBe(neuron.length);
          expect(Array.from(out.spikeTime)).toEqual(Array.from(times));
          expect(Array.from(out.neuron.subarray(0, count))).toEqual(neuron);
          expect(Array.from(out.time.subarray(0, count))).toEqual(neuron.map((i) => times[i]));
          expect(Array.from(out.binStart)).toEqual(binStart);
          expect(Array.from(out.byBin.subarray(0, count))).toEqual(byBin);
        }
      }),
      { seed: 142, numRuns: 300 },
    );
  });
});
