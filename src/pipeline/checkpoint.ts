/**
 * Checkpoints: a folder holding `checkpoint.json` (the resolved scenario, the weights and
 * learning state of every conv layer, the training history, the readout, a format version
 * and a SHA-256 checksum of its payload) and the extracted features as binary part files (one
 * per few thousand images, written as extraction goes) whose checksums the JSON records. Every
 * file is written atomically (temporary file, then rename), and the JSON last, so a run killed
 * mid-write leaves the previous checkpoint intact, and an interrupted extraction resumes from
 * its last part. Loading checks the format, the version, the checksums and the shapes, and
 * says which failed.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';
import { kindOf } from '../neurons/kinds/index.js';
import { trainableLayers } from '../neurons/network.js';
import { concatFeatures, type SparseFeatures } from '../readout/features.js';
import type { ReadoutKind, ScenarioOptions } from './scenario.js';
import { resolveScenario, type ResolvedScenario } from './scenario.js';
import { writeFileAtomic } from '../util/atomic.js';
import { isPlainObject } from '../util/validate.js';

export const CHECKPOINT_FORMAT = 'evspike-checkpoint';
/** The version this evspike writes. */
export const CHECKPOINT_VERSION = 3;
/**
 * The versions this evspike reads: 1 kept each feature set in one file, 2 in parts; both kept
 * VDSP's parameters on the conv layer itself, 3 under its `learning` option.
 */
export const CHECKPOINT_VERSIONS_READ: readonly number[] = [1, 2, 3];
const FEATURES_MAGIC = 0x46535645; // "EVSF" little-endian

/** One conv layer's learned state. */
export interface CheckpointLayer {
  /** Index of the layer in the network. */
  layer: number;
  initialWeights: number[];
  weights: number[];
  learningRate: number;
  applications: number;
  samples: number;
  stoppedBy: 'convergence' | 'epochs' | 'limit';
  convergence: number;
  /** Q after each training sample. */
  convergenceHistory: number[];
}

export interface CheckpointReadout {
  kind: ReadoutKind;
  classes: number[];
  features: number;
  /** classes × (features + 1) weights (linear-svm), row-major. */
  weights: number[];
  iterations: number[];
}

/** One feature file: `rows` consecutive images. */
export interface CheckpointFeaturePart {
  file: string;
  sha256: string;
  rows: number;
}

/** A feature set: the first `rows` images, in parts of consecutive images. */
export interface CheckpointFeatures {
  rows: number;
  parts: CheckpointFeaturePart[];
}

export interface CheckpointPayload {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  createdAt: string;
  scenario: ScenarioOptions;
  /** 'trained': the conv layers are trained; 'complete': the readout too. */
  phase: 'trained' | 'complete';
  layers: CheckpointLayer[];
  features?: { train?: CheckpointFeatures; test?: CheckpointFeatures };
  readout?: CheckpointReadout;
  results?: Record<string, unknown>;
}

interface CheckpointFile {
  checksum: string;
  payload: CheckpointPayload;
}

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new CheckpointError(dir, `cannot create checkpoint folder: ${(e as Error).message}`);
  }
  if (!statSync(dir).isDirectory()) throw new CheckpointError(dir, `is not a folder`);
}

/** Write `checkpoint.json` into `dir` (created if needed), atomically. */
export function writeCheckpoint(dir: string, payload: CheckpointPayload): void {
  ensureDir(dir);
  const body = JSON.stringify(payload);
  const file: CheckpointFile = { checksum: `sha256:${sha256(body)}`, payload };
  writeFileAtomic(join(dir, 'checkpoint.json'), JSON.stringify(file) + '\n');
}

/** Write a feature set as `name` in `dir`, atomically; returns its record for the JSON. */
export function writeFeatures(dir: string, name: string, f: SparseFeatures): CheckpointFeaturePart {
  ensureDir(dir);
  const header = new Int32Array([FEATURES_MAGIC, 1, f.rows, f.cols, f.indices.length]);
  const bytes = new Uint8Array(header.byteLength + f.offsets.byteLength + f.indices.byteLength);
  bytes.set(new Uint8Array(header.buffer), 0);
  bytes.set(new Uint8Array(f.offsets.buffer, f.offsets.byteOffset, f.offsets.byteLength), header.byteLength);
  bytes.set(new Uint8Array(f.indices.buffer, f.indices.byteOffset, f.indices.byteLength), header.byteLength + f.offsets.byteLength);
  writeFileAtomic(join(dir, name), bytes);
  return { file: name, sha256: sha256(bytes), rows: f.rows };
}

/** Read every part of a feature set recorded in a checkpoint, as one set. */
export function readFeatureSet(dir: string, record: CheckpointFeatures, cols: number): SparseFeatures {
  const parts = record.parts.map((p) => readFeatures(dir, p));
  const wrong = parts.find((p) => p.cols !== cols);
  if (wrong !== undefined) throw new CheckpointError(dir, `mismatched checkpoint: features of ${wrong.cols} columns, the network has ${cols}`);
  return concatFeatures(parts, cols);
}

/** Read a feature file recorded in a checkpoint, checking its checksum and header. */
export function readFeatures(dir: string, record: CheckpointFeaturePart): SparseFeatures {
  const path = join(dir, record.file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new CheckpointError(path, `feature file of the checkpoint is missing`);
  }
  if (sha256(bytes) !== record.sha256) throw new CheckpointError(path, `checksum mismatch: the feature file is corrupt or truncated`);
  const aligned = new Uint8Array(bytes.length);
  aligned.set(bytes);
  const header = new Int32Array(aligned.buffer, 0, 5);
  const [magic, version, rows, cols, nnz] = header;
  if (magic !== FEATURES_MAGIC || version !== 1) throw new CheckpointError(path, `not an evspike feature file`);
  if (rows !== record.rows || aligned.length !== 20 + 4 * (rows + 1) + 4 * nnz) throw new CheckpointError(path, `size does not match its header`);
  return {
    rows,
    cols,
    offsets: new Int32Array(aligned.buffer, 20, rows + 1),
    indices: new Int32Array(aligned.buffer, 20 + 4 * (rows + 1), nnz),
  };
}

/** Version 1 kept each feature set as one file `{ file, sha256, rows }`: make it one part. */
function upgradeFromVersion1(payload: CheckpointPayload): void {
  const old = payload.features as Record<string, CheckpointFeaturePart | undefined> | undefined;
  if (old !== undefined) {
    const upgrade = (p: CheckpointFeaturePart | undefined): CheckpointFeatures | undefined => (p === undefined ? undefined : { rows: p.rows, parts: [p] });
    payload.features = { train: upgrade(old.train), test: upgrade(old.test) };
  }
  payload.version = 2;
}

/** VDSP's parameters used to sit on the conv layer itself: move them under `learning`. */
function upgradeFromVersion2(payload: CheckpointPayload): void {
  const layers = payload.scenario?.network?.layers as Record<string, unknown>[] | undefined;
  for (const layer of layers ?? []) {
    if (layer.kind !== 'conv' || layer.learning !== undefined) continue;
    const learning: Record<string, unknown> = { rule: 'vdsp' };
    for (const key of ['learningRate', 'learningRateMax', 'adaptiveLearningRate', 'learningRateInterval', 'potentiationFactor', 'depressionFactor']) {
      if (key in layer) {
        learning[key] = layer[key];
        delete layer[key];
      }
    }
    layer.learning = learning;
  }
  payload.version = 3;
}

/** A loaded, verified checkpoint. */
export interface Checkpoint {
  readonly dir: string;
  readonly payload: CheckpointPayload;
  readonly scenario: ResolvedScenario;
}

/** Load and verify `dir/checkpoint.json`. */
export function readCheckpoint(dir: string): Checkpoint {
  const path = join(dir, 'checkpoint.json');
  if (!existsSync(dir)) throw new CheckpointError(dir, `checkpoint folder does not exist`);
  if (!existsSync(path)) throw new CheckpointError(dir, `not a checkpoint (no checkpoint.json)`);
  const text = readFileSync(path, 'utf8');
  let file: unknown;
  try {
    file = JSON.parse(text);
  } catch {
    throw new CheckpointError(path, `truncated or not JSON`);
  }
  if (!isPlainObject(file) || typeof file.checksum !== 'string' || !isPlainObject(file.payload)) {
    throw new CheckpointError(path, `not an evspike checkpoint (no checksum and payload)`);
  }
  const payload = file.payload as unknown as CheckpointPayload;
  if (payload.format !== CHECKPOINT_FORMAT) throw new CheckpointError(path, `not an evspike checkpoint (format ${JSON.stringify(payload.format)})`);
  if (!CHECKPOINT_VERSIONS_READ.includes(payload.version)) {
    throw new CheckpointError(path, `checkpoint format version ${JSON.stringify(payload.version)}, this evspike reads versions ${CHECKPOINT_VERSIONS_READ.join(' and ')}`);
  }
  if (file.checksum !== `sha256:${sha256(JSON.stringify(payload))}`) {
    throw new CheckpointError(path, `checksum mismatch: the checkpoint is corrupt (edited or damaged)`);
  }
  if (payload.version === 1) upgradeFromVersion1(payload);
  if (payload.version === 2) upgradeFromVersion2(payload);
  let scenario: ResolvedScenario;
  try {
    scenario = resolveScenario(payload.scenario, 'scenario');
  } catch (e) {
    throw new CheckpointError(path, (e as Error).message);
  }
  const trainable = trainableLayers(scenario.network);
  if (!Array.isArray(payload.layers) || payload.layers.length !== trainable.length) {
    throw new CheckpointError(path, `mismatched checkpoint: ${payload.layers?.length} trained layers for ${trainable.length} layers with weights`);
  }
  payload.layers.forEach((l, i) => {
    const spec = trainable[i];
    const n = kindOf(spec).weightCount(spec);
    if (l.layer !== spec.index || !Array.isArray(l.weights) || l.weights.length !== n) {
      throw new CheckpointError(path, `mismatched checkpoint: layer ${spec.index} needs ${n} weights, the checkpoint has ${l.weights?.length}`);
    }
  });
  for (const which of ['train', 'test'] as const) {
    const set = payload.features?.[which];
    if (set === undefined) continue;
    const ok =
      Number.isInteger(set.rows) &&
      Array.isArray(set.parts) &&
      set.parts.every((p) => typeof p.file === 'string' && /^[\w.-]+$/.test(p.file) && Number.isInteger(p.rows) && p.rows > 0) &&
      set.parts.reduce((n, p) => n + p.rows, 0) === set.rows;
    if (!ok) throw new CheckpointError(path, `malformed checkpoint: features.${which} is not a list of feature files adding up to its rows`);
  }
  if (payload.readout !== undefined) {
    const r = payload.readout;
    if (r.kind === 'linear-svm' && r.weights.length !== r.classes.length * (r.features + 1)) {
      throw new CheckpointError(path, `mismatched checkpoint: readout has ${r.weights.length} weights for ${r.classes.length} classes of ${r.features} features`);
    }
  }
  return { dir, payload, scenario };
}
