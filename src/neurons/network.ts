/**
 * The typed description of a network: a plain list of layer specifications, configured as
 * data. The simulator is built from it, and exporters read it; nothing here simulates.
 *
 * The paper's network (Goupy et al. 2023) is input → conv → pool with the defaults below; a
 * second conv → pool pair is one more pair of entries in `layers`. What a layer kind takes and
 * what it may follow is its entry in the registry of layer kinds (`kinds/index.ts`).
 */
import { OptionError } from '../errors.js';
import { checkKeys, finiteNumber, integer, isPlainObject } from '../util/validate.js';
import { kindOf, LAYER_KINDS, type LayerOptions, type ResolvedHiddenLayer } from './kinds/index.js';
import type { ResolvedConvLayer } from './kinds/conv.js';
import type { Shape } from './shape.js';

export { CONV_DEFAULTS, type ConvLayerOptions, type Precision, type ResolvedConvLayer } from './kinds/conv.js';
export { POOL_DEFAULTS, type PoolLayerOptions, type ResolvedPoolLayer } from './kinds/pool.js';
export type { LayerOptions, ResolvedHiddenLayer } from './kinds/index.js';
export { neuronCount, type Shape } from './shape.js';

/** Options of a whole network. */
export interface NetworkOptions {
  /** Time bins T per sample. Default 15. */
  timeBins?: number;
  /** Input image height. Default 28. */
  inputHeight?: number;
  /** Input image width. Default 28. */
  inputWidth?: number;
  /** Resting potential v_rest of every layer. Default 0. */
  restV?: number;
  /** Reset potential v_reset after a spike, every layer. Default −1 (must be below `restV`). */
  resetV?: number;
  /** Layers after the input, in order. Default: the paper's conv (70 maps, 7×7) then pool (3×3/3). */
  layers?: LayerOptions[];
}

/**
 * The network-level defaults, in one place: the paper's 15 bins on 28×28 MNIST, rest 0,
 * reset −1, and its input → conv → pool layers (each with its kind's defaults).
 */
export const NETWORK_DEFAULTS: Readonly<Required<NetworkOptions>> = Object.freeze({
  timeBins: 15,
  inputHeight: 28,
  inputWidth: 28,
  restV: 0,
  resetV: -1,
  layers: [{ kind: 'conv' }, { kind: 'pool' }] as LayerOptions[],
});

export interface ResolvedInputLayer {
  readonly kind: 'input';
  readonly index: 0;
  readonly outShape: Shape;
}

export type ResolvedLayer = ResolvedInputLayer | ResolvedHiddenLayer;

/** A validated network: every option filled in, every shape computed. `layers[0]` is the input. */
export interface ResolvedNetwork {
  readonly timeBins: number;
  readonly restV: number;
  readonly resetV: number;
  readonly layers: readonly ResolvedLayer[];
}

const KIND_NAMES = Object.keys(LAYER_KINDS);

/**
 * Validate network options and fill in the defaults. Throws {@link OptionError} naming the
 * field (for example `layers[0].thresholdV`) and the value. Each layer must follow a layer of
 * a kind it reads (a conv layer reads the input or a pool layer; a pool layer reads a conv layer).
 */
export function resolveNetwork(options: NetworkOptions = {}): ResolvedNetwork {
  if (!isPlainObject(options)) throw new OptionError('network', options, 'an object');
  const raw = options as Record<string, unknown>;
  const d = NETWORK_DEFAULTS;
  checkKeys(raw, Object.keys(d), '');
  const timeBins = integer('timeBins', raw.timeBins, d.timeBins, { min: 1, max: 1_000_000 });
  const restV = finiteNumber('restV', raw.restV, d.restV);
  const resetV = finiteNumber('resetV', raw.resetV, d.resetV);
  if (!(resetV < restV)) throw new OptionError('resetV', resetV, `a value below restV (${restV}): VDSP tells a fired input by V < restV`);
  const input: ResolvedInputLayer = {
    kind: 'input',
    index: 0,
    outShape: {
      channels: 1,
      height: integer('inputHeight', raw.inputHeight, d.inputHeight, { min: 1, max: 4096 }),
      width: integer('inputWidth', raw.inputWidth, d.inputWidth, { min: 1, max: 4096 }),
    },
  };
  const layerList = raw.layers === undefined ? d.layers : raw.layers;
  if (!Array.isArray(layerList) || layerList.length === 0) {
    throw new OptionError('layers', layerList, 'a non-empty array of layer options');
  }
  const layers: ResolvedLayer[] = [input];
  layerList.forEach((entry: unknown, i: number) => {
    const path = `layers[${i}]`;
    if (!isPlainObject(entry)) throw new OptionError(path, entry, 'an object with a "kind"');
    if (typeof entry.kind !== 'string' || !KIND_NAMES.includes(entry.kind)) {
      throw new OptionError(`${path}.kind`, entry.kind, KIND_NAMES.map((k) => JSON.stringify(k)).join(' or '));
    }
    const kind = kindOf(entry as { kind: string });
    const previous = layers[layers.length - 1];
    if (!kind.reads.includes(previous.kind)) {
      throw new OptionError(`${path}.kind`, entry.kind, `a layer after ${kind.reads.map((r) => (r === 'input' ? 'the input' : `a ${r} layer`)).join(' or ')} (it follows ${previous.kind === 'input' ? 'the input' : `a ${previous.kind} layer`})`);
    }
    layers.push(kind.resolve(entry, { path, index: i + 1, inShape: previous.outShape, restV }) as ResolvedHiddenLayer);
  });
  return { timeBins, restV, resetV, layers };
}

/** The conv layers of a network, in order. */
export function convLayers(net: ResolvedNetwork): ResolvedConvLayer[] {
  return net.layers.filter((l): l is ResolvedConvLayer => l.kind === 'conv');
}

/** The layers with trainable weights (in order), whatever their kind. */
export function trainableLayers(net: ResolvedNetwork): ResolvedHiddenLayer[] {
  return net.layers.filter((l): l is ResolvedHiddenLayer => l.kind !== 'input' && kindOf(l).weightCount(l) > 0);
}

/**
 * The complete options that resolve to `net` (every default written out): what results and
 * checkpoints record, and what `resolveNetwork` turns back into the same network.
 */
export function networkOptionsOf(net: ResolvedNetwork): NetworkOptions {
  const input = net.layers[0];
  const layers = (net.layers.slice(1) as ResolvedHiddenLayer[]).map((layer) => kindOf(layer).options(layer) as LayerOptions);
  return {
    timeBins: net.timeBins,
    inputHeight: input.outShape.height,
    inputWidth: input.outShape.width,
    restV: net.restV,
    resetV: net.resetV,
    layers,
  };
}
