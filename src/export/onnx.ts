/**
 * ONNX export of a trained network: the dense, layer-wise form of the single-spike network
 * (SPEC §8) with the readout, as standard operators at opset 17, so that onnxruntime runs it on
 * the CPU or the CUDA execution provider. The graph reads only a {@link ModelDescription}.
 *
 * The time bins are unrolled. Per bin t and conv layer, with X_t the input spikes of the bin:
 *   I_t = Conv(X_t, W_hi) + Conv(X_t, W_lo)          (float32)
 *   V_t = V_{t−1} + double(I_t),  V_{−1} = v_rest     (float64)
 *   a position fires at t if it is still alive and some map has V_t > θ; the spiking map is
 *   ArgMax over maps of V_t (then a crossing map), ties to the higher map (select_last_index).
 * A pool neuron fires at t when MaxPool of the conv spikes of bin t is 1 and it has not fired.
 *
 * Exactness. The simulator's bin input is the float64 sum of float32 weights rounded once to
 * float32; a float32 Conv would round at every addition in its own order. Each float32 weight is
 * therefore split as w = w_hi + w_lo, w_hi on the grid 2^−k chosen so that any sum of a kernel's
 * w_hi fits in 24 bits: Conv(X, W_hi) is then exact whatever the summation order, Conv(X, W_lo)
 * is below 2^−k−1 per tap, and their float32 Add rounds once — the correctly rounded sum, like the
 * simulator's, except within ~1e−12 of a rounding midpoint. Potentials, comparisons and the
 * readout are float64, as in the simulator.
 */
import onnxProto from 'onnx-proto/dist/onnx.js';
import { EvspikeError } from '../errors.js';
import type { LayerNode, ModelDescription, SsifConvNode } from './model.js';

/**
 * What evspike records in the model's metadata (key `evspike`): the model description itself,
 * its weight arrays replaced by the names of the graph's initializers that hold them, so that
 * the file alone gives the description back (and with it the same network in the simulator).
 */
export interface EvspikeModelMetadata {
  format: 'evspike-onnx';
  version: 2;
  input: ModelInput;
  /** The description without its weights (each layer's `weights` is omitted, the readout's too). */
  description: Omit<ModelDescription, 'layers' | 'readout'> & {
    layers: Record<string, unknown>[];
    readout: { kind: 'linear-readout'; classes: number[]; features: number };
  };
  /** Per layer with weights (index in the description's layers), the initializers of W_hi and W_lo. */
  conv: { layer: number; hi: string; lo: string }[];
  readout: { weights: string; bias: string; classes: string };
}

const { onnx } = onnxProto;
type INodeProto = import('onnx-proto').onnx.INodeProto;
type ITensorProto = import('onnx-proto').onnx.ITensorProto;
type IAttributeProto = import('onnx-proto').onnx.IAttributeProto;
type IValueInfoProto = import('onnx-proto').onnx.IValueInfoProto;

/** The opset the graph uses (onnxruntime 1.30 implements it on CPU and CUDA). */
export const ONNX_OPSET = 17;
/** ONNX IR version of the written file. */
export const ONNX_IR_VERSION = 8;

export type ModelInput = 'images' | 'spikes';

const DT = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;
type DataType = (typeof DT)[keyof typeof DT];
type Attr = number | number[] | { float: number } | { tensor: ITensorProto };

function tensor(name: string, type: DataType, dims: number[], data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array): ITensorProto {
  return { name, dataType: type, dims, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice() };
}

/** Builds the node list and initializers with fresh names. */
class GraphBuilder {
  readonly nodes: INodeProto[] = [];
  readonly initializers: ITensorProto[] = [];
  private counter = 0;
  private readonly constants = new Map<string, string>();

  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  op(type: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs = 1, prefix = type.toLowerCase()): string[] {
    const out = Array.from({ length: outputs }, () => this.fresh(prefix));
    const attribute: IAttributeProto[] = Object.entries(attrs).map(([name, v]) => {
      if (typeof v === 'number') return { name, type: onnx.AttributeProto.AttributeType.INT, i: v };
      if (Array.isArray(v)) return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v };
      if ('float' in v) return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v.float };
      return { name, type: onnx.AttributeProto.AttributeType.TENSOR, t: v.tensor };
    });
    this.nodes.push({ opType: type, input: inputs, output: out, attribute, name: out[0] });
    return out;
  }

  /** One output. */
  op1(type: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    return this.op(type, inputs, attrs)[0];
  }

  init(prefix: string, type: DataType, dims: number[], data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array): string {
    const name = this.fresh(prefix);
    this.initializers.push(tensor(name, type, dims, data));
    return name;
  }

  /** An initializer with exactly this name. */
  named(name: string, type: DataType, dims: number[], data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array): string {
    this.initializers.push(tensor(name, type, dims, data));
    return name;
  }

  /** A shared scalar or small constant. */
  constant(type: DataType, dims: number[], values: number[]): string {
    const key = `${type}:${dims.join('x')}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (name === undefined) {
      const data =
        type === DT.DOUBLE
          ? Float64Array.from(values)
          : type === DT.FLOAT
            ? Float32Array.from(values)
            : type === DT.INT32
              ? Int32Array.from(values)
              : BigInt64Array.from(values.map((v) => BigInt(v)));
      name = this.init('c', type, dims, data);
      this.constants.set(key, name);
    }
    return name;
  }
}

/**
 * Split float32 weights into a part on the grid 2^−k whose sums over any subset of a kernel are
 * exact in float32, and the rest.
 */
export function splitWeights(weights: Float64Array, tapsPerMap: number): { hi: Float32Array; lo: Float32Array; gridBits: number } {
  let maxAbs = 0;
  for (const w of weights) maxAbs = Math.max(maxAbs, Math.abs(Math.fround(w)));
  const bound = tapsPerMap * Math.max(maxAbs, 2 ** -20);
  const gridBits = 24 - Math.ceil(Math.log2(bound + 1)) - 1;
  const scale = 2 ** gridBits;
  const hi = new Float32Array(weights.length);
  const lo = new Float32Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const w = Math.fround(weights[i]);
    const h = Math.round(w * scale) / scale;
    hi[i] = h;
    lo[i] = w - h;
    if (hi[i] !== h || lo[i] !== w - h) throw new Error(`weight ${i} (${w}) does not split exactly`);
  }
  return { hi, lo, gridBits };
}

function valueInfo(name: string, type: DataType, dims: (number | string)[]): IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: type, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

/** Rank-order encoding in the graph (SPEC §2), bit for bit like rankOrderEncode. */
function rankOrderSubgraph(g: GraphBuilder, images: string, desc: ModelDescription): string {
  const hw = desc.height * desc.width;
  const flat = g.op1('Reshape', [images, g.constant(DT.INT64, [2], [-1, hw])]);
  const x = g.op1('Cast', [flat], { to: DT.DOUBLE });
  // unique keys: brighter first, equal intensities by raster index (lowest first)
  const m = 2 ** Math.ceil(Math.log2(hw + 1));
  const reverseIndex = g.init('reverse_index', DT.DOUBLE, [1, hw], Float64Array.from({ length: hw }, (_, i) => hw - 1 - i));
  const key = g.op1('Add', [g.op1('Mul', [x, g.constant(DT.DOUBLE, [], [m])]), reverseIndex]);
  const [, order] = g.op('TopK', [key, g.constant(DT.INT64, [1], [hw])], { axis: 1, largest: 1, sorted: 1 }, 2);
  const shape = g.op1('Shape', [flat]);
  const zeros = g.op1('ConstantOfShape', [shape], { value: { tensor: tensor('zero', DT.INT64, [1], BigInt64Array.from([0n])) } });
  const arange = g.init('ranks', DT.INT64, [1, hw], BigInt64Array.from({ length: hw }, (_, i) => BigInt(i)));
  const rank = g.op1('ScatterElements', [zeros, order, g.op1('Expand', [arange, shape])], { axis: 1 });
  const nonZero = g.op1('Greater', [x, g.constant(DT.DOUBLE, [], [0])]);
  const count = g.op1('ReduceSum', [g.op1('Cast', [nonZero], { to: DT.DOUBLE }), g.constant(DT.INT64, [1], [1])], { keepdims: 1 });
  const binWidth = g.op1('Div', [count, g.constant(DT.DOUBLE, [], [desc.timeBins - 1])]);
  const bin = g.op1('Ceil', [g.op1('Div', [g.op1('Cast', [rank], { to: DT.DOUBLE }), binWidth])]);
  return g.op1('Where', [nonZero, g.op1('Cast', [bin], { to: DT.INT32 }), g.constant(DT.INT32, [], [-1])]);
}

interface ConvState {
  hi: string;
  lo: string;
  v?: string;
  alive?: string;
}
interface PoolState {
  alive?: string;
}

function convStep(g: GraphBuilder, node: SsifConvNode, state: ConvState, x: string, restV: number): string {
  const attrs = { kernel_shape: [node.kernelSize, node.kernelSize], pads: [node.padding, node.padding, node.padding, node.padding], strides: [node.stride, node.stride] };
  const input = g.op1('Add', [g.op1('Conv', [x, state.hi], attrs), g.op1('Conv', [x, state.lo], attrs)]);
  const inputD = g.op1('Cast', [input], { to: DT.DOUBLE });
  const v = state.v === undefined ? g.op1('Add', [g.constant(DT.DOUBLE, [], [restV]), inputD]) : g.op1('Add', [state.v, inputD]);
  state.v = v;
  // Some map crosses exactly when the largest potential does, and then the arg-max over all
  // maps is a crossing map: no mask is needed. Ties go to the higher map (select_last_index).
  const maxV = g.op1('ReduceMax', [v], { axes: [1], keepdims: 1 });
  const anyCross = g.op1('Cast', [g.op1('Greater', [maxV, g.constant(DT.DOUBLE, [], [node.thresholdV])])], { to: DT.FLOAT });
  const fire = state.alive === undefined ? anyCross : g.op1('Mul', [anyCross, state.alive]);
  state.alive = g.op1('Sub', [state.alive ?? g.constant(DT.FLOAT, [], [1]), fire]);
  const best = g.op1('ArgMax', [v], { axis: 1, keepdims: 0, select_last_index: 1 });
  const oneHot = g.op1('OneHot', [best, g.constant(DT.INT64, [], [node.maps]), g.constant(DT.FLOAT, [2], [0, 1])], { axis: 1 });
  return g.op1('Mul', [oneHot, fire]);
}

function poolStep(g: GraphBuilder, node: LayerNode & { kind: 'single-spike-pool' }, state: PoolState, x: string): string {
  const pooled = g.op1('MaxPool', [x], {
    kernel_shape: [node.kernelSize, node.kernelSize],
    pads: [node.padding, node.padding, node.padding, node.padding],
    strides: [node.stride, node.stride],
  });
  const fire = state.alive === undefined ? pooled : g.op1('Mul', [pooled, state.alive]);
  state.alive = g.op1('Sub', [state.alive ?? g.constant(DT.FLOAT, [], [1]), fire]);
  return fire;
}

/**
 * Build the ONNX model of `desc` and encode it as protobuf bytes.
 * @param input `images` (uint8 [N, H, W]; the graph encodes them) or `spikes` (int32 spike
 *   bins [N, H·W], −1 for none)
 */
export function buildOnnxModel(desc: ModelDescription, input: ModelInput = 'images'): Uint8Array {
  const g = new GraphBuilder();
  const hw = desc.height * desc.width;
  const inputName = input === 'images' ? 'images' : 'spike_times';
  const spikeTimes = input === 'images' ? rankOrderSubgraph(g, inputName, desc) : inputName;
  const spikes4 = g.op1('Reshape', [spikeTimes, g.constant(DT.INT64, [4], [-1, 1, desc.height, desc.width])]);

  // Per layer: what its bins carry over (and, for a layer with weights, their initializers).
  const states = desc.layers.map((l): ConvState | PoolState => {
    switch (l.kind) {
      case 'ssif-conv': {
        if (l.precision !== 'float32') throw new EvspikeError(`ONNX export reproduces float32 integration; this network's conv layer integrates in ${l.precision}`);
        const { hi, lo } = splitWeights(l.weights, l.inChannels * l.kernelSize * l.kernelSize);
        const dims = [l.maps, l.inChannels, l.kernelSize, l.kernelSize];
        return { hi: g.init('w_hi', DT.FLOAT, dims, hi), lo: g.init('w_lo', DT.FLOAT, dims, lo) };
      }
      case 'single-spike-pool':
        return {};
      default: {
        const _exhaustive: never = l;
        throw new EvspikeError(`cannot export layer ${JSON.stringify(_exhaustive)}`);
      }
    }
  });
  let ever: string | undefined;
  for (let t = 0; t < desc.timeBins; t++) {
    let x = g.op1('Cast', [g.op1('Equal', [spikes4, g.constant(DT.INT32, [], [t])])], { to: DT.FLOAT });
    if (ever !== undefined) {
      // Make bin t wait for bin t − 1 (adding a zero that depends on it): otherwise the runtime
      // may run the convolutions of all bins first, holding 2·T full-size outputs at once.
      const zero = g.op1('Mul', [g.op1('ReduceMax', [ever], { keepdims: 0 }), g.constant(DT.FLOAT, [], [0])]);
      x = g.op1('Add', [x, zero]);
    }
    desc.layers.forEach((l, i) => {
      switch (l.kind) {
        case 'ssif-conv':
          x = convStep(g, l, states[i] as ConvState, x, desc.restV);
          break;
        case 'single-spike-pool':
          x = poolStep(g, l, states[i] as PoolState, x);
          break;
        default: {
          const _exhaustive: never = l;
          throw new EvspikeError(`cannot export layer ${JSON.stringify(_exhaustive)}`);
        }
      }
    });
    ever = ever === undefined ? x : g.op1('Add', [ever, x]);
  }
  const r = desc.readout;
  const nc = r.classes.length;
  const weights = new Float64Array(r.features * nc);
  const bias = new Float64Array(nc);
  for (let c = 0; c < nc; c++) {
    for (let j = 0; j < r.features; j++) weights[j * nc + c] = r.weights[c * (r.features + 1) + j];
    bias[c] = r.weights[c * (r.features + 1) + r.features];
  }
  const features = g.op('Reshape', [ever!, g.constant(DT.INT64, [2], [-1, r.features])], {}, 1, 'features')[0];
  const scoresD = g.op1('Add', [g.op1('MatMul', [g.op1('Cast', [features], { to: DT.DOUBLE }), g.named('readout_w', DT.DOUBLE, [r.features, nc], weights)]), g.named('readout_b', DT.DOUBLE, [nc], bias)]);
  const classIndex = g.op1('ArgMax', [scoresD], { axis: 1, keepdims: 0 });
  const classes = g.named('classes', DT.INT64, [nc], BigInt64Array.from(r.classes.map((c) => BigInt(c))));
  g.nodes.push({ opType: 'Identity', input: [features], output: ['features'], name: 'out_features' });
  g.nodes.push({ opType: 'Cast', input: [scoresD], output: ['scores'], name: 'out_scores', attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: DT.FLOAT }] });
  g.nodes.push({ opType: 'Gather', input: [classes, classIndex], output: ['label'], name: 'out_label', attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] });

  const { layers: nodes, readout: readoutNode, ...network } = desc;
  const metadata: EvspikeModelMetadata = {
    format: 'evspike-onnx',
    version: 2,
    input,
    description: {
      ...network,
      layers: nodes.map((node) => Object.fromEntries(Object.entries(node).filter(([key]) => key !== 'weights'))),
      readout: { kind: 'linear-readout', classes: [...readoutNode.classes], features: readoutNode.features },
    },
    conv: states.flatMap((st, layer) => ('hi' in st ? [{ layer, hi: st.hi, lo: st.lo }] : [])),
    readout: { weights: 'readout_w', bias: 'readout_b', classes: 'classes' },
  };
  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    metadataProps: [{ key: 'evspike', value: JSON.stringify(metadata) }],
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'evspike',
    producerVersion: '0.1.0',
    docString: 'Single-spike convolutional SNN (Goupy et al. 2023), dense layer-wise pass and linear readout, exported by evspike',
    graph: {
      name: 'evspike',
      node: g.nodes,
      initializer: g.initializers,
      input: [input === 'images' ? valueInfo('images', DT.UINT8, ['N', desc.height, desc.width]) : valueInfo('spike_times', DT.INT32, ['N', hw])],
      output: [valueInfo('features', DT.FLOAT, ['N', r.features]), valueInfo('scores', DT.FLOAT, ['N', nc]), valueInfo('label', DT.INT64, ['N'])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
