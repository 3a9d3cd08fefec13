/**
 * The conv layer's hot kernel: integrating one bin's input into the potentials of the touched
 * positions and finding each position's crossing map.
 *
 * Two implementations of one definition: {@link integratePosition}, plain JavaScript, is the
 * reference (and the fallback where WebAssembly SIMD is missing); the WebAssembly SIMD kernel in
 * `integrate.wat` does two maps per instruction. Both are bit-identical, which
 * test/neurons/kernels.test.ts checks on random inputs. The state they work on is allocated by
 * {@link allocateConvBuffers}, inside the WebAssembly memory when that kernel is used.
 */
import { KernelUnavailableError } from '../../errors.js';
import { WASM_BASE64 } from './integrate.wasm.js';

/**
 * Integrate one position's input of one bin into its potentials and find the crossing map:
 * for every map c, `V[c] += round(Σ_j weights[taps[j] + c])` over j ∈ [tapStart, tapEnd) in
 * that order (float64 sum; `round` is Math.fround in float32 mode), then the map with the
 * largest V above `threshold` (ties to the higher map).
 *
 * Four maps are summed side by side: each map's sum keeps its own order, so the result is
 * exactly the definition, and the four independent additions do not wait on each other.
 *
 * @returns the crossing map, or −1
 */
export function integratePosition(
  potential: Float64Array,
  base: number,
  weights: Float64Array,
  taps: Int32Array,
  tapStart: number,
  tapEnd: number,
  maps: number,
  roundToFloat32: boolean,
  threshold: number,
): number {
  let best = -1;
  let bestV = -Infinity;
  let c = 0;
  for (; c + 3 < maps; c += 4) {
    let x0 = 0;
    let x1 = 0;
    let x2 = 0;
    let x3 = 0;
    for (let j = tapStart; j < tapEnd; j++) {
      const t = taps[j] + c;
      x0 += weights[t];
      x1 += weights[t + 1];
      x2 += weights[t + 2];
      x3 += weights[t + 3];
    }
    if (roundToFloat32) {
      x0 = Math.fround(x0);
      x1 = Math.fround(x1);
      x2 = Math.fround(x2);
      x3 = Math.fround(x3);
    }
    const b = base + c;
    const v0 = potential[b] + x0;
    const v1 = potential[b + 1] + x1;
    const v2 = potential[b + 2] + x2;
    const v3 = potential[b + 3] + x3;
    potential[b] = v0;
    potential[b + 1] = v1;
    potential[b + 2] = v2;
    potential[b + 3] = v3;
    if (v0 > threshold || v1 > threshold || v2 > threshold || v3 > threshold) {
      if (v0 > threshold && v0 >= bestV) {
        bestV = v0;
        best = c;
      }
      if (v1 > threshold && v1 >= bestV) {
        bestV = v1;
        best = c + 1;
      }
      if (v2 > threshold && v2 >= bestV) {
        bestV = v2;
        best = c + 2;
      }
      if (v3 > threshold && v3 >= bestV) {
        bestV = v3;
        best = c + 3;
      }
    }
  }
  for (; c < maps; c++) {
    let x = 0;
    for (let j = tapStart; j < tapEnd; j++) x += weights[taps[j] + c];
    const v = potential[base + c] + (roundToFloat32 ? Math.fround(x) : x);
    potential[base + c] = v;
    if (v > threshold && v >= bestV) {
      bestV = v;
      best = c;
    }
  }
  return best;
}

/** Which implementation of the kernel to use. `auto`: WebAssembly SIMD where available. */
export type KernelChoice = 'auto' | 'wasm' | 'js';

/** The typed arrays a conv layer integrates with (see integrate.wat for the layouts). */
export interface ConvBuffers {
  readonly kernel: 'wasm' | 'js';
  readonly potential: Float64Array;
  readonly weights: Float64Array;
  readonly taps: Int32Array;
  readonly tapCount: Int32Array;
  readonly touched: Int32Array;
  readonly best: Int32Array;
  /**
   * Integrate the first `count` positions of `touched`; writes each one's crossing map (or −1)
   * to `best`.
   */
  integrate(count: number, maps: number, tapsPerMap: number, roundToFloat32: boolean, threshold: number): void;
}

let wasmModule: WebAssembly.Module | null | undefined;

/** The compiled SIMD kernel, or null where this JavaScript engine cannot run it. */
export function wasmKernelModule(): WebAssembly.Module | null {
  if (wasmModule === undefined) {
    try {
      wasmModule = new WebAssembly.Module(Buffer.from(WASM_BASE64, 'base64'));
    } catch {
      wasmModule = null;
    }
  }
  return wasmModule;
}

function jsIntegrator(b: Omit<ConvBuffers, 'integrate' | 'kernel'>): ConvBuffers['integrate'] {
  return (count, maps, tapsPerMap, roundToFloat32, threshold) => {
    for (let i = 0; i < count; i++) {
      const pos = b.touched[i];
      const tapStart = pos * tapsPerMap;
      b.best[i] = integratePosition(
        b.potential,
        pos * maps,
        b.weights,
        b.taps,
        tapStart,
        tapStart + b.tapCount[pos],
        maps,
        roundToFloat32,
        threshold,
      );
    }
  };
}

/**
 * Allocate the buffers of a conv layer with `positions` positions, `maps` maps and
 * `tapsPerMap` weights per map.
 */
export function allocateConvBuffers(positions: number, maps: number, tapsPerMap: number, choice: KernelChoice = 'auto'): ConvBuffers {
  const sizes = [positions * maps * 8, tapsPerMap * maps * 8, positions * tapsPerMap * 4, positions * 4, positions * 4, positions * 4];
  const module = choice === 'js' ? null : wasmKernelModule();
  if (choice === 'wasm' && module === null) throw new KernelUnavailableError('wasm', 'this JavaScript engine cannot run WebAssembly SIMD');
  // Each region starts on a 16-byte boundary.
  const offsets: number[] = [];
  let total = 0;
  for (const size of sizes) {
    offsets.push(total);
    total += Math.ceil(size / 16) * 16;
  }
  let buffer: ArrayBuffer;
  let instance: WebAssembly.Instance | undefined;
  if (module !== null) {
    const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(total / 65536)) });
    instance = new WebAssembly.Instance(module, { env: { memory } });
    buffer = memory.buffer;
  } else {
    buffer = new ArrayBuffer(total);
  }
  const arrays = {
    potential: new Float64Array(buffer, offsets[0], positions * maps),
    weights: new Float64Array(buffer, offsets[1], tapsPerMap * maps),
    taps: new Int32Array(buffer, offsets[2], positions * tapsPerMap),
    tapCount: new Int32Array(buffer, offsets[3], positions),
    touched: new Int32Array(buffer, offsets[4], positions),
    best: new Int32Array(buffer, offsets[5], positions),
  };
  if (instance === undefined) return { kernel: 'js', ...arrays, integrate: jsIntegrator(arrays) };
  const run = instance.exports.integrate as (...args: number[]) => void;
  return {
    kernel: 'wasm',
    ...arrays,
    integrate: (count, maps, tapsPerMap, roundToFloat32, threshold) =>
      run(offsets[0], offsets[1], offsets[2], offsets[3], offsets[4], offsets[5], tapsPerMap, count, maps, roundToFloat32 ? 1 : 0, threshold),
  };
}
