/**
 * `evspike export` (a checkpoint to an ONNX file) and `evspike infer` (an ONNX file over the
 * MNIST test set with onnxruntime, compared with the event-driven simulator on the same
 * samples).
 */
import { loadMnist } from '../data/mnist.js';
import { OptionError } from '../errors.js';
import { buildOnnxModel, ONNX_OPSET, type ModelInput } from '../export/onnx.js';
import { readOnnxModel } from '../export/read.js';
import type { Device } from '../export/session.js';
import { readCheckpoint } from '../pipeline/checkpoint.js';
import { compareOnnxWithSimulator, describeCheckpoint, type OnnxComparison } from '../pipeline/onnx.js';
import { writeFileAtomic } from '../util/atomic.js';
import { oneOf, parseIntegerFlag } from '../util/validate.js';
import { helpText, parseCommand, stringFlag, usageLine, type CommandSpec } from './args.js';
import { DATA_FLAG, JSON_FLAG, QUIET_FLAG } from './flags.js';
import { Progress } from './progress.js';
import { formatNumber, printTable } from './table.js';

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
  const bytes = buildOnnxModel(desc, input);
  writeFileAtomic(file, bytes);
  out(`wrote ${file}: ${(bytes.length / 1024).toFixed(0)} KiB, ONNX opset ${ONNX_OPSET}`);
  out(`  input  ${input === 'images' ? `images       uint8 [N, ${desc.height}, ${desc.width}] (rank-order encoded in the graph)` : `spike_times  int32 [N, ${desc.height * desc.width}] (bin per pixel, -1 for none)`}`);
  out(`  output features     float32 [N, ${desc.readout.features}]`);
  out(`  output scores       float32 [N, ${desc.readout.classes.length}]`);
  out(`  output label        int64 [N]`);
  return 0;
}

/** The report of `evspike infer`. */
export type InferReport = OnnxComparison;

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
  const quiet = Boolean(values.quiet) || Boolean(values.json);
  const progress = new Progress('ONNX', limit, { quiet });
  const report: InferReport = await compareOnnxWithSimulator({
    model,
    test: data.test,
    device,
    batch,
    limit,
    onProgress: (done) => progress.update(done),
    onSession: (_device, fallbackReason) => {
      if (fallbackReason !== undefined && !values.json) err(`--device auto: ${fallbackReason}; using the CPU`);
    },
  });
  progress.finish(limit);
  if (values.json) {
    out(JSON.stringify(report));
    return 0;
  }
  const f = formatNumber;
  const rows: [string, string][] = [
    ['model', `${file} (${model.input} input)`],
    ['device', report.device + (report.deviceNote ? ` (auto: ${report.deviceNote})` : '')],
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
