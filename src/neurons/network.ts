/**
 * The typed description of a network: a plain list of layer specifications, configured as
 * data. The simulator is built from it, and exporters read it; nothing here simulates.
 *
 * The paper's network (Goupy et al. 2023) is input → conv → pool with the defaults below; a
 * second conv → pool pair is one more pair of entries in `layers`.
 */
import { OptionError } from '../errors.js';
import { boolean, checkKeys, finiteNumber, integer, isPlainObject, oneOf } from '../util/validate.js';

/**
 * Arithmetic of conv integration.
 * - `float32` (default): each neuron's input for one bin is the sum of float32-rounded weights,
 *   rounded once to float32, and added to a float64 potential. This is what the authors' code does
 *   (a float32 convolution per bin added into float64 potentials) and decides near-ties like it.
 *   VDSP also reads the presynaptic potential in float32, as the authors' code does.
 * - `float64`: everything in float64.
 */
export type Precision = 'float32' | 'float64';

/** Options of a single-spike integrate-and-fire convolutional layer; every field has a default. */
export interface ConvLayerOptions {
  kind: 'conv';
  /** Number of feature maps (output channels). Default 70. */
  maps?: number;
  /** Square kernel side, in input neurons. Default 7. */
  kernelSize?: number;
  /** Stride. Default 1. */
  stride?: number;
  /** Zero padding on each side. Default 3. */
  padding?: number;
  /** Firing threshold θ: a neuron crosses when V > θ (strictly). Default 10. */
  thresholdV?: number;
  /** Integration arithmetic. Default `'float32'`. */
  precision?: Precision;
  /** Mean of the normal weight initialisation. Default 0.8. */
  weightInitMean?: number;
  /** Standard deviation of the weight initialisation. Default 0.05. */
  weightInitSd?: number;
  /** Lower weight bound w_min. Default 0. */
  weightMin?: number;
  /** Upper weight bound w_max. Default 1. */
  weightMax?: number;
  /** Winners per bin K of the winner-take-all selection. Default 7. */
  winners?: number;
  /** Square inhibition radius r of the winner selection, in positions. Default 3. */
  inhibitionRadius?: number;
  /** Initial VDSP learning rate η. Default 0.01. */
  learningRate?: number;
  /** Cap η_max of the adaptive learning rate. Default 0.1. */
  learningRateMax?: number;
  /** Double η every `learningRateInterval` VDSP applications. Default true. */
  adaptiveLearningRate?: boolean;
  /** VDSP applications between doublings of η. Default 500. */
  learningRateInterval?: number;
  /** Potentiation factor a_pot. Default 1. */
  potentiationFactor?: number;
  /** Depression factor a_dep. Default 2. */
  depressionFactor?: number;
}

/** Options of a single-spike max-pooling layer (per map). */
export interface PoolLayerOptions {
  kind: 'pool';
  /** Square window side. Default 3. */
  kernelSize?: number;
  /** Stride. Default 3. */
  stride?: number;
  /** Padding on each side (padded positions never spike). Default 0. */
  padding?: number;
}

export type LayerOptions = ConvLayerOptions | PoolLayerOptions;

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

/** Channels × height × width of a layer's neurons. */
export interface Shape {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

export interface ResolvedInputLayer {
  readonly kind: 'input';
  readonly index: 0;
  readonly outShape: Shape;
}

export interface ResolvedConvLayer extends Readonly<Required<ConvLayerOptions>> {
  readonly index: number;
  readonly inShape: Shape;
  readonly outShape: Shape;
}

export interface ResolvedPoolLayer extends Readonly<Required<PoolLayerOptions>> {
  readonly index: number;
  readonly inShape: Shape;
  readonly outShape: Shape;
}

export type ResolvedLayer = ResolvedInputLayer | ResolvedConvLayer | ResolvedPoolLayer;

/** A validated network: every option filled in, every shape computed. `layers[0]` is the input. */
export interface ResolvedNetwork {
  readonly timeBins: number;
  readonly restV: number;
  readonly resetV: number;
  readonly layers: readonly ResolvedLayer[];
}

/** Defaults of the paper's conv layer. */
export const CONV_DEFAULTS: Readonly<Required<ConvLayerOptions>> = Object.freeze({
  kind: 'conv',
  maps: 70,
  kernelSize: 7,
  stride: 1,
  padding: 3,
  thresholdV: 10,
  precision: 'float32',
  weightInitMean: 0.8,
  weightInitSd: 0.05,
  weightMin: 0,
  weightMax: 1,
  winners: 7,
  inhibitionRadius: 3,
  learningRate: 0.01,
  learningRateMax: 0.1,
  adaptiveLearningRate: true,
  learningRateInterval: 500,
  potentiationFactor: 1,
  depressionFactor: 2,
});

/** Defaults of the paper's pool layer. */
export const POOL_DEFAULTS: Readonly<Required<PoolLayerOptions>> = Object.freeze({
  kind: 'pool',
  kernelSize: 3,
  stride: 3,
  padding: 0,
});

const NETWORK_KEYS = ['timeBins', 'inputHeight', 'inputWidth', 'restV', 'resetV', 'layers'] as const;

function outSize(inSize: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((inSize + 2 * padding - kernel) / stride) + 1;
}

function resolveConv(raw: Record<string, unknown>, path: string, index: number, inShape: Shape): ResolvedConvLayer {
  checkKeys(raw, Object.keys(CONV_DEFAULTS), path);
  const d = CONV_DEFAULTS;
  const maps = integer(`${path}.maps`, raw.maps, d.maps, { min: 1, max: 4096 });
  const kernelSize = integer(`${path}.kernelSize`, raw.kernelSize, d.kernelSize, { min: 1, max: 64 });
  const stride = integer(`${path}.stride`, raw.stride, d.stride, { min: 1, max: 64 });
  const padding = integer(`${path}.padding`, raw.padding, d.padding, { min: 0, max: kernelSize - 1 });
  const weightMin = finiteNumber(`${path}.weightMin`, raw.weightMin, d.weightMin);
  const weightMax = finiteNumber(`${path}.weightMax`, raw.weightMax, d.weightMax, { above: weightMin });
  const learningRate = finiteNumber(`${path}.learningRate`, raw.learningRate, d.learningRate, { min: 0 });
  const layer: ResolvedConvLayer = {
    kind: 'conv',
    index,
    maps,
    kernelSize,
    stride,
    padding,
    thresholdV: finiteNumber(`${path}.thresholdV`, raw.thresholdV, d.thresholdV, { above: 0 }),
    precision: oneOf(`${path}.precision`, raw.precision, ['float32', 'float64'], d.precision),
    weightInitMean: finiteNumber(`${path}.weightInitMean`, raw.weightInitMean, d.weightInitMean),
    weightInitSd: finiteNumber(`${path}.weightInitSd`, raw.weightInitSd, d.weightInitSd, { min: 0 }),
    weightMin,
    weightMax,
    winners: integer(`${path}.winners`, raw.winners, d.winners, { min: 0 }),
    inhibitionRadius: integer(`${path}.inhibitionRadius`, raw.inhibitionRadius, d.inhibitionRadius, { min: 0 }),
    learningRate,
    learningRateMax: finiteNumber(`${path}.learningRateMax`, raw.learningRateMax, Math.max(d.learningRateMax, learningRate), { min: learningRate }),
    adaptiveLearningRate: boolean(`${path}.adaptiveLearningRate`, raw.adaptiveLearningRate, d.adaptiveLearningRate),
    learningRateInterval: integer(`${path}.learningRateInterval`, raw.learningRateInterval, d.learningRateInterval, { min: 1 }),
    potentiationFactor: finiteNumber(`${path}.potentiationFactor`, raw.potentiationFactor, d.potentiationFactor, { min: 0 }),
    depressionFactor: finiteNumber(`${path}.depressionFactor`, raw.depressionFactor, d.depressionFactor, { min: 0 }),
    inShape,
    outShape: {
      channels: maps,
      height: outSize(inShape.height, kernelSize, stride, padding),
      width: outSize(inShape.width, kernelSize, stride, padding),
    },
  };
  if (layer.outShape.height < 1 || layer.outShape.width < 1) {
    throw new OptionError(`${path}.kernelSize`, kernelSize, `a kernel that fits the ${inShape.height}×${inShape.width} input with padding ${padding}`);
  }
  return layer;
}

function resolvePool(raw: Record<string, unknown>, path: string, index: number, inShape: Shape): ResolvedPoolLayer {
  checkKeys(raw, Object.keys(POOL_DEFAULTS), path);
  const d = POOL_DEFAULTS;
  const kernelSize = integer(`${path}.kernelSize`, raw.kernelSize, d.kernelSize, { min: 1, max: 64 });
  const stride = integer(`${path}.stride`, raw.stride, d.stride, { min: 1, max: 64 });
  const padding = integer(`${path}.padding`, raw.padding, d.padding, { min: 0, max: kernelSize - 1 });
  const outShape: Shape = {
    channels: inShape.channels,
    height: outSize(inShape.height, kernelSize, stride, padding),
    width: outSize(inShape.width, kernelSize, stride, padding),
  };
  if (outShape.height < 1 || outShape.width < 1) {
    throw new OptionError(`${path}.kernelSize`, kernelSize, `a window that fits the ${inShape.height}×${inShape.width} input with padding ${padding}`);
  }
  return { kind: 'pool', index, kernelSize, stride, padding, inShape, outShape };
}

/**
 * Validate network options and fill in the defaults. Throws {@link OptionError} naming the
 * field (for example `layers[0].thresholdV`) and the value. A conv layer reads the input or a
 * pool layer; a pool layer reads a conv layer.
 */
export function resolveNetwork(options: NetworkOptions = {}): ResolvedNetwork {
  if (!isPlainObject(options)) throw new OptionError('network', options, 'an object');
  const raw = options as Record<string, unknown>;
  checkKeys(raw, NETWORK_KEYS, '');
  const timeBins = integer('timeBins', raw.timeBins, 15, { min: 1, max: 1_000_000 });
  const restV = finiteNumber('restV', raw.restV, 0);
  const resetV = finiteNumber('resetV', raw.resetV, -1);
  if (!(resetV < restV)) throw new OptionError('resetV', resetV, `a value below restV (${restV}): VDSP tells a fired input by V < restV`);
  const input: ResolvedInputLayer = {
    kind: 'input',
    index: 0,
    outShape: {
      channels: 1,
      height: integer('inputHeight', raw.inputHeight, 28, { min: 1, max: 4096 }),
      width: integer('inputWidth', raw.inputWidth, 28, { min: 1, max: 4096 }),
    },
  };
  const layerList = raw.layers === undefined ? [{ kind: 'conv' }, { kind: 'pool' }] : raw.layers;
  if (!Array.isArray(layerList) || layerList.length === 0) {
    throw new OptionError('layers', layerList, 'a non-empty array of layer options');
  }
  const layers: ResolvedLayer[] = [input];
  layerList.forEach((entry: unknown, i: number) => {
    const path = `layers[${i}]`;
    if (!isPlainObject(entry)) throw new OptionError(path, entry, 'an object with a "kind"');
    const previous = layers[layers.length - 1];
    const kind = entry.kind;
    switch (kind) {
      case 'conv':
        if (previous.kind === 'conv') {
          throw new OptionError(`${path}.kind`, kind, 'a pool layer after a conv layer (a conv layer reads the input or a pool layer)');
        }
        layers.push(resolveConv(entry, path, i + 1, previous.outShape));
        if ((layers[layers.length - 1] as ResolvedConvLayer).thresholdV <= restV) {
          throw new OptionError(`${path}.thresholdV`, entry.thresholdV, `a threshold above restV (${restV})`);
        }
        break;
      case 'pool':
        if (previous.kind !== 'conv') throw new OptionError(`${path}.kind`, kind, 'a conv layer before each pool layer');
        layers.push(resolvePool(entry, path, i + 1, previous.outShape));
        break;
      default:
        throw new OptionError(`${path}.kind`, kind, '"conv" or "pool"');
    }
  });
  return { timeBins, restV, resetV, layers };
}

/** Number of neurons of a shape. */
export function neuronCount(shape: Shape): number {
  return shape.channels * shape.height * shape.width;
}

/** The conv layers of a network, in order. */
export function convLayers(net: ResolvedNetwork): ResolvedConvLayer[] {
  return net.layers.filter((l): l is ResolvedConvLayer => l.kind === 'conv');
}

/**
 * The complete options that resolve to `net` (every default written out): what results and
 * checkpoints record, and what `resolveNetwork` turns back into the same network.
 */
export function networkOptionsOf(net: ResolvedNetwork): NetworkOptions {
  const input = net.layers[0];
  const layers: LayerOptions[] = [];
  for (const layer of net.layers.slice(1)) {
    switch (layer.kind) {
      case 'conv': {
        const { index: _i, inShape: _a, outShape: _b, ...options } = layer;
        layers.push({ ...options });
        break;
      }
      case 'pool': {
        const { index: _i, inShape: _a, outShape: _b, ...options } = layer;
        layers.push({ ...options });
        break;
      }
      case 'input':
        break;
      default: {
        const _exhaustive: never = layer;
        throw new RangeError(`unknown layer ${String(_exhaustive)}`);
      }
    }
  }
  return {
    timeBins: net.timeBins,
    inputHeight: input.outShape.height,
    inputWidth: input.outShape.width,
    restV: net.restV,
    resetV: net.resetV,
    layers,
  };
}
