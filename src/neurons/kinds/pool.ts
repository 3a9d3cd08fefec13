/** The pool layer kind: single-spike max pooling per map (SPEC §5). */
import { OptionError } from '../../errors.js';
import { DENSE_POOL } from '../../reference/pool.js';
import { checkKeys, integer } from '../../util/validate.js';
import { PoolLayer } from '../pool.js';
import { neuronCount, outSize, shapeTuple, type Shape } from '../shape.js';
import type { LayerKind } from './kind.js';

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

export interface ResolvedPoolLayer extends Readonly<Required<PoolLayerOptions>> {
  readonly index: number;
  readonly inShape: Shape;
  readonly outShape: Shape;
}

/** Defaults of the paper's pool layer. */
export const POOL_DEFAULTS: Readonly<Required<PoolLayerOptions>> = Object.freeze({
  kind: 'pool',
  kernelSize: 3,
  stride: 3,
  padding: 0,
});

/** A pool layer's node in a model description. */
export interface SingleSpikePoolNode {
  readonly kind: 'single-spike-pool';
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly inShape: readonly [number, number, number];
  readonly outShape: readonly [number, number, number];
}

export const POOL_KIND: LayerKind<PoolLayerOptions, ResolvedPoolLayer, SingleSpikePoolNode> = {
  kind: 'pool',
  node: 'single-spike-pool',
  reads: ['conv'],

  resolve(raw, { path, index, inShape }) {
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
  },

  options: ({ kernelSize, stride, padding }) => ({ kind: 'pool', kernelSize, stride, padding }),
  weightCount: () => 0,
  initialWeights: () => new Float64Array(0),
  create: (spec, context) => new PoolLayer(spec, context.restV, context.resetV, context.kernel),
  denseMacs: (spec, timeBins) => timeBins * neuronCount(spec.outShape) * spec.kernelSize * spec.kernelSize,
  describe: (spec) => ({ kind: 'single-spike-pool', kernelSize: spec.kernelSize, stride: spec.stride, padding: spec.padding, inShape: shapeTuple(spec.inShape), outShape: shapeTuple(spec.outShape) }),
  fromNode: (node) => ({ kind: 'pool', kernelSize: node.kernelSize, stride: node.stride, padding: node.padding }),
  dense: DENSE_POOL,
};
