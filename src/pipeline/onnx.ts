/**
 * The pipeline side of ONNX: describing a checkpoint for export, and running an exported model
 * over test images with onnxruntime beside the event-driven simulator on the same samples.
 */
import type { ImageSet } from '../data/idx.js';
import { imageAt } from '../data/idx.js';
import { CheckpointError, OptionError } from '../errors.js';
import { describeModel, descriptionNetwork, engineFromDescription, type ModelDescription } from '../export/model.js';
import type { LoadedOnnxModel } from '../export/read.js';
import { openSession, runBatch, type Device } from '../export/session.js';
import { rankOrderEncode } from '../neurons/encoder.js';
import { accuracy, predictLabels } from '../readout/linear-svm.js';
import { peakMemoryMB } from '../util/memory.js';
import type { Checkpoint } from './checkpoint.js';
import { extractFeatures } from './extract.js';
import { sampleFigures } from './run.js';

/** Describe the trained network and readout of a complete checkpoint. */
export function describeCheckpoint(cp: Checkpoint): ModelDescription {
  const r = cp.payload.readout;
  if (r === undefined || cp.payload.phase !== 'complete') {
    throw new CheckpointError(cp.dir, `the checkpoint has no readout yet (phase ${cp.payload.phase}); finish it with: npx evspike run --resume ${cp.dir}`);
  }
  return describeModel(
    cp.scenario.network,
    cp.payload.layers.map((l) => l.weights),
    { classes: r.classes, features: r.features, weights: Float64Array.from(r.weights) },
  );
}

export interface OnnxComparison {
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

export interface OnnxComparisonOptions {
  model: LoadedOnnxModel;
  test: ImageSet;
  device: Device;
  /** Images per onnxruntime call. */
  batch: number;
  /** Test images run. */
  limit: number;
  /** Images done so far by onnxruntime. */
  onProgress?: (done: number) => void;
  /** Told once the session is open, with the device it runs on and why (for `auto`). */
  onSession?: (device: 'cpu' | 'cuda', fallbackReason: string | undefined) => void;
}

/**
 * Run the model over the first `limit` test images with onnxruntime (batch by batch, after an
 * untimed warm-up batch), then the event-driven simulator built from the model's description on
 * the same images, and compare: accuracy of both, identical feature vectors and labels, speed.
 */
export async function compareOnnxWithSimulator(options: OnnxComparisonOptions): Promise<OnnxComparison> {
  const { model, test, batch, limit } = options;
  const desc = model.description;
  const network = descriptionNetwork(desc);
  const { height, width } = network.layers[0].outShape;
  if (height !== test.height || width !== test.width) throw new OptionError('--model', model.file, `a model for ${test.height}×${test.width} images (this one takes ${height}×${width})`);
  const opened = await openSession(model.bytes, options.device);
  options.onSession?.(opened.device, opened.fallbackReason);
  const hw = height * width;
  const spikeBuffer = new Int32Array(batch * hw);
  const input = (start: number, n: number): Uint8Array | Int32Array => {
    if (model.input === 'images') return test.pixels.subarray(start * hw, (start + n) * hw);
    for (let i = 0; i < n; i++) rankOrderEncode(imageAt(test, start + i), network.timeBins, spikeBuffer.subarray(i * hw, (i + 1) * hw));
    return spikeBuffer.subarray(0, n * hw);
  };
  await runBatch(opened.session, input(0, Math.min(batch, limit)), Math.min(batch, limit), height, width);
  const features = desc.readout.features;
  const onnxFeatures = new Uint8Array(limit * features);
  const onnxLabels = new Int32Array(limit);
  const t0 = performance.now();
  for (let start = 0; start < limit; start += batch) {
    const n = Math.min(batch, limit - start);
    const r = await runBatch(opened.session, input(start, n), n, height, width);
    for (let i = 0; i < n * features; i++) onnxFeatures[start * features + i] = r.features[i];
    for (let i = 0; i < n; i++) onnxLabels[start + i] = Number(r.labels[i]);
    options.onProgress?.(start + n);
  }
  const onnxSeconds = (performance.now() - t0) / 1000;
  await opened.session.release();

  // The event-driven simulator on the same samples, one core, from the description alone.
  const engine = engineFromDescription(desc);
  const t1 = performance.now();
  const sim = extractFeatures(engine, test, 0, limit);
  const simSeconds = (performance.now() - t1) / 1000;
  const simLabels = predictLabels(desc.readout, sim.features);
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
  const labels = test.labels.subarray(0, limit);
  const figures = sampleFigures(sim.totals, network.timeBins);
  return {
    model: model.file,
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
}
