/**
 * `evspike export` (a checkpoint to an ONNX file) and `evspike infer` (an ONNX file over the
 * MNIST test set with onnxruntime, compared with the event-driven simulator on the same
 * samples).
 */
import { imageAt } from '../data/idx.js';
import { loadMnist } from '../data/mnist.js';
import { OptionError } from '../errors.js';
import { Engine } from '../events/engine.js';
import { describeCheckpoint } from '../export/model.js';
import { buildOnnxModel, ONNX_OPSET, type ModelInput } from '../export/onnx.js';
import { readOnnxModel } from '../export/read.js';
import { openSession, runBatch, type Device } from '../export/session.js';
import { rankOrderEncode } from '../neurons/encoder.js';
import { readCheckpoint } from '../pipeline/checkpoint.js';
import { extractFeatures } from '../pipeline/extract.js';
import { sampleFigures } from '../pipeline/run.js';
import { accuracy, predictLabels } from '../readout/linear-svm.js';
import { writeFileAtomic } from '../util/atomic.js';
import { oneOf, parseIntegerFlag } from '../util/validate.js';
import { helpText, parseCommand, stringFlag, usageLine, type CommandSpec } from './args.js';
import { DATA_FLAG, JSON_FLAG, QUIET_FLAG } from './flags.js';
import { Progress } from './progress.js';
import { formatNumber, printTable } from './table.js';
import { peakMemoryMB } from '../util/memory.js';

export const EXPORT_SPEC: CommandSpec = {
  name: 'export',
  summary: "Export a complete checkpoint's network and readout as an ONNX graph of the dense layer-wise pass (opset 17): outputs features, scores and label.",
  flags: {
    checkpoint: { type: 'string', value: 'DIR', help: 'The checkpoint folder (of a run that finished its readout).', required: true },
    out: { type: 'string', value: 'FILE', help: 'The ONNX file to write (atomically).', required: true },
    input: { type: 'string', value: 'images|spikes', help: 'The graph input: uint8 images [N, 28, 28] (encoded in the graph) or int32 spike_times [N, 784].', default: 'images' },
  },
};

export const INFER_SPEC: CommandSpec = {
  name: 'infer',
  summary: 'Run an exported ONNX model on the MNIST test set with onnxruntime, and the event-driven simulator on the same samples; compare accuracy, features, labels and speed.',
  flags: {
    model: { type: 'string', value: 'FILE', help: 'The ONNX model written by evspike export.', required: true },
    device: { type: 'string', value: 'cpu|cuda|auto', help: "onnxruntime's execution provider: CPU, CUDA (stops if it cannot load), or CUDA when it loads and else the CPU.", default: 'cpu' },
    batch: { type: 'string', value: 'N', help: 'Images per onnxruntime call.', default: '256' },
    limit: { type: 'string', value: 'N', help: 'Test images run.', default: 'all 10,000' },
    data: DATA_FLAG,
    json: JSON_FLAG,
    quiet: QUIET_FLAG,
  },
};
const EXPORT_USAGE = usageLine(EXPORT_SPEC);
const INFER_USAGE = usageLine(INFER_SPEC);

export function exportCommand(argv: string[], out: (line: string) => void): number {
  const { values } = parseCommand(argv, EXPORT_SPEC);
  if (values.help) {
    out(helpText(EXPORT_SPEC));
    return 0;
  }
  const dir = stringFlag(values, 'checkpoint');
  const file = stringFlag(values, 'out');
  if (dir === undefined) throw new OptionError('--checkpoint', undefined, `a checkpoint folder: ${EXPORT_USAGE}`);
  if (file === undefined) throw new OptionError('--out', undefined, `an output file: ${EXPORT_USAGE}`);
  const input: ModelInput = oneOf('--input', stringFlag(values, 'input'), ['images', 'spikes'], 'images');
  const checkpoint = readCheckpoint(dir);
  const desc = describeCheckpoint(checkpoint);
  const bytes = buildOnnxModel(desc, input, checkpoint.scenario.networkOptions);
  writeFileAtomic(file, bytes);
  out(`wrote ${file}: ${(bytes.length / 1024).toFixed(0)} KiB, ONNX opset ${ONNX_OPSET}`);
  out(`  input  ${input === 'images' ? `images       uint8 [N, ${desc.height}, ${desc.width}] (rank-order encoded in the graph)` : `spike_times  int32 [N, ${desc.height * desc.width}] (bin per pixel, -1 for none)`}`);
  out(`  output features     float32 [N, ${desc.readout.features}]`);
  out(`  output scores       float32 [N, ${desc.readout.classes.length}]`);
  out(`  output label        int64 [N]`);
  return 0;
}

export interface InferReport {
  model: string;
  device: 'cpu' | 'cuda';
  deviceNote?: string;
  samples: number;
  batch: number;
  accuracy: number;
  onnxSamplesPerSecond: number;
  simulatorAccuracy: number;
  eventDrivenSamplesPerSecond: number;
  identicalFeatures: number;
  identicalLabels: number;
  synapticEventsPerSample: number;
  denseMacsPerSample: number;
  peakMemoryMB: number;
}

export async function inferCommand(argv: string[], out: (line: string) => void, err: (line: string) => void): Promise<number> {
  const { values } = parseCommand(argv, INFER_SPEC);
  if (values.help) {
    out(helpText(INFER_SPEC));
    return 0;
  }
  const file = stringFlag(values, 'model');
  if (file === undefined) throw new OptionError('--model', undefined, `an ONNX model file: ${INFER_USAGE}`);
  const device: Device = oneOf('--device', stringFlag(values, 'device'), ['cpu', 'cuda', 'auto'], 'cpu');
  const batch = parseIntegerFlag('--batch', stringFlag(values, 'batch'), 256, { min: 1, max: 65536 });
  const model = readOnnxModel(file);
  const data = loadMnist(stringFlag(values, 'data'));
  const limit = parseIntegerFlag('--limit', stringFlag(values, 'limit'), data.test.count, { min: 1, max: data.test.count });
  const { height, width } = model.network.layers[0].outShape;
  if (height !== data.test.height || width !== data.test.width) throw new OptionError('--model', file, `a model for ${data.test.height}×${data.test.width} images (this one takes ${height}×${width})`);
  const opened = await openSession(model.bytes, device);
  if (opened.fallbackReason !== undefined && !values.json) err(`--device auto: ${opened.fallbackReason}; using the CPU`);
  const quiet = Boolean(values.quiet);

  // The ONNX model, batch by batch (a first batch warms the session up, untimed).
  const hw = height * width;
  const spikeBuffer = new Int32Array(batch * hw);
  const input = (start: number, n: number): Uint8Array | Int32Array => {
    if (model.input === 'images') return data.test.pixels.subarray(start * hw, (start + n) * hw);
    for (let i = 0; i < n; i++) rankOrderEncode(imageAt(data.test, start + i), model.network.timeBins, spikeBuffer.subarray(i * hw, (i + 1) * hw));
    return spikeBuffer.subarray(0, n * hw);
  };
  await runBatch(opened.session, input(0, Math.min(batch, limit)), Math.min(batch, limit), height, width);
  const features = model.readout.features;
  const onnxFeatures = new Uint8Array(limit * features);
  const onnxLabels = new Int32Array(limit);
  const progress = new Progress(`ONNX (${opened.device})`, limit, { quiet: quiet || Boolean(values.json) });
  const t0 = performance.now();
  for (let start = 0; start < limit; start += batch) {
    const n = Math.min(batch, limit - start);
    const r = await runBatch(opened.session, input(start, n), n, height, width);
    for (let i = 0; i < n * features; i++) onnxFeatures[start * features + i] = r.features[i];
    for (let i = 0; i < n; i++) onnxLabels[start + i] = Number(r.labels[i]);
    progress.update(start + n);
  }
  const onnxSeconds = (performance.now() - t0) / 1000;
  progress.finish(limit);
  await opened.session.release();

  // The event-driven simulator on the same samples, one core.
  const engine = new Engine(model.network, { weights: model.convWeights });
  const t1 = performance.now();
  const sim = extractFeatures(engine, data.test, 0, limit);
  const simSeconds = (performance.now() - t1) / 1000;
  const simLabels = predictLabels(model.readout, sim.features);
  let identicalFeatures = 0;
  let identicalLabels = 0;
  for (let i = 0; i < limit; i++) {
    let same = true;
    let count = 0;
    for (let j = 0; j < features; j++) if (onnxFeatures[i * features + j] !== 0) count++;
    if (count !== sim.features.offsets[i + 1] - sim.features.offsets[i]) same = false;
    for (let k = sim.features.offsets[i]; same && k < sim.features.offsets[i + 1]; k++) if (onnxFeatures[i * features + sim.features.indices[k]] !== 1) same = false;
    if (same) identicalFeatures++;
    if (onnxLabels[i] === simLabels[i]) identicalLabels++;
  }
  const labels = data.test.labels.subarray(0, limit);
  const figures = sampleFigures(sim.totals, model.network.timeBins);
  const report: InferReport = {
    model: file,
    device: opened.device,
    ...(opened.fallbackReason === undefined ? {} : { deviceNote: opened.fallbackReason }),
    samples: limit,
    batch,
    accuracy: accuracy(onnxLabels, labels),
    onnxSamplesPerSecond: limit / onnxSeconds,
    simulatorAccuracy: accuracy(simLabels, labels),
    eventDrivenSamplesPerSecond: limit / simSeconds,
    identicalFeatures: identicalFeatures / limit,
    identicalLabels: identicalLabels / limit,
    synapticEventsPerSample: figures.synapticEventsPerSample,
    denseMacsPerSample: figures.denseMacsPerSample,
    peakMemoryMB: peakMemoryMB(),
  };
  if (values.json) {
    out(JSON.stringify(report));
    return 0;
  }
  const f = formatNumber;
  const rows: [string, string][] = [
    ['model', `${file} (${model.input} input)`],
    ['device', opened.device + (opened.fallbackReason ? ` (auto: ${opened.fallbackReason})` : '')],
    ['test samples', String(limit)],
    ['accuracy, ONNX', `${(100 * report.accuracy).toFixed(2)} %`],
    ['accuracy, event-driven simulator', `${(100 * report.simulatorAccuracy).toFixed(2)} %`],
    ['identical feature vectors', `${(100 * report.identicalFeatures).toFixed(2)} %`],
    ['identical labels', `${(100 * report.identicalLabels).toFixed(2)} %`],
    [`ONNX samples/s (batch ${batch})`, f(report.onnxSamplesPerSecond, 1)],
    ['event-driven samples/s (one core)', f(report.eventDrivenSamplesPerSecond, 1)],
    ['dense MACs per sample (what ONNX computes)', f(report.denseMacsPerSample)],
    ['synaptic events per sample (event-driven)', f(report.synapticEventsPerSample)],
    ['peak memory', `${f(report.peakMemoryMB)} MB`],
  ];
  printTable(rows, out);
  return 0;
}
