/**
 * A small typed description of a trained network, the one thing every exporter reads and
 * every model file gives back (the NIR habit: one plain node per layer kind, in order, each
 * kind defining its node in the registry of layer kinds). It is built from the network and the
 * learned weights, not from the simulator's internals, and it holds everything needed to
 * build the same network again: {@link engineFromDescription}.
 */
import { ModelFileError } from '../errors.js';
import { Engine, type EngineOptions } from '../events/engine.js';
import { kindOf, kindOfNode, type LayerNode } from '../neurons/kinds/index.js';
import { resolveNetwork, type LayerOptions, type ResolvedHiddenLayer, type ResolvedNetwork } from '../neurons/network.js';
import { neuronCount } from '../neurons/shape.js';

export type { LayerNode } from '../neurons/kinds/index.js';
export type { SsifConvNode } from '../neurons/kinds/conv.js';
export type { SingleSpikePoolNode } from '../neurons/kinds/pool.js';

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
  readonly resetV: number;
  /** Input image height and width (one channel). */
  readonly height: number;
  readonly width: number;
  readonly layers: readonly LayerNode[];
  readonly readout: LinearReadoutNode;
}

/** Describe a network with the weights of its layers with weights (network order) and its readout. */
export function describeModel(net: ResolvedNetwork, weights: readonly ArrayLike<number>[], readout: Omit<LinearReadoutNode, 'kind'>): ModelDescription {
  let wi = 0;
  const layers = (net.layers.slice(1) as ResolvedHiddenLayer[]).map((l) => {
    const kind = kindOf(l);
    const w = kind.weightCount(l) > 0 ? weights[wi++] : undefined;
    return kind.describe(l, w === undefined ? undefined : Float64Array.from(w)) as LayerNode;
  });
  const last = net.layers[net.layers.length - 1].outShape;
  const features = neuronCount(last);
  if (readout.features !== features) throw new ModelFileError('readout.features', readout.features, `the ${features} outputs of the network`);
  if (readout.weights.length !== readout.classes.length * (features + 1)) {
    throw new ModelFileError('readout.weights', readout.weights.length, `${readout.classes.length} classes × ${features + 1} weights`);
  }
  const input = net.layers[0].outShape;
  return {
    timeBins: net.timeBins,
    restV: net.restV,
    resetV: net.resetV,
    height: input.height,
    width: input.width,
    layers,
    readout: { kind: 'linear-readout', classes: [...readout.classes], features, weights: Float64Array.from(readout.weights) },
  };
}

/** The network a description describes (resolved again, so it is checked like any options). */
export function descriptionNetwork(desc: ModelDescription): ResolvedNetwork {
  const layers = desc.layers.map((node, i) => {
    const kind = kindOfNode(node.kind);
    if (kind === undefined) throw new ModelFileError(`layers[${i}].kind`, node.kind, 'a known node kind');
    return kind.fromNode(node) as LayerOptions;
  });
  try {
    return resolveNetwork({ timeBins: desc.timeBins, inputHeight: desc.height, inputWidth: desc.width, restV: desc.restV, resetV: desc.resetV, layers });
  } catch (e) {
    throw new ModelFileError('description', (e as Error).message, 'a valid network');
  }
}

/** The weights of the description's layers with weights, in order. */
export function descriptionWeights(desc: ModelDescription): Float64Array[] {
  return desc.layers.flatMap((node) => ('weights' in node ? [node.weights] : []));
}

/** An engine that simulates the described network with its weights. */
export function engineFromDescription(desc: ModelDescription, options: Omit<EngineOptions, 'weights' | 'random'> = {}): Engine {
  return new Engine(descriptionNetwork(desc), { ...options, weights: descriptionWeights(desc) });
}
