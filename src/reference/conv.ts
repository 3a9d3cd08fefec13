/**
 * The conv layer in the dense clock-driven reference (SPEC §3-§4): every bin, every neuron of
 * every map sums its whole kernel; per position the crossing map with the largest potential
 * spikes and inhibits the others; when the layer learns, winners are picked by repeated
 * arg-max and the layer's learning rule (the same rule objects as the event-driven layer's)
 * updates their kernels. Written for obviousness, not speed.
 */
import type { ResolvedConvLayer } from '../neurons/kinds/conv.js';
import type { DenseKernel } from '../neurons/kinds/kind.js';

export interface DenseConvState {
  readonly spec: ResolvedConvLayer;
  readonly w: Float64Array;
  readonly v: Float64Array;
  readonly active: Uint8Array;
  readonly allowed: Uint8Array;
  readonly restV: number;
  readonly resetV: number;
}

export const DENSE_CONV: DenseKernel<ResolvedConvLayer, DenseConvState> = {
  start(spec, weights, restV, resetV) {
    if (weights === undefined) throw new RangeError(`conv layer ${spec.index}: no weights`);
    const n = spec.outShape.channels * spec.outShape.height * spec.outShape.width;
    return { spec, w: weights, v: new Float64Array(n).fill(restV), active: new Uint8Array(n).fill(1), allowed: new Uint8Array(n).fill(1), restV, resetV };
  },

  step({ spec, w, v, active, allowed, restV, resetV }, t, { inTimes, outTimes, presynapticV, rule, winners }) {
    const { channels: C, height: H, width: W } = spec.outShape;
    const { channels: Cin, height: Hin, width: Win } = spec.inShape;
    const k = spec.kernelSize;
    const taps = Cin * k * k;
    let macs = 0;
    // 1. integrate this bin's input spikes into every active neuron
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const n = (c * H + y) * W + x;
          let sum = 0;
          for (let ci = 0; ci < Cin; ci++) {
            for (let dy = 0; dy < k; dy++) {
              for (let dx = 0; dx < k; dx++) {
                macs++;
                const iy = y * spec.stride + dy - spec.padding;
                const ix = x * spec.stride + dx - spec.padding;
                if (iy < 0 || iy >= Hin || ix < 0 || ix >= Win) continue;
                if (inTimes[(ci * Hin + iy) * Win + ix] !== t) continue;
                const weight = w[c * taps + (ci * k + dy) * k + dx];
                sum += spec.precision === 'float32' ? Math.fround(weight) : weight;
              }
            }
          }
          if (active[n]) v[n] += spec.precision === 'float32' ? Math.fround(sum) : sum;
        }
      }
    }
    // 2. per position: the crossing map with the largest V spikes, all others are inhibited
    const spiking: number[] = [];
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let best = -1;
        for (let c = 0; c < C; c++) {
          const n = (c * H + y) * W + x;
          if (active[n] && v[n] > spec.thresholdV && (best < 0 || v[n] >= v[(best * H + y) * W + x])) best = c;
        }
        if (best < 0) continue;
        for (let c = 0; c < C; c++) {
          const n = (c * H + y) * W + x;
          active[n] = 0;
          if (c !== best) v[n] = restV;
        }
        spiking.push((best * H + y) * W + x);
      }
    }
    // 3. winners and the learning rule, reading the potentials before reset
    if (rule !== undefined && spiking.length > 0) {
      const presynaptic = new Float64Array(taps);
      let chosen = 0;
      while (chosen < spec.winners) {
        let best = -1;
        for (const n of spiking) {
          if (!allowed[n]) continue;
          if (best < 0 || v[n] > v[best] || (v[n] === v[best] && n < best)) best = n;
        }
        if (best < 0) break;
        chosen++;
        const bc = Math.floor(best / (H * W));
        const by = Math.floor((best % (H * W)) / W);
        const bx = best % W;
        winners.push([t, bc, by, bx]);
        for (let c = 0; c < C; c++) {
          for (let y = 0; y < H; y++) {
            for (let x = 0; x < W; x++) {
              const near = Math.abs(y - by) <= spec.inhibitionRadius && Math.abs(x - bx) <= spec.inhibitionRadius;
              if (c === bc || near) allowed[(c * H + y) * W + x] = 0;
            }
          }
        }
        for (let ci = 0; ci < Cin; ci++) {
          for (let dy = 0; dy < k; dy++) {
            for (let dx = 0; dx < k; dx++) {
              const iy = by * spec.stride + dy - spec.padding;
              const ix = bx * spec.stride + dx - spec.padding;
              presynaptic[(ci * k + dy) * k + dx] = iy < 0 || iy >= Hin || ix < 0 || ix >= Win ? restV : presynapticV((ci * Hin + iy) * Win + ix, t);
            }
          }
        }
        rule.apply(w, bc * taps, presynaptic);
      }
    }
    // 4. reset the spiking neurons
    for (const n of spiking) {
      v[n] = resetV;
      outTimes[n] = t;
    }
    return macs;
  },

  potential: (state, i) => state.v[i],
};
