/** The pool layer in the dense clock-driven reference (SPEC §5): a sweep of every window, every bin. */
import type { DenseKernel } from '../neurons/kinds/kind.js';
import type { ResolvedPoolLayer } from '../neurons/kinds/pool.js';

export interface DensePoolState {
  readonly spec: ResolvedPoolLayer;
  readonly restV: number;
  readonly resetV: number;
}

export const DENSE_POOL: DenseKernel<ResolvedPoolLayer, DensePoolState> = {
  start: (spec, _weights, restV, resetV) => ({ spec, restV, resetV }),

  // single-spike max pooling: fire in the first bin any neuron of the window fires
  step({ spec }, t, { inTimes, outTimes }) {
    const { channels: C, height: H, width: W } = spec.outShape;
    const { height: Hin, width: Win } = spec.inShape;
    for (let c = 0; c < C; c++) {
      for (let py = 0; py < H; py++) {
        for (let px = 0; px < W; px++) {
          const n = (c * H + py) * W + px;
          if (outTimes[n] >= 0) continue;
          let fire = false;
          for (let dy = 0; dy < spec.kernelSize && !fire; dy++) {
            for (let dx = 0; dx < spec.kernelSize && !fire; dx++) {
              const y = py * spec.stride + dy - spec.padding;
              const x = px * spec.stride + dx - spec.padding;
              if (y < 0 || y >= Hin || x < 0 || x >= Win) continue;
              if (inTimes[(c * Hin + y) * Win + x] === t) fire = true;
            }
          }
          if (fire) outTimes[n] = t;
        }
      }
    }
    return 0;
  },

  // v_rest before its spike, v_reset from it on
  potential: ({ restV, resetV }, i, t, outTimes) => (outTimes[i] >= 0 && outTimes[i] <= t ? resetV : restV),
};
