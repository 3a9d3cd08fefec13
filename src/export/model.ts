/**
 * A small typed description of a trained network, the one thing every exporter reads (the
 * NIR habit: one plain node per layer kind, in order). It is built from the network
 * description and the learned weights, not from the simulator's internals.
 */
import { EvspikeError } from '../errors.js';
import type { ResolvedNetwork } from '../neurons/network.js';
import type { Checkpoint } from '../pipeline/checkpoint.js';

/** Single-spike integrate-and-fire convolution with per-position lateral inhibition (SPEC §3). */
export interface SsifConvNode {
  readonly kind: 'ssif-conv';
  readonly maps: number;
  readonly inChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly thresholdV: number;
  readonly precision: 'float32' | 'float64';
  /** maps × inChannels × k × k, float64. */
  readonly weights: Float64Array;
  readonly inShape: readonly [number, number, number];
  readonly outShape: readonly [number, number, number];
}

/** Single-spike max pooling per map (SPEC §5). */
export interface SingleSpikePoolNode {
  readonly kind: 'single-spike-pool';
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly inShape: readonly [number, number, number];
  readonly outShape: readonly [number, number, number];
}

export type LayerNode = SsifConvNode | SingleSpikePoolNode;

/** One-vs-rest linear readout: score_c = b_c + Σ_j w_cj x_j, label = arg-max (first on ties). */
export interface LinearReadoutNode {
  readonly kind: 'linear-readout';
  readonly classes: readonly number[];
  readonly features: number;
  /** classes × (features + 1): each class's weights, then its bias. */
  readonly weights: Float64Array;
}

export interface ModelDescription {
  readonly timeBins: number;
  readonly restV: number;
  /** Input image height and width (one channel). */
  readonly height: number;
  readonly width: number;
  readonly layers: readonly LayerNode[];
  readonly readout: LinearReadoutNode;
}

const shapeOf = (s: { channels: number; height: number; width: number }): [number, number, number] => [s.channels, s.height, s.width];

/** Describe a network with its conv weights (network order) and its readout. */
export function describeModel(net: ResolvedNetwork, convWeights: readonly ArrayLike<number>[], readout: Omit<LinearReadoutNode, 'kind'>): ModelDescription {
  const layers: LayerNode[] = [];
  let ci = 0;
  for (const l of net.layers.slice(1)) {
    if (l.kind === 'conv') {
      const w = convWeights[ci++];
      const n = l.maps * l.inShape.channels * l.kernelSize * l.kernelSize;
      if (w === undefined || w.length !== n) throw new EvspikeError(`conv layer ${l.index}: ${w?.length ?? 0} weights, expected ${n}`);
      layers.push({
        kind: 'ssif-conv',
        maps: l.maps,
        inChannels: l.inShape.channels,
        kernelSize: l.kernelSize,
        stride: l.stride,
        padding: l.padding,
        thresholdV: l.thresholdV,
        precision: l.precision,
        weights: Float64Array.from(w),
        inShape: shapeOf(l.inShape),
        outShape: shapeOf(l.outShape),
      });
    } else if (l.kind === 'pool') {
      layers.push({ kind: 'single-spike-pool', kernelSize: l.kernelSize, stride: l.stride, padding: l.padding, inShape: shapeOf(l.inShape), outShape: shapeOf(l.outShape) });
    }
  }
  const last = net.layers[net.layers.length - 1].outShape;
  const features = last.channels * last.height * last.width;
  if (readout.features !== features) throw new EvspikeError(`readout of ${readout.features} features for a network with ${features} outputs`);
  if (readout.weights.length !== readout.classes.length * (features + 1)) {
    throw new EvspikeError(`readout has ${readout.weights.length} weights for ${readout.classes.length} classes of ${features} features`);
  }
  const input = net.layers[0].outShape;
  return {
    timeBins: net.timeBins,
    restV: net.restV,
    height: input.height,
    width: input.width,
    layers,
    readout: { kind: 'linear-readout', classes: [...readout.classes], features, weights: Float64Array.from(readout.weights) },
  };
}

/** Describe the trained network of a complete checkpoint. */
export function describeCheckpoint(cp: Checkpoint): ModelDescription {
  const r = cp.payload.readout;
  if (r === undefined || cp.payload.phase !== 'complete') {
    throw new EvspikeError(`${cp.dir}: the checkpoint has no readout yet (phase ${cp.payload.phase}); finish it with run --resume ${cp.dir}`);
  }
  return describeModel(
    cp.scenario.network,
    cp.payload.layers.map((l) => l.weights),
    { classes: r.classes, features: r.features, weights: Float64Array.from(r.weights) },
  );
}
