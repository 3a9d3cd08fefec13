import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ADDITIONS,
  APPLIED,
  boundLevels,
  candidateLevelSum,
  createConvKernel,
  deferrableTaps,
  FANOUT,
  nativeKernelModule,
  nativeSimd,
  NATIVE_MAX_TAPS,
  paddedMaps,
  type KernelName,
  type NativeSimd,
  SPIKED,
  wasmKernelModule,
  weightLevel,
  type ConvKernel,
  type ConvKernelGeometry,
} from '../../src/neurons/kernels/integrate.js';
import { repoRoot } from '../helpers.js';

/** A connectivity where each source reaches a few distinct positions on distinct taps per position. */
function randomGeometry(positions: number, maps: number, tapsPerMap: number, sources: number, next: () => number, round: boolean, threshold: number, restV: number): ConvKernelGeometry {
  // give every (position, tap) pair at most one source, as a conv layer does
  const owner = new Int32Array(positions * tapsPerMap).fill(-1);
  for (let i = 0; i < owner.length; i++) if (next() % 3 !== 0) owner[i] = next() % sources;
  const start = new Int32Array(sources + 1);
  const target: number[] = [];
  const payload: number[] = [];
  for (let s = 0; s < sources; s++) {
    start[s] = target.length;
    for (let i = 0; i < owner.length; i++) {
      if (owner[i] !== s) continue;
      target.push(Math.floor(i / tapsPerMap));
      payload.push(i % tapsPerMap);
    }
  }
  start[sources] = target.length;
  return { positions, maps, tapsPerMap, connectivity: { start, target: Int32Array.from(target), payload: Int32Array.from(payload) }, roundToFloat32: round, threshold, restV };
}

/** The kernels this machine has: the native one where it was built (CI requires it), in each of its vector widths here. */
const native = nativeKernelModule() !== null;
const widths: NativeSimd[] = (['avx512', 'avx2', 'scalar'] as const).filter((w) => native && (w === 'scalar' || (w === 'avx2' ? nativeSimd() !== 'scalar' : nativeSimd() === 'avx512')));
const compiled: [KernelName, NativeSimd][] = [['wasm', 'avx512'], ...widths.map((w): [KernelName, NativeSimd] => ['native', w])];

describe('conv kernels', () => {
  it('has a WebAssembly SIMD kernel on this Node.js, and the native kernel where it was built', () => {
    expect(wasmKernelModule()).not.toBeNull();
    if (process.env.EVSPIKE_REQUIRE_NATIVE === '1' || existsSync(join(repoRoot, 'build', 'Release', 'evspike_kernel.node'))) expect(native).toBe(true);
    const g = randomGeometry(4, 3, 2, 3, () => 1, true, 1, 0);
    expect(createConvKernel(g).kernel).toBe(native ? 'native' : 'wasm');
    expect(createConvKernel(g, 'wasm').kernel).toBe('wasm');
    expect(createConvKernel(g, 'js').kernel).toBe('js');
  });

  it('takes the WebAssembly kernel for kernels of more taps than the native one records, and says so when native is asked for', () => {
    // one position, one map, every tap reached by its own source
    const oneMap = (tapsPerMap: number): ConvKernelGeometry => ({
      positions: 1,
      maps: 1,
      tapsPerMap,
      connectivity: { start: Int32Array.from({ length: tapsPerMap + 1 }, (_, i) => i), target: new Int32Array(tapsPerMap), payload: Int32Array.from({ length: tapsPerMap }, (_, i) => i) },
      roundToFloat32: true,
      threshold: 10,
      restV: 0,
    });
    const g = oneMap(NATIVE_MAX_TAPS + 1);
    expect(createConvKernel(g).kernel).toBe('wasm');
    if (native) expect(() => createConvKernel(g, 'native')).toThrow(/kernel of 32768 taps is more than the native kernel takes \(32767\)/);
    expect(createConvKernel(oneMap(NATIVE_MAX_TAPS)).kernel).toBe(native ? 'native' : 'wasm');
  });

  it('lets EVSPIKE_KERNEL choose what auto means, and names it when it is wrong', () => {
    const g = randomGeometry(4, 3, 2, 3, () => 1, true, 1, 0);
    const saved = process.env.EVSPIKE_KERNEL;
    try {
      for (const name of ['wasm', 'js'] as const) {
        process.env.EVSPIKE_KERNEL = name;
        expect(createConvKernel(g).kernel).toBe(name);
        // an explicit choice is not overridden
        expect(createConvKernel(g, 'js').kernel).toBe('js');
      }
      process.env.EVSPIKE_KERNEL = 'gpu';
      expect(() => createConvKernel(g)).toThrow(/EVSPIKE_KERNEL: expected one of "auto", "native", "wasm", "js", got "gpu"/);
    } finally {
      if (saved === undefined) delete process.env.EVSPIKE_KERNEL;
      else process.env.EVSPIKE_KERNEL = saved;
    }
  });

  it('fails the bin, writing nothing past a position, when a source arrives once too often', () => {
    // one position of two taps, both reached by source 0: its third spike in a sample is one too many
    const g: ConvKernelGeometry = {
      positions: 1,
      maps: 3,
      tapsPerMap: 2,
      connectivity: { start: Int32Array.of(0, 1), target: Int32Array.of(0), payload: Int32Array.of(0) },
      roundToFloat32: true,
      threshold: 100,
      restV: 0,
    };
    for (const [choice, simd] of [['js', 'scalar'], ...compiled] as const) {
      const k = createConvKernel(g, choice, simd);
      k.beginSample(1);
      k.sources[0] = 0;
      expect(k.step(1, 1)).toBe(0);
      expect(k.step(1, 2)).toBe(0);
      expect(k.step(1, 3)).toBe(-1);
      // the next sample starts afresh
      k.beginSample(2);
      expect(k.step(1, 4)).toBe(0);
    }
  });

  it('embeds the bytes its .wat source assembles to', async () => {
    const { assemble, moduleSource } = await import(join(repoRoot, 'scripts', 'build-wasm.mjs'));
    const wat = join(repoRoot, 'src', 'neurons', 'kernels', 'integrate.wat');
    const committed = readFileSync(join(repoRoot, 'src', 'neurons', 'kernels', 'integrate.wasm.ts'), 'utf8');
    expect(committed).toBe(moduleSource(wat, await assemble(wat)));
  });

  it('gives weight levels and candidate sums at their edges', () => {
    // (that the levels bound every weight and potential is a property in test/properties)
    const levels = boundLevels(49);
    expect(levels * 49).toBeLessThanOrEqual(0xffff);
    expect(weightLevel(1, 1, levels)).toBe(levels);
    expect(weightLevel(0, 1, levels)).toBe(0);
    expect(weightLevel(0.5, 0, levels)).toBe(0);
    // below the candidate sum, the weight it stands for cannot take v_rest past θ; at it, it could
    for (const [largest, restV, threshold, taps] of [
      [1, 0, 10, 49],
      [0.73, -0.5, 3.25, 9],
      [1, 0.25, 1, 1],
    ]) {
      const l = boundLevels(taps);
      const h = candidateLevelSum(largest, restV, threshold, l, l * taps);
      const bound = (sum: number): number => restV + (sum * largest) / l;
      expect(bound(h - 1)).toBeLessThan(threshold);
      expect(bound(h) * (1 + 2 ** -19)).toBeGreaterThanOrEqual(threshold);
    }
    expect(candidateLevelSum(1, 10, 10, 100, 1000)).toBe(0); // at rest already at θ: every map is a candidate
    expect(candidateLevelSum(0, 0, 10, 100, 1000)).toBe(1001); // no weight above 0: none ever is
  });

  it('integrates candidate maps, one or two at a time, with the bin rounding of the row pass', () => {
    // one position, three taps reached by three sources; maps 0-2 are candidates, map 3 is not
    const g = (round: boolean): ConvKernelGeometry => ({
      positions: 1,
      maps: 4,
      tapsPerMap: 3,
      connectivity: { start: Int32Array.of(0, 1, 2, 3), target: Int32Array.of(0, 0, 0), payload: Int32Array.of(0, 1, 2) },
      roundToFloat32: round,
      threshold: 1.5,
      restV: 0,
    });
    // one bin of all three taps: 1 − 2⁻²⁴ + 2⁻²⁵ + 0.75 is not a float32 (it rounds to 1.75),
    // so only the bin's single rounding gives the float32 answer
    const weights = [
      [1 - 2 ** -24, 2 ** -25, 0.75],
      [1 - 2 ** -24, 2 ** -25, 0.75],
      [1 - 2 ** -24, 0, 0.5], // a candidate (its bound reaches θ) that does not cross
      [0, 0, 0.5],
    ];
    for (const round of [true, false]) {
      const spikes = ([['js', 'scalar'], ...compiled] as const).map(([choice, simd]) => {
        const k = createConvKernel(g(round), choice, simd);
        const mp = k.mapsPadded;
        const levels = boundLevels(3);
        const candidateSum = candidateLevelSum(1, 0, 1.5, levels, 3 * levels);
        weights.forEach((row, map) =>
          row.forEach((w, tap) => {
            k.weights[tap * mp + map] = w;
            k.weightLevels[tap * mp + map] = weightLevel(w, 1, levels);
          }),
        );
        k.setCandidateSum(candidateSum);
        k.setMaxDeferred(deferrableTaps(1, 0, 1.5, 3));
        k.beginSample(1);
        k.sources.set([0, 1, 2]);
        expect(k.step(3, 1)).toBe(1);
        // the 3 candidates are integrated (a pair, then one): 9 additions, not the row's 12
        expect(k.counters[ADDITIONS]).toBe(9);
        return [k.spikeMap[0], k.potential[k.spikeMap[0]]];
      });
      // maps 0 and 1 tie: the higher one spikes
      for (const other of spikes.slice(1)) expect(other).toEqual(spikes[0]);
      expect(spikes[0]).toEqual([1, round ? 1.75 : 1 - 2 ** -24 + 2 ** -25 + 0.75]);
    }
  });

  it('finds a candidate in any map of a wide row: every lane of the level fold', () => {
    // one position, three taps; only map c has weights (1 each), so only it can cross θ = 1.5
    for (const maps of [30, 40, 72, 96, 100]) {
      const g: ConvKernelGeometry = {
        positions: 1,
        maps,
        tapsPerMap: 3,
        connectivity: { start: Int32Array.of(0, 1, 2, 3), target: Int32Array.of(0, 0, 0), payload: Int32Array.of(0, 1, 2) },
        roundToFloat32: true,
        threshold: 1.5,
        restV: 0,
      };
      for (const c of [0, 31, 32, 63, 64, 95, maps - 1].filter((m) => m < maps)) {
        for (const [choice, simd] of [['js', 'scalar'], ...compiled] as const) {
          const k = createConvKernel(g, choice, simd);
          const mp = k.mapsPadded;
          const levels = boundLevels(3);
          for (let tap = 0; tap < 3; tap++) {
            k.weights[tap * mp + c] = 1;
            k.weightLevels[tap * mp + c] = weightLevel(1, 1, levels);
          }
          k.setCandidateSum(candidateLevelSum(1, 0, 1.5, levels, 3 * levels));
          k.setMaxDeferred(deferrableTaps(1, 0, 1.5, 3));
          k.beginSample(1);
          k.sources.set([0, 1, 2]);
          expect([choice, simd, maps, c, k.step(3, 1), k.spikeMap[0], k.counters[ADDITIONS]]).toEqual([choice, simd, maps, c, 1, c, 3]);
        }
      }
    }
  });

  // A weight pool with exact ties, bounds and values whose float32 rounding matters.
  const weight = fc.oneof(
    fc.constantFrom(0, 1, 0.5, 0.25, 1 - 2 ** -24, 2 ** -25, 0.1, 0.7),
    fc.double({ min: 0, max: 1, noNaN: true }),
  );

  it(`gives bit-identical potentials, spikes and counts in ${native ? `native code (${widths.join(', ')}), ` : ''}WebAssembly and JavaScript, skipping or not`, () => {
    fc.assert(
      fc.property(
        // maps, odd and even, above and below 8, past the native kernel's 32 per step, and on
        // both sides of its three-register fold (rows of 40 to 96 maps)
        fc.oneof(fc.integer({ min: 1, max: 19 }), fc.integer({ min: 28, max: 104 })),
        fc.integer({ min: 1, max: 9 }), // taps per map
        fc.integer({ min: 1, max: 8 }), // positions
        fc.integer({ min: 1, max: 12 }), // source neurons
        fc.boolean(),
        fc.double({ min: 0, max: 4, noNaN: true }),
        fc.constantFrom(0, -0.5, 0.25),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.array(weight, { minLength: 200, maxLength: 200 }),
        (maps, tapsPerMap, positions, sources, round, threshold, restV, seed, pool) => {
          let s = seed;
          const next = (): number => {
            s = (Math.imul(s, 1103515245) + 12345) >>> 0;
            return s >>> 8;
          };
          const g = randomGeometry(positions, maps, tapsPerMap, sources, next, round, threshold, restV);
          const mp = paddedMaps(maps);
          const weights = Array.from({ length: tapsPerMap * maps }, () => Math.fround(pool[next() % pool.length]));
          // the level bounds in steps of the pool's largest weight, 1, as a conv layer sets them
          const levels = boundLevels(tapsPerMap);
          const load = (k: ConvKernel, w: number[]): void => {
            for (let t = 0; t < tapsPerMap; t++) {
              for (let c = 0; c < mp; c++) {
                k.weights[t * mp + c] = c < maps ? w[t * maps + c] : 0;
                k.weightLevels[t * mp + c] = weightLevel(k.weights[t * mp + c], 1, levels);
              }
            }
            k.setCandidateSum(candidateLevelSum(1, restV, threshold, levels, levels * tapsPerMap));
            k.forgetBounds();
          };
          // the reference: the JavaScript kernel integrating every bin; against it, every kernel
          // skipping what cannot cross (no weight of the pool exceeds 1) and deciding the rest by
          // its level bounds, and the compiled ones not skipping
          const kernels = [createConvKernel(g, 'js'), createConvKernel(g, 'js')];
          for (const [name, simd] of compiled) kernels.push(createConvKernel(g, name, simd), createConvKernel(g, name, simd));
          const deferrable = deferrableTaps(1, restV, threshold, tapsPerMap);
          // odd places skip
          kernels.forEach((k, i) => i % 2 === 1 && k.setMaxDeferred(deferrable));
          for (const k of kernels) load(k, weights);
          let bin = 0;
          for (let sample = 1; sample <= 3; sample++) {
            for (const k of kernels) k.beginSample(sample);
            const spikedMap = new Map<number, number>();
            const order = Array.from({ length: sources }, (_, i) => i).sort(() => (next() % 3) - 1);
            let at = 0;
            while (at < sources) {
              const n = Math.min(sources - at, 1 + (next() % 4));
              bin++;
              const spiked = kernels.map((k) => {
                k.sources.set(order.slice(at, at + n));
                return k.step(n, bin);
              });
              at += n;
              const spikes = kernels.map((k, i) => Array.from({ length: spiked[i] }, (_, j) => [k.spikePos[j], k.spikeMap[j]]));
              for (let i = 1; i < kernels.length; i++) expect(spikes[i]).toEqual(spikes[0]);
              for (const [pos, map] of spikes[0]) spikedMap.set(pos, map);
              // sometimes read a position's potentials, or change the weights as learning would
              if (next() % 3 === 0) {
                const pos = next() % positions;
                const touched = kernels.map((k) => k.settle(pos));
                for (let i = 1; i < kernels.length; i++) expect(touched[i]).toBe(touched[0]);
              }
              if (next() % 4 === 0) {
                for (const k of kernels) k.settleAll();
                const m = next() % maps;
                for (let t = 0; t < tapsPerMap; t++) weights[t * maps + m] = Math.fround(pool[next() % pool.length]);
                for (const k of kernels) load(k, weights);
              }
            }
            for (const k of kernels) k.settleAll();
            // every position in the same state (at rest, alive, spiked), every potential the same
            for (let pos = 0; pos < positions; pos++) {
              const state = kernels[0].settle(pos);
              for (let k = 1; k < kernels.length; k++) expect(kernels[k].settle(pos)).toBe(state);
            }
            // (of a spiked position, the potential of its spiking map when it spiked)
            for (let k = 1; k < kernels.length; k++) {
              for (let pos = 0; pos < positions; pos++) {
                const spiked = kernels[0].settle(pos) === SPIKED;
                for (let c = 0; c < mp; c++) {
                  if (spiked && c !== spikedMap.get(pos)) continue;
                  expect(Object.is(kernels[k].potential[pos * mp + c], kernels[0].potential[pos * mp + c])).toBe(true);
                }
              }
            }
            // the same synaptic work; the skipping kernels agree on what they integrated
            const counts = kernels.map((k) => Array.from(k.counters));
            for (let k = 1; k < kernels.length; k++) {
              expect(counts[k][APPLIED]).toBe(counts[0][APPLIED]);
              expect(counts[k][FANOUT]).toBe(counts[0][FANOUT]);
            }
            for (let k = 2; k < kernels.length; k++) expect(counts[k][ADDITIONS]).toBe(counts[k % 2][ADDITIONS]);
          }
        },
      ),
      { seed: 20261201, numRuns: 300 },
    );
  });
});
