/**
 * Reader of the reference traces recorded from the authors' code (format:
 * reference/README.md), plain JSON or gzip-compressed (recognised by its magic bytes). Everything is validated on the way in: a malformed trace is
 * refused with a {@link TraceFormatError} naming the field and the value.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { EvspikeError, TraceFormatError } from '../errors.js';
import type { NetworkOptions } from '../neurons/network.js';
import { resolveNetwork, type ResolvedNetwork } from '../neurons/network.js';
import { readFailure } from '../util/files.js';
import { isPlainObject } from '../util/validate.js';

/** A spike or a winner as the trace writes it: [bin, map, y, x]. */
export type TraceSpike = [number, number, number, number];

export interface TraceTrainStep {
  sample: number;
  train_index: number;
  input_times: Int32Array;
  lr_before: number;
  vdsp_count_before: number;
  weights_before: Float64Array;
  weights_after: Float64Array;
  lr_after: number;
  vdsp_count_after: number;
  conv_spikes: TraceSpike[];
  winners: TraceSpike[];
}

export interface TraceInference {
  test_index: number;
  label: number;
  input_times: Int32Array;
  conv_spikes: TraceSpike[];
  pool_features: number[];
  total_spikes: number;
}

export interface Trace {
  readonly file: string;
  readonly network: ResolvedNetwork;
  readonly networkOptions: NetworkOptions;
  readonly seed: number | undefined;
  readonly finalWeights: Float64Array;
  readonly trainSteps: TraceTrainStep[];
  readonly inference: TraceInference[];
  readonly timing: { train_samples_per_s?: number; inference_samples_per_s?: number } | undefined;
}

const TOP_KEYS = [
  'source',
  'seed',
  'params',
  'weights_shape',
  'initial_weights',
  'train_order_first_1000',
  'samples_to_convergence',
  'final_weights',
  'final_lr',
  'final_vdsp_count',
  'final_convergence',
  'train_steps',
  'inference',
  'timing',
];
const STEP_KEYS = [
  'sample',
  'train_index',
  'input_times',
  'lr_before',
  'vdsp_count_before',
  'weights_before',
  'weights_after',
  'lr_after',
  'vdsp_count_after',
  'conv_spikes',
  'winners',
];
const INFERENCE_KEYS = ['test_index', 'label', 'input_times', 'conv_spikes', 'pool_features', 'total_spikes'];

/** The authors' parameter names and where each goes in evspike's options. */
const PARAM_MAP: Record<string, { layer: 'net' | 'conv' | 'learning' | 'pool'; key: string }> = {
  conv_out_channels: { layer: 'conv', key: 'maps' },
  conv_kernel_size: { layer: 'conv', key: 'kernelSize' },
  conv_stride: { layer: 'conv', key: 'stride' },
  conv_padding: { layer: 'conv', key: 'padding' },
  conv_firing_thr: { layer: 'conv', key: 'thresholdV' },
  conv_inhib_radius: { layer: 'conv', key: 'inhibitionRadius' },
  conv_nb_winners: { layer: 'conv', key: 'winners' },
  conv_vdsp_dep_factor: { layer: 'learning', key: 'depressionFactor' },
  conv_vdsp_lr: { layer: 'learning', key: 'learningRate' },
  conv_adaptive_lr: { layer: 'learning', key: 'adaptiveLearningRate' },
  conv_vdsp_max_lr: { layer: 'learning', key: 'learningRateMax' },
  conv_update_lr_cnt: { layer: 'learning', key: 'learningRateInterval' },
  pool_kernel_size: { layer: 'pool', key: 'kernelSize' },
  pool_stride: { layer: 'pool', key: 'stride' },
  pool_padding: { layer: 'pool', key: 'padding' },
  v_rest: { layer: 'net', key: 'restV' },
  v_reset: { layer: 'net', key: 'resetV' },
};

class Checker {
  constructor(readonly file: string) {}

  fail(field: string, value: unknown, expected: string): never {
    throw new TraceFormatError(this.file, field, value, expected);
  }

  object(field: string, value: unknown, keys: readonly string[]): Record<string, unknown> {
    if (!isPlainObject(value)) this.fail(field, value, 'an object');
    for (const k of Object.keys(value)) {
      if (!keys.includes(k)) this.fail(`${field ? `${field}.` : ''}${k}`, value[k], `no such key (known: ${keys.join(', ')})`);
    }
    return value;
  }

  int(field: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(field, value, `an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '∞' : max}]`);
    }
    return value;
  }

  num(field: string, value: unknown): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(field, value, 'a finite number');
    return value;
  }

  array(field: string, value: unknown, length?: number): unknown[] {
    if (!Array.isArray(value)) this.fail(field, value, length === undefined ? 'an array' : `an array of ${length} values`);
    if (length !== undefined && value.length !== length) this.fail(field, value, `an array of ${length} values`);
    return value;
  }

  floats(field: string, value: unknown, length: number): Float64Array {
    const a = this.array(field, value, length);
    const out = new Float64Array(length);
    for (let i = 0; i < length; i++) out[i] = this.num(`${field}[${i}]`, a[i]);
    return out;
  }

  ints(field: string, value: unknown, length: number | undefined, min: number, max: number): Int32Array {
    const a = this.array(field, value, length);
    const out = new Int32Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = this.int(`${field}[${i}]`, a[i], min, max);
    return out;
  }

  spikes(field: string, value: unknown, timeBins: number, maps: number, height: number, width: number): TraceSpike[] {
    const a = this.array(field, value);
    return a.map((entry, i) => {
      const f = `${field}[${i}]`;
      const e = this.array(f, entry, 4);
      return [
        this.int(`${f}[0] (bin)`, e[0], 0, timeBins - 1),
        this.int(`${f}[1] (map)`, e[1], 0, maps - 1),
        this.int(`${f}[2] (y)`, e[2], 0, height - 1),
        this.int(`${f}[3] (x)`, e[3], 0, width - 1),
      ];
    });
  }
}

/** Parse and validate a trace from its JSON text. */
export function parseTrace(text: string, file: string, timeBins = 15): Trace {
  const check = new Checker(file);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new EvspikeError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const top = check.object('', json, TOP_KEYS);

  const learning: Record<string, unknown> = { rule: 'vdsp' };
  const conv: Record<string, unknown> = { kind: 'conv', learning };
  const pool: Record<string, unknown> = { kind: 'pool' };
  const networkOptions: Record<string, unknown> = { timeBins };
  if (top.params !== undefined) {
    const params = check.object('params', top.params, Object.keys(PARAM_MAP));
    for (const [name, value] of Object.entries(params)) {
      const target = PARAM_MAP[name];
      const dest = { conv, learning, pool, net: networkOptions }[target.layer];
      dest[target.key] = value;
    }
  }
  networkOptions.layers = [conv, pool];
  let network: ResolvedNetwork;
  try {
    network = resolveNetwork(networkOptions as NetworkOptions);
  } catch (err) {
    throw new EvspikeError(`${file}: params: ${(err as Error).message}`);
  }
  const convSpec = network.layers[1];
  const poolSpec = network.layers[2];
  if (convSpec.kind !== 'conv' || poolSpec.kind !== 'pool') throw new EvspikeError(`${file}: params do not describe conv → pool`);
  const weightCount = convSpec.maps * convSpec.inShape.channels * convSpec.kernelSize * convSpec.kernelSize;
  const shape = check.ints('weights_shape', top.weights_shape, 4, 1, 1 << 20);
  const expectedShape = [convSpec.maps, convSpec.inShape.channels, convSpec.kernelSize, convSpec.kernelSize];
  if (!expectedShape.every((d, i) => shape[i] === d)) {
    check.fail('weights_shape', `[${Array.from(shape).join(', ')}]`, `[${expectedShape.join(', ')}] (from params)`);
  }
  const pixels = convSpec.inShape.height * convSpec.inShape.width;
  const { height, width } = convSpec.outShape;
  const features = poolSpec.outShape.channels * poolSpec.outShape.height * poolSpec.outShape.width;
  const finalWeights = check.floats('final_weights', top.final_weights, weightCount);

  const trainSteps = (top.train_steps === undefined ? [] : check.array('train_steps', top.train_steps)).map((raw, i) => {
    const f = `train_steps[${i}]`;
    const s = check.object(f, raw, STEP_KEYS);
    for (const key of STEP_KEYS) if (s[key] === undefined) check.fail(`${f}.${key}`, undefined, 'a value');
    return {
      sample: check.int(`${f}.sample`, s.sample, 0),
      train_index: check.int(`${f}.train_index`, s.train_index, 0),
      input_times: check.ints(`${f}.input_times`, s.input_times, pixels, -1, timeBins - 1),
      lr_before: check.num(`${f}.lr_before`, s.lr_before),
      vdsp_count_before: check.int(`${f}.vdsp_count_before`, s.vdsp_count_before, 0),
      weights_before: check.floats(`${f}.weights_before`, s.weights_before, weightCount),
      weights_after: check.floats(`${f}.weights_after`, s.weights_after, weightCount),
      lr_after: check.num(`${f}.lr_after`, s.lr_after),
      vdsp_count_after: check.int(`${f}.vdsp_count_after`, s.vdsp_count_after, 0),
      conv_spikes: check.spikes(`${f}.conv_spikes`, s.conv_spikes, timeBins, convSpec.maps, height, width),
      winners: check.spikes(`${f}.winners`, s.winners, timeBins, convSpec.maps, height, width),
    };
  });

  const inference = (top.inference === undefined ? [] : check.array('inference', top.inference)).map((raw, i) => {
    const f = `inference[${i}]`;
    const s = check.object(f, raw, INFERENCE_KEYS);
    for (const key of INFERENCE_KEYS) if (s[key] === undefined) check.fail(`${f}.${key}`, undefined, 'a value');
    return {
      test_index: check.int(`${f}.test_index`, s.test_index, 0),
      label: check.int(`${f}.label`, s.label, 0, 9),
      input_times: check.ints(`${f}.input_times`, s.input_times, pixels, -1, timeBins - 1),
      conv_spikes: check.spikes(`${f}.conv_spikes`, s.conv_spikes, timeBins, convSpec.maps, height, width),
      pool_features: Array.from(check.ints(`${f}.pool_features`, s.pool_features, undefined, 0, features - 1)),
      total_spikes: check.int(`${f}.total_spikes`, s.total_spikes, 0),
    };
  });

  const seed = top.seed === undefined ? undefined : check.int('seed', top.seed, Number.MIN_SAFE_INTEGER);
  const timing = top.timing === undefined ? undefined : (check.object('timing', top.timing, ['train_samples_per_s', 'inference_samples_per_s']) as Trace['timing']);
  return { file, network, networkOptions: networkOptions as NetworkOptions, seed, finalWeights, trainSteps, inference, timing };
}

/** The text of a trace file, gunzipped when it starts with gzip's magic bytes. */
export function readTraceText(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new EvspikeError(`${file}: cannot read trace: ${readFailure(err)}`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      throw new EvspikeError(`${file}: not a valid gzip file (${(err as Error).message})`);
    }
  }
  return bytes.toString('utf8');
}

/** Read and validate a trace file (`.json` or `.json.gz`). */
export function readTrace(file: string, timeBins = 15): Trace {
  return parseTrace(readTraceText(file), file, timeBins);
}
