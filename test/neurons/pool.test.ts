import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nativeKernelModule } from '../../src/neurons/kernels/integrate.js';
import { mapWindows, PoolLayer, poolConnectivity } from '../../src/neurons/pool.js';
import type { ResolvedPoolLayer } from '../../src/neurons/network.js';

// a 1 × 5 × 5 conv map pooled 2×2 / 2: a 2 × 2 pool; row and column 4 are not covered
const spec: ResolvedPoolLayer = {
  kind: 'pool',
  index: 2,
  kernelSize: 2,
  stride: 2,
  padding: 0,
  inShape: { channels: 1, height: 5, width: 5 },
  outShape: { channels: 1, height: 2, width: 2 },
};
const conv = (y: number, x: number): number => y * 5 + x;

describe('single-spike pool layer', () => {
  it('connects each conv neuron to the windows that cover it', () => {
    const c = poolConnectivity(spec);
    const targets = (n: number): number[] => Array.from(c.target.subarray(c.start[n], c.start[n + 1]));
    expect(targets(conv(0, 1))).toEqual([0]);
    expect(targets(conv(3, 3))).toEqual([3]);
    expect(targets(conv(4, 4))).toEqual([]);
    expect(targets(conv(1, 4))).toEqual([]);
  });

  it('connects exactly the windows that cover a neuron, in ascending order: overlapping, padded, strided; one map\'s windows, offset by the map, the same', () => {
    for (const [size, stride, padding, inH, inW] of [[3, 3, 0, 28, 28], [2, 2, 0, 5, 5], [3, 1, 1, 6, 4], [3, 2, 1, 7, 7], [4, 3, 2, 9, 5], [1, 1, 0, 3, 3], [5, 2, 0, 4, 4]]) {
      const outH = Math.max(0, Math.floor((inH + 2 * padding - size) / stride) + 1);
      const outW = Math.max(0, Math.floor((inW + 2 * padding - size) / stride) + 1);
      const s: ResolvedPoolLayer = { kind: 'pool', index: 2, kernelSize: size, stride, padding, inShape: { channels: 2, height: inH, width: inW }, outShape: { channels: 2, height: outH, width: outW } };
      const c = poolConnectivity(s);
      const one = mapWindows(s);
      expect(one.start.length).toBe(inH * inW + 1);
      for (let ch = 0; ch < 2; ch++) {
        for (let y = 0; y < inH; y++) {
          for (let x = 0; x < inW; x++) {
            // every window, by its definition
            const expected: number[] = [];
            for (let py = 0; py < outH; py++) {
              for (let px = 0; px < outW; px++) {
                const y0 = py * stride - padding;
                const x0 = px * stride - padding;
                if (y >= y0 && y < y0 + size && x >= x0 && x < x0 + size) expected.push((ch * outH + py) * outW + px);
              }
            }
            const n = (ch * inH + y) * inW + x;
            expect(Array.from(c.target.subarray(c.start[n], c.start[n + 1]))).toEqual(expected);
            const at = y * inW + x;
            expect(Array.from(one.target.subarray(one.start[at], one.start[at + 1]), (t) => ch * outH * outW + t)).toEqual(expected);
          }
        }
      }
    }
  });

  it('fires in the first bin any neuron of its window fires, and never again', () => {
    const pool = new PoolLayer(spec, 0, -1);
    pool.beginSample(1);
    expect(pool.deliver(conv(0, 1), 0)).toBe(true);
    expect(pool.deliver(conv(1, 0), 0)).toBe(false);
    pool.closeBin(false);
    expect(Array.from(pool.spikes.neuron.subarray(0, pool.spikes.count))).toEqual([0]);
    expect(pool.potentialAt(0, 0)).toBe(-1);
    expect(pool.potentialAt(1, 0)).toBe(0);
    // bin 3: window 0 again (already fired), window 3, and an uncovered neuron
    pool.deliver(conv(1, 1), 3);
    pool.deliver(conv(2, 3), 3);
    pool.deliver(conv(4, 2), 3);
    pool.closeBin(false);
    expect(Array.from(pool.spikes.neuron.subarray(0, pool.spikes.count))).toEqual([0, 3]);
    expect(Array.from(pool.spikes.time.subarray(0, pool.spikes.count))).toEqual([0, 3]);
    // synaptic events: (0,1) and (1,0) → pool 0 live; (1,1) → pool 0 dead; (2,3) → pool 3 live
    expect(pool.counts.synapticEvents).toBe(3);
    expect(pool.counts.fanoutEvents).toBe(4);
    expect(pool.potentialAt(3, 2)).toBe(0);
    expect(pool.potentialAt(3, 3)).toBe(-1);
    // a new sample starts from scratch
    pool.beginSample(2);
    pool.deliver(conv(0, 0), 1);
    pool.closeBin(false);
    expect(pool.spikes.count).toBe(1);
    expect(pool.potentialAt(3, 14)).toBe(0);
  });

  it('fires in the bins around the wrap of its 32-bit bin serial as in any other (the serial skips 0, the stamps at rest)', () => {
    for (const byCalls of [true, false]) {
      const pool = new PoolLayer(spec, 0, -1);
      // the serial of a layer that has run 2^32 − 2 bins (a long-running worker's)
      (pool as unknown as { binSerial: number }).binSerial = 0xfffffffe;
      for (let sample = 1; sample <= 3; sample++) {
        pool.beginSample(sample);
        // bin 0: window 0; bin 1: window 3 (the bin whose serial would have been 0 on the second sample)
        if (byCalls) {
          pool.deliver(conv(0, 1), 0);
          pool.closeBin(false);
          pool.deliver(conv(2, 3), 1);
          pool.closeBin(false);
        } else {
          pool.runBins(Int32Array.of(conv(0, 1), conv(2, 3)), Int32Array.of(0, 1, 2), 2);
        }
        expect(Array.from(pool.spikes.neuron.subarray(0, pool.spikes.count)), `sample ${sample}, ${byCalls ? 'bin by bin' : 'one loop'}`).toEqual([0, 3]);
      }
    }
  });

  it.skipIf(nativeKernelModule() === null)('runs a sample in the native kernel as in JavaScript: spikes in order, counts, potentials, and the bins after', () => {
    const layerCase = fc
      .record({ size: fc.integer({ min: 1, max: 4 }), stride: fc.integer({ min: 1, max: 4 }), padding: fc.integer({ min: 0, max: 3 }), channels: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 9 }), w: fc.integer({ min: 1, max: 9 }), T: fc.integer({ min: 1, max: 6 }) })
      .filter(({ size, padding, h, w }) => padding < size && h + 2 * padding >= size && w + 2 * padding >= size);
    fc.assert(
      fc.property(layerCase, fc.array(fc.nat(), { minLength: 1, maxLength: 60 }), fc.nat(), ({ size, stride, padding, channels, h, w, T }, draws, serial) => {
        const outH = Math.floor((h + 2 * padding - size) / stride) + 1;
        const outW = Math.floor((w + 2 * padding - size) / stride) + 1;
        const s: ResolvedPoolLayer = { kind: 'pool', index: 2, kernelSize: size, stride, padding, inShape: { channels, height: h, width: w }, outShape: { channels, height: outH, width: outW } };
        const layers = [new PoolLayer(s, 0, -1, 'native'), new PoolLayer(s, 0, -1, 'js')];
        const inputs = channels * h * w;
        // a sample's spikes by bin (each conv neuron once, in any order), from the draws
        const sources = new Int32Array(draws.map((d) => d % inputs).filter((d, i, all) => all.indexOf(d) === i));
        const binStart = new Int32Array(T + 1);
        for (let t = 1; t <= T; t++) binStart[t] = Math.min(sources.length, binStart[t - 1] + (draws[t % draws.length] % 7));
        binStart[T] = sources.length;
        for (const layer of layers) (layer as unknown as { binSerial: number }).binSerial = serial % 2 ? 0xffffffff - (serial % 3) : serial;
        const seen = layers.map((layer) => {
          const out: unknown[] = [];
          for (let sample = 1; sample <= 2; sample++) {
            layer.beginSample(sample);
            layer.runBins(sources, binStart, T);
            out.push(Array.from(layer.spikes.neuron.subarray(0, layer.spikes.count)), Array.from(layer.spikes.time.subarray(0, layer.spikes.count)), { ...layer.counts });
            for (let n = 0; n < channels * outH * outW; n++) for (let t = 0; t < T; t++) out.push(layer.potentialAt(n, t));
            // then bin by bin (the serial goes on from where the loop left it)
            layer.deliver(sources[0], T + 1);
            layer.closeBin(false);
            out.push(layer.spikes.count);
          }
          return out;
        });
        expect(seen[0]).toEqual(seen[1]);
      }),
      { seed: 131, numRuns: 200 },
    );
  });

  it('refuses a presynaptic neuron it does not have, bin by bin and in one loop, instead of firing a pool neuron that does not exist', () => {
    const pool = new PoolLayer(spec, 0, -1);
    pool.beginSample(1);
    expect(() => pool.deliver(25, 0)).toThrow('pool layer 2: presynaptic neuron 25 does not exist (25 neurons)');
    expect(() => pool.deliver(-1, 0)).toThrow('presynaptic neuron -1 does not exist');
    pool.beginSample(2);
    expect(() => pool.runBins(Int32Array.of(conv(0, 0), 40), Int32Array.of(0, 2), 1)).toThrow('presynaptic neuron 40 does not exist (25 neurons)');
    const js = new PoolLayer(spec, 0, -1, 'js');
    js.beginSample(2);
    expect(() => js.runBins(Int32Array.of(conv(0, 0), 40), Int32Array.of(0, 2), 1)).toThrow('presynaptic neuron 40 does not exist (25 neurons)');
  });
});
