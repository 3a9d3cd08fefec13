/**
 * A dense, clock-driven reference of the whole model (SPEC §2-§5), written for obviousness,
 * not speed: every bin, every layer sweeps every neuron. It shares nothing with the
 * event-driven engine but the pure rules (the VDSP weight update, the learning-rate schedule,
 * the input potential), so it serves as the oracle of the model-based tests and as the
 * clock-driven baseline of the benchmark.
 */
import { InputPotential } from '../neurons/encoder.js';
import type { ResolvedConvLayer, ResolvedNetwork, ResolvedPoolLayer } from '../neurons/network.js';
import { neuronCount } from '../neurons/network.js';
import { nextLearningRate, vdspWeight } from '../plasticity/vdsp.js';

/** Result of one sample in the dense reference. */
export interface DenseSample {
  /** Per layer (network order, input first), spike bin of every neuron or −1. */
  spikeTimes: Int32Array[];
  /** Winners of the learning layer as [bin, map, y, x], in the order VDSP was applied. */
  winners: [number, number, number, number][];
  /** Dense multiply-accumulates actually performed by the conv sweeps. */
  macs: number;
}

export interface DenseLearning {
  /** Index of the conv layer that learns. */
  layer: number;
  learningRate: number;
  applications: number;
}

/**
 * Run one sample through the dense reference.
 * @param weights weights of each conv layer in network order; the learning layer's are updated in place
 * @param inputTimes spike bin of each input pixel, −1 for none
 * @param learning the learning layer and its state (updated in place), or undefined
 */
export function denseSample(
  net: ResolvedNetwork,
  weights: Float64Array[],
  inputTimes: ArrayLike<number>,
  learning?: DenseLearning,
  lastLayer = net.layers.length - 1,
): DenseSample {
  const T = net.timeBins;
  const { restV, resetV } = net;
  const inputPotential = new InputPotential(T, restV, resetV);
  const spikeTimes: Int32Array[] = [Int32Array.from(inputTimes)];
  const winners: DenseSample['winners'] = [];
  let macs = 0;
  // State per layer.
  interface ConvState {
    spec: ResolvedConvLayer;
    w: Float64Array;
    v: Float64Array;
    active: Uint8Array;
    allowed: Uint8Array;
  }
  const states: (ConvState | ResolvedPoolLayer)[] = [];
  let convIndex = 0;
  for (let li = 1; li <= lastLayer; li++) {
    const spec = net.layers[li];
    const n = neuronCount(spec.outShape);
    spikeTimes.push(new Int32Array(n).fill(-1));
    if (spec.kind === 'conv') {
      states.push({ spec, w: weights[convIndex++], v: new Float64Array(n).fill(restV), active: new Uint8Array(n).fill(1), allowed: new Uint8Array(n).fill(1) });
    } else if (spec.kind === 'pool') {
      states.push(spec);
    }
  }

  /** Potential of neuron i of layer li at the end of bin t, as VDSP reads it. */
  const presynapticPotential = (li: number, i: number, t: number): number => {
    const st = spikeTimes[li][i];
    if (li === 0) return inputPotential.at(st, t);
    // pool layers: v_rest before their spike, v_reset from it on
    return st >= 0 && st <= t ? resetV : restV;
  };

  for (let t = 0; t < T; t++) {
    for (let li = 1; li <= lastLayer; li++) {
      const state = states[li - 1];
      const inTimes = spikeTimes[li - 1];
      const outTimes = spikeTimes[li];
      if ('w' in state) {
        const { spec, w, v, active, allowed } = state;
        const { channels: C, height: H, width: W } = spec.outShape;
        const { channels: Cin, height: Hin, width: Win } = spec.inShape;
        const k = spec.kernelSize;
        const taps = Cin * k * k;
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
        // 3. winners and VDSP, reading the potentials before reset
        if (learning !== undefined && learning.layer === li && spiking.length > 0) {
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
            const rule = { ...spec, restV };
            for (let ci = 0; ci < Cin; ci++) {
              for (let dy = 0; dy < k; dy++) {
                for (let dx = 0; dx < k; dx++) {
                  const iy = by * spec.stride + dy - spec.padding;
                  const ix = bx * spec.stride + dx - spec.padding;
                  const p = iy < 0 || iy >= Hin || ix < 0 || ix >= Win ? restV : presynapticPotential(li - 1, (ci * Hin + iy) * Win + ix, t);
                  const wi = bc * taps + (ci * k + dy) * k + dx;
                  w[wi] = vdspWeight(w[wi], p, learning.learningRate, rule);
                }
              }
            }
            learning.applications++;
            learning.learningRate = nextLearningRate(learning.learningRate, learning.applications, spec);
          }
        }
        // 4. reset the spiking neurons
        for (const n of spiking) {
          v[n] = resetV;
          outTimes[n] = t;
        }
      } else {
        // single-spike max pooling: fire in the first bin any neuron of the window fires
        const spec = state;
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
      }
    }
  }
  return { spikeTimes, winners, macs };
}
