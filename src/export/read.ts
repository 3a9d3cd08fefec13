/**
 * Reading an evspike ONNX file back: validation at the boundary (it must decode, carry the
 * evspike metadata and the expected inputs and outputs), and the reconstruction of the same
 * network and readout for the simulator, from the file alone.
 */
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto/dist/onnx.js';
import { EvspikeError } from '../errors.js';
import { readFailure } from '../util/files.js';
import { resolveNetwork, type ResolvedNetwork } from '../neurons/network.js';
import type { EvspikeModelMetadata } from './onnx.js';

const { onnx } = onnxProto;

export interface LoadedOnnxModel {
  readonly file: string;
  readonly bytes: Uint8Array;
  readonly metadata: EvspikeModelMetadata;
  readonly network: ResolvedNetwork;
  /** The float32 weights of each conv layer (W_hi + W_lo, exact), as float64. */
  readonly convWeights: Float64Array[];
  readonly readout: { classes: number[]; features: number; weights: Float64Array };
  readonly input: 'images' | 'spikes';
}

function floats(t: import('onnx-proto').onnx.ITensorProto, file: string): Float64Array {
  const raw = t.rawData;
  if (!raw) throw new EvspikeError(`${file}: initializer ${t.name} has no raw data`);
  const bytes = new Uint8Array(raw).slice();
  switch (t.dataType) {
    case 1:
      return Float64Array.from(new Float32Array(bytes.buffer));
    case 11:
      return new Float64Array(bytes.buffer);
    case 7:
      return Float64Array.from(new BigInt64Array(bytes.buffer), (v) => Number(v));
    default:
      throw new EvspikeError(`${file}: initializer ${t.name} has data type ${t.dataType}`);
  }
}

/** Read and validate an evspike ONNX model file. */
export function readOnnxModel(file: string): LoadedOnnxModel {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new EvspikeError(`${file}: cannot read model: ${readFailure(e)}`);
  }
  let model: import('onnx-proto').onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new EvspikeError(`${file}: not an ONNX model (${(e as Error).message})`);
  }
  const meta = model.metadataProps?.find((p) => p.key === 'evspike');
  if (!meta?.value) throw new EvspikeError(`${file}: not an evspike model (no evspike metadata); export one with evspike export`);
  let metadata: EvspikeModelMetadata;
  try {
    metadata = JSON.parse(meta.value) as EvspikeModelMetadata;
  } catch {
    throw new EvspikeError(`${file}: evspike metadata is not valid JSON`);
  }
  if (metadata.format !== 'evspike-onnx' || metadata.version !== 1) throw new EvspikeError(`${file}: evspike metadata of format ${metadata.format} version ${metadata.version}, expected evspike-onnx version 1`);
  if (metadata.network === null) throw new EvspikeError(`${file}: the model records no network configuration`);
  const graph = model.graph;
  const inputs = graph?.input?.map((i) => i.name) ?? [];
  const outputs = graph?.output?.map((o) => o.name) ?? [];
  const expectedInput = metadata.input === 'images' ? 'images' : 'spike_times';
  if (inputs.length !== 1 || inputs[0] !== expectedInput) throw new EvspikeError(`${file}: graph inputs ${JSON.stringify(inputs)}, expected ["${expectedInput}"]`);
  for (const o of ['features', 'scores', 'label']) if (!outputs.includes(o)) throw new EvspikeError(`${file}: graph has no output "${o}"`);
  const init = new Map((graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
  const get = (name: string): Float64Array => {
    const t = init.get(name);
    if (t === undefined) throw new EvspikeError(`${file}: initializer ${name} is missing`);
    return floats(t, file);
  };
  let network: ResolvedNetwork;
  try {
    network = resolveNetwork(metadata.network);
  } catch (e) {
    throw new EvspikeError(`${file}: recorded network: ${(e as Error).message}`);
  }
  const convWeights = metadata.conv.map((c) => {
    const hi = get(c.hi);
    const lo = get(c.lo);
    return Float64Array.from(hi, (h, i) => Math.fround(h + lo[i]));
  });
  const w = get(metadata.readout.weights);
  const b = get(metadata.readout.bias);
  const classes = Array.from(get(metadata.readout.classes));
  const nc = classes.length;
  const features = w.length / nc;
  const weights = new Float64Array(nc * (features + 1));
  for (let c = 0; c < nc; c++) {
    for (let j = 0; j < features; j++) weights[c * (features + 1) + j] = w[j * nc + c];
    weights[c * (features + 1) + features] = b[c];
  }
  return { file, bytes, metadata, network, convWeights, readout: { classes, features, weights }, input: metadata.input };
}
