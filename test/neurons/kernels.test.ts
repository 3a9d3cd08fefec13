import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocateConvBuffers, wasmKernelModule } from '../../src/neurons/kernels/integrate.js';
import { repoRoot } from '../helpers.js';

describe('conv integration kernels', () => {
  it('has a WebAssembly SIMD kernel on this Node.js', () => {
    expect(wasmKernelModule()).not.toBeNull();
    expect(allocateConvBuffers(4, 3, 2).kernel).toBe('wasm');
    expect(allocateConvBuffers(4, 3, 2, 'js').kernel).toBe('js');
  });

  it('embeds the bytes its .wat source assembles to', async () => {
    const { assemble, moduleSource } = await import(join(repoRoot, 'scripts', 'build-wasm.mjs'));
    const wat = join(repoRoot, 'src', 'neurons', 'kernels', 'integrate.wat');
    const committed = readFileSync(join(repoRoot, 'src', 'neurons', 'kernels', 'integrate.wasm.ts'), 'utf8');
    expect(committed).toBe(moduleSource(wat, await assemble(wat)));
  });

  // A weight pool with exact ties, bounds and values whose float32 rounding matters.
  const weight = fc.oneof(
    fc.constantFrom(0, 1, 0.5, 0.25, 1 - 2 ** -24, 2 ** -25, 0.1, 0.7),
    fc.double({ min: 0, max: 1, noNaN: true }),
  );

  it('gives bit-identical potentials and crossing maps in WebAssembly and JavaScript', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 19 }), // maps, odd and even, above and below 8
        fc.integer({ min: 1, max: 6 }), // taps per map
        fc.integer({ min: 1, max: 6 }), // positions
        fc.boolean(),
        fc.double({ min: 0, max: 3, noNaN: true }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.array(weight, { minLength: 200, maxLength: 200 }),
        (maps, tapsPerMap, positions, round, threshold, seed, pool) => {
          const js = allocateConvBuffers(positions, maps, tapsPerMap, 'js');
          const wasm = allocateConvBuffers(positions, maps, tapsPerMap, 'wasm');
          let s = seed;
          const next = (): number => {
            s = (Math.imul(s, 1103515245) + 12345) >>> 0;
            return s;
          };
          const fill = (b: typeof js): void => {
            s = seed;
            for (let i = 0; i < b.weights.length; i++) b.weights[i] = Math.fround(pool[next() % pool.length]);
            for (let i = 0; i < b.potential.length; i++) b.potential[i] = (next() % 5) * 0.5 - 0.5;
            for (let p = 0; p < positions; p++) {
              b.touched[p] = positions - 1 - p;
              const n = 1 + (next() % tapsPerMap);
              b.tapCount[p] = n;
              for (let j = 0; j < n; j++) b.taps[p * tapsPerMap + j] = (next() % tapsPerMap) * maps;
            }
          };
          fill(js);
          fill(wasm);
          js.integrate(positions, maps, tapsPerMap, round, threshold);
          wasm.integrate(positions, maps, tapsPerMap, round, threshold);
          expect(Array.from(wasm.best.subarray(0, positions))).toEqual(Array.from(js.best.subarray(0, positions)));
          for (let i = 0; i < js.potential.length; i++) expect(Object.is(wasm.potential[i], js.potential[i])).toBe(true);
        },
      ),
      { seed: 20261201, numRuns: 300 },
    );
  });
});
