/** fast-check arbitraries for small random networks and their inputs. */
import fc from 'fast-check';
import { rankOrderEncode } from '../src/neurons/encoder.js';
import { resolveNetwork, type LayerOptions, type ResolvedNetwork } from '../src/neurons/network.js';

/** Rank-order encode an image (SPEC §2). */
function encode(image: Uint8Array, timeBins: number): Int32Array {
  const out = new Int32Array(image.length);
  rankOrderEncode(image, timeBins, out);
  return out;
}

export interface NetworkCase {
  net: ResolvedNetwork;
  /** A seed for anything else the property draws. */
  seed: number;
  /** Weights of each conv layer. */
  weights: Float64Array[];
  /** Input spike bins, −1 for none. */
  inputs: Int32Array[];
}

/** Weights with exact ties, values at the bounds and arbitrary values. */
export const weightValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, 1, 0.5, 0.25, 0.75, 0.9) },
  { weight: 2, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
);

const convLayer = fc.record({
  maps: fc.integer({ min: 1, max: 5 }),
  kernelSize: fc.integer({ min: 1, max: 4 }),
  stride: fc.integer({ min: 1, max: 2 }),
  padRatio: fc.double({ min: 0, max: 0.99, noNaN: true }),
  thresholdV: fc.oneof(fc.constantFrom(0.5, 1, 1.5, 2), fc.double({ min: 0.1, max: 4, noNaN: true })),
  winners: fc.integer({ min: 0, max: 4 }),
  inhibitionRadius: fc.integer({ min: 0, max: 3 }),
  precision: fc.constantFrom('float32' as const, 'float64' as const),
  learning: fc.oneof(
    fc.record({ rule: fc.constant('vdsp' as const), learningRate: fc.constantFrom(0.01, 0.1, 0.5), learningRateInterval: fc.integer({ min: 1, max: 5 }) }),
    fc.record({
      rule: fc.constant('stdp' as const),
      potentiationRate: fc.constantFrom(0.004, 0.05, 0.3),
      depressionRate: fc.constantFrom(-0.003, -0.05, -0.4),
      rateInterval: fc.integer({ min: 1, max: 5 }),
    }),
  ),
});
const poolLayer = fc.record({ kernelSize: fc.integer({ min: 1, max: 3 }), stride: fc.integer({ min: 1, max: 3 }), padding: fc.integer({ min: 0, max: 2 }) });

type ConvDraw = typeof convLayer extends fc.Arbitrary<infer T> ? T : never;
type PoolDraw = typeof poolLayer extends fc.Arbitrary<infer T> ? T : never;

/** Output side of a kernel or window (as the network resolver computes it). */
const outSide = (side: number, kernel: number, stride: number, padding: number): number => Math.floor((side + 2 * padding - kernel) / stride) + 1;

/**
 * The layers of the drawn pairs, each kernel and window shrunk to fit what reaches it: a conv
 * kernel at most the smaller side of its input, a pool window at most the smaller side of the
 * conv output plus its padding. Every drawn network is then valid as drawn, with no fallback.
 */
export function fittedLayers(height: number, width: number, pairs: readonly (readonly [ConvDraw, PoolDraw])[]): LayerOptions[] {
  const layers: LayerOptions[] = [];
  let h = height;
  let w = width;
  for (const [c, p] of pairs) {
    const kernelSize = Math.min(c.kernelSize, h, w);
    const padding = Math.floor(c.padRatio * kernelSize);
    layers.push({ kind: 'conv', maps: c.maps, kernelSize, stride: c.stride, padding, thresholdV: c.thresholdV, winners: c.winners, inhibitionRadius: c.inhibitionRadius, precision: c.precision, learning: c.learning });
    h = outSide(h, kernelSize, c.stride, padding);
    w = outSide(w, kernelSize, c.stride, padding);
    const poolPadding = Math.min(p.padding, p.kernelSize - 1);
    const window = Math.max(1, Math.min(p.kernelSize, h + 2 * poolPadding, w + 2 * poolPadding));
    const fittedPadding = Math.min(poolPadding, window - 1);
    layers.push({ kind: 'pool', kernelSize: window, stride: p.stride, padding: fittedPadding });
    h = outSide(h, window, p.stride, fittedPadding);
    w = outSide(w, window, p.stride, fittedPadding);
  }
  return layers;
}

/** The fields of {@link networkCase}'s draw, before the network is built (for checks of the draw itself). */
export const networkDraw = fc.record({
  height: fc.integer({ min: 3, max: 9 }),
  width: fc.integer({ min: 3, max: 9 }),
  pairs: fc.array(fc.tuple(convLayer, poolLayer), { minLength: 1, maxLength: 2 }),
});

/** A network of one or two conv → pool pairs on a small input, with weights and a few inputs. */
export const networkCase: fc.Arbitrary<NetworkCase> = fc
  .record({
    height: fc.integer({ min: 3, max: 9 }),
    width: fc.integer({ min: 3, max: 9 }),
    timeBins: fc.integer({ min: 1, max: 6 }),
    pairs: fc.array(fc.tuple(convLayer, poolLayer), { minLength: 1, maxLength: 2 }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    inputKind: fc.constantFrom('random', 'empty', 'single', 'saturated', 'image', 'image-single', 'image-saturated'),
  })
  .chain((r) => {
    const net = resolveNetwork({ timeBins: r.timeBins, inputHeight: r.height, inputWidth: r.width, layers: fittedLayers(r.height, r.width, r.pairs) });
    const convs = net.layers.filter((l) => l.kind === 'conv');
    const pixels = r.height * r.width;
    const spikeBin = fc.integer({ min: -1, max: r.timeBins - 1 });
    const input: fc.Arbitrary<Int32Array> =
      r.inputKind === 'empty'
        ? fc.constant(new Int32Array(pixels).fill(-1))
        : r.inputKind === 'single'
          ? fc.tuple(fc.nat(pixels - 1), fc.nat(r.timeBins - 1)).map(([i, t]) => {
              const a = new Int32Array(pixels).fill(-1);
              a[i] = t;
              return a;
            })
          : r.inputKind === 'saturated'
            ? fc.nat(r.timeBins - 1).map((t) => new Int32Array(pixels).fill(t))
            : r.inputKind === 'image'
              ? fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 255 }), fc.constant(255)), { minLength: pixels, maxLength: pixels }).map((a) => encode(Uint8Array.from(a), r.timeBins))
              : r.inputKind === 'image-single'
                ? fc.tuple(fc.nat(pixels - 1), fc.integer({ min: 1, max: 255 })).map(([i, v]) => {
                    const img = new Uint8Array(pixels);
                    img[i] = v;
                    return encode(img, r.timeBins);
                  })
                : r.inputKind === 'image-saturated'
                  ? fc.constant(encode(new Uint8Array(pixels).fill(255), r.timeBins))
                  : fc.array(spikeBin, { minLength: pixels, maxLength: pixels }).map((a) => Int32Array.from(a));
    return fc.record({
      net: fc.constant(net),
      seed: fc.constant(r.seed),
      weights: fc.tuple(
        ...convs.map((c) => {
          const n = c.kind === 'conv' ? c.maps * c.inShape.channels * c.kernelSize * c.kernelSize : 0;
          return fc.array(weightValue, { minLength: n, maxLength: n }).map((a) => Float64Array.from(a));
        }),
      ),
      inputs: fc.array(input, { minLength: 1, maxLength: 3 }),
    });
  });
