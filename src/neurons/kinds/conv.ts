/**
 * The conv layer kind: single-spike integrate-and-fire convolution with per-position lateral
 * inhibition (SPEC §3), trained per winner by the learning rule of its `learning` option.
 */
import { OptionError } from '../../errors.js';
import { resolveLearning, type LearningOptions, type ResolvedLearning } from '../../plasticity/rules.js';
import { DENSE_CONV, type DenseConvState } from '../../reference/conv.js';
import { checkKeys, finiteNumber, integer, oneOf } from '../../util/validate.js';
import { ConvLayer } from '../conv.js';
import { neuronCount, outSize, shapeTuple, type Shape } from '../shape.js';
import type { LayerKind } from './kind.js';

/**
 * Arithmetic of conv integration.
 * - `float32` (default): each neuron's input for one bin is the sum of float32-rounded weights,
 *   rounded once to float32, and added to a float64 potential. This is what the authors' code does
 *   (a float32 convolution per bin added into float64 potentials) and decides near-ties like it.
 *   The learning rule also reads the presynaptic potential in float32, as the authors' code does.
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
  /** The learning rule and its parameters. Default `{ rule: 'vdsp' }` with the paper's values. */
  learning?: LearningOptions;
}

export interface ResolvedConvLayer extends Readonly<Required<Omit<ConvLayerOptions, 'learning'>>> {
  readonly learning: ResolvedLearning;
  readonly index: number;
  readonly inShape: Shape;
  readonly outShape: Shape;
}

/** Defaults of the paper's conv layer (its learning: VDSP_DEFAULTS). */
export const CONV_DEFAULTS: Readonly<Required<Omit<ConvLayerOptions, 'learning'>>> = Object.freeze({
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
});

/** Keys that earlier versions took on the conv layer itself and that now live in `learning`. */
const MOVED_TO_LEARNING = ['learningRate', 'learningRateMax', 'adaptiveLearningRate', 'learningRateInterval', 'potentiationFactor', 'depressionFactor'];

/** A conv layer's node in a model description. */
export interface SsifConvNode extends Omit<ResolvedConvLayer, 'kind' | 'index' | 'inShape' | 'outShape'> {
  readonly kind: 'ssif-conv';
  readonly inChannels: number;
  /** maps × inChannels × k × k, float64. */
  readonly weights: Float64Array;
  readonly inShape: readonly [number, number, number];
  readonly outShape: readonly [number, number, number];
}

export const CONV_KIND: LayerKind<ConvLayerOptions, ResolvedConvLayer, SsifConvNode, DenseConvState> = {
  kind: 'conv',
  node: 'ssif-conv',
  reads: ['input', 'pool'],

  resolve(raw, { path, index, inShape, restV }) {
    for (const key of MOVED_TO_LEARNING) {
      if (key in raw) throw new OptionError(`${path}.${key}`, raw[key], `no such option: the learning rule's parameters live under "learning" (${path}.learning.${key})`);
    }
    checkKeys(raw, [...Object.keys(CONV_DEFAULTS), 'learning'], path);
    const d = CONV_DEFAULTS;
    const maps = integer(`${path}.maps`, raw.maps, d.maps, { min: 1, max: 4096 });
    const kernelSize = integer(`${path}.kernelSize`, raw.kernelSize, d.kernelSize, { min: 1, max: 64 });
    const stride = integer(`${path}.stride`, raw.stride, d.stride, { min: 1, max: 64 });
    const padding = integer(`${path}.padding`, raw.padding, d.padding, { min: 0, max: kernelSize - 1 });
    const weightMin = finiteNumber(`${path}.weightMin`, raw.weightMin, d.weightMin);
    const weightMax = finiteNumber(`${path}.weightMax`, raw.weightMax, d.weightMax, { above: weightMin });
    const thresholdV = finiteNumber(`${path}.thresholdV`, raw.thresholdV, d.thresholdV, { above: 0 });
    if (thresholdV <= restV) throw new OptionError(`${path}.thresholdV`, thresholdV, `a threshold above restV (${restV})`);
    const layer: ResolvedConvLayer = {
      kind: 'conv',
      index,
      maps,
      kernelSize,
      stride,
      padding,
      thresholdV,
      precision: oneOf(`${path}.precision`, raw.precision, ['float32', 'float64'], d.precision),
      weightInitMean: finiteNumber(`${path}.weightInitMean`, raw.weightInitMean, d.weightInitMean),
      weightInitSd: finiteNumber(`${path}.weightInitSd`, raw.weightInitSd, d.weightInitSd, { min: 0 }),
      weightMin,
      weightMax,
      winners: integer(`${path}.winners`, raw.winners, d.winners, { min: 0 }),
      inhibitionRadius: integer(`${path}.inhibitionRadius`, raw.inhibitionRadius, d.inhibitionRadius, { min: 0 }),
      learning: resolveLearning(raw.learning, `${path}.learning`),
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
  },

  options(spec) {
    const { index: _i, inShape: _a, outShape: _b, learning, ...options } = spec;
    return { ...options, learning: { ...learning } };
  },

  weightCount: (spec) => spec.maps * spec.inShape.channels * spec.kernelSize * spec.kernelSize,

  /**
   * Initial weights: i.i.d. normal(weightInitMean, weightInitSd) clipped to [weightMin,
   * weightMax], drawn from `random` in the order of the weight array.
   */
  initialWeights(spec, random) {
    const n = CONV_KIND.weightCount(spec);
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = random.normal(spec.weightInitMean, spec.weightInitSd);
      w[i] = Math.min(spec.weightMax, Math.max(spec.weightMin, v));
    }
    return w;
  },

  create(spec, context) {
    if (context.weights === undefined) throw new RangeError(`conv layer ${spec.index}: no weights`);
    return new ConvLayer(spec, context.source, context.restV, context.resetV, context.weights, context.kernel, context.skipping);
  },

  denseMacs(spec, timeBins) {
    return timeBins * neuronCount(spec.outShape) * spec.inShape.channels * spec.kernelSize * spec.kernelSize;
  },

  describe(spec, weights) {
    const n = CONV_KIND.weightCount(spec);
    if (weights === undefined || weights.length !== n) throw new OptionError(`layers[${spec.index - 1}].weights`, weights?.length ?? 0, `${n} weights`);
    const { kind: _k, index: _i, inShape, outShape, learning, ...options } = spec;
    return { kind: 'ssif-conv', ...options, learning: { ...learning }, inChannels: inShape.channels, weights: Float64Array.from(weights), inShape: shapeTuple(inShape), outShape: shapeTuple(outShape) };
  },

  fromNode(node) {
    const { kind: _k, inChannels: _c, weights: _w, inShape: _a, outShape: _b, learning, ...options } = node;
    return { kind: 'conv', ...options, learning: { ...learning } };
  },

  dense: DENSE_CONV,
};
