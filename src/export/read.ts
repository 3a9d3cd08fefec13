/**
 * Reading an evspike ONNX file back: validation at the boundary (it must decode, carry the
 * evspike metadata and the expected inputs and outputs), and the reconstruction of the same
 * network and readout for the simulator, from the file alone.
 */
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto/dist/onnx.js';
import { ModelFileError } from '../errors.js';
import { readFailure } from '../util/files.js';
import { isPlainObject } from '../util/validate.js';
import { descriptionNetwork, type LayerNode, type ModelDescription } from './model.js';
import type { EvspikeModelMetadata } from './onnx.js';

const { onnx } = onnxProto;

export interface LoadedOnnxModel {
  readonly file: string;
  readonly bytes: Uint8Array;
  readonly metadata: EvspikeModelMetadata;
  /** The model description, weights included (conv weights: W_hi + W_lo, the float32 weights, exactly). */
  readonly description: ModelDescription;
  readonly input: 'images' | 'spikes';
}

function floats(t: import('onnx-proto').onnx.ITensorProto, file: string): Float64Array {
  const raw = t.rawData;
  if (!raw) throw new ModelFileError(`initializer ${t.name}`, 'no raw data', 'a tensor with raw data', file);
  const bytes = new Uint8Array(raw).slice();
  switch (t.dataType) {
    case 1:
      return Float64Array.from(new Float32Array(bytes.buffer));
    case 11:
      return new Float64Array(bytes.buffer);
    case 7:
      return Float64Array.from(new BigInt64Array(bytes.buffer), (v) => Number(v));
    default:
      throw new ModelFileError(`initializer ${t.name}`, t.dataType, 'data type float, double or int64', file);
  }
}

/** Read and validate an evspike ONNX model file; it gives back the model description. */
export function readOnnxModel(file: string): LoadedOnnxModel {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new ModelFileError('file', readFailure(e), 'a readable model file', file);
  }
  let model: import('onnx-proto').onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelFileError('file', (e as Error).message, 'an ONNX model', file);
  }
  const meta = model.metadataProps?.find((p) => p.key === 'evspike');
  if (!meta?.value) throw new ModelFileError('metadata', undefined, 'the evspike metadata of a model written by evspike export', file);
  let metadata: EvspikeModelMetadata;
  try {
    metadata = JSON.parse(meta.value) as EvspikeModelMetadata;
  } catch {
    throw new ModelFileError('metadata', meta.value, 'valid JSON', file);
  }
  if (metadata.format !== 'evspike-onnx' || metadata.version !== 2) {
    throw new ModelFileError('metadata', `format ${metadata.format} version ${metadata.version}`, 'evspike-onnx version 2 (export the checkpoint again with this evspike)', file);
  }
  const d = metadata.description;
  if (!isPlainObject(d) || !Array.isArray(d.layers) || !isPlainObject(d.readout)) throw new ModelFileError('metadata.description', d, 'a model description', file);
  const graph = model.graph;
  const inputs = graph?.input?.map((i) => i.name) ?? [];
  const outputs = graph?.output?.map((o) => o.name) ?? [];
  const expectedInput = metadata.input === 'images' ? 'images' : 'spike_times';
  if (inputs.length !== 1 || inputs[0] !== expectedInput) throw new ModelFileError('graph inputs', inputs, `["${expectedInput}"]`, file);
  for (const o of ['features', 'scores', 'label']) if (!outputs.includes(o)) throw new ModelFileError('graph outputs', outputs, `an output "${o}"`, file);
  const init = new Map((graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
  const get = (name: string): Float64Array => {
    const t = init.get(name);
    if (t === undefined) throw new ModelFileError('initializers', name, 'an initializer of that name', file);
    return floats(t, file);
  };
  const layers = d.layers.map((node, i) => {
    const conv = metadata.conv.find((c) => c.layer === i);
    if (conv === undefined) return node as unknown as LayerNode;
    const hi = get(conv.hi);
    const lo = get(conv.lo);
    return { ...node, weights: Float64Array.from(hi, (h, k) => Math.fround(h + lo[k])) } as unknown as LayerNode;
  });
  const w = get(metadata.readout.weights);
  const b = get(metadata.readout.bias);
  const classes = Array.from(get(metadata.readout.classes));
  const nc = classes.length;
  const features = w.length / nc;
  if (!Number.isInteger(features) || b.length !== nc) throw new ModelFileError('readout', `${w.length} weights, ${b.length} biases`, `${nc} classes of whole features`, file);
  const weights = new Float64Array(nc * (features + 1));
  for (let c = 0; c < nc; c++) {
    for (let j = 0; j < features; j++) weights[c * (features + 1) + j] = w[j * nc + c];
    weights[c * (features + 1) + features] = b[c];
  }
  const description: ModelDescription = { ...d, layers, readout: { kind: 'linear-readout', classes, features, weights } };
  try {
    descriptionNetwork(description);
  } catch (e) {
    throw new ModelFileError('metadata.description', (e as Error).message, 'a description of a valid network', file);
  }
  return { file, bytes, metadata, description, input: metadata.input };
}
