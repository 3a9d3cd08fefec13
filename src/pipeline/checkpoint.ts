/**
 * Checkpoints: a folder holding `checkpoint.json` (the resolved scenario, the weights and
 * learning state of every conv layer, the training history, the readout, a format version
 * and a SHA-256 checksum of its payload) and, once extracted, the features as binary files
 * whose checksums the JSON records. Every file is written atomically (temporary file, then
 * rename), and the JSON last, so a run killed mid-write leaves the previous checkpoint intact.
 * Loading checks the format, the version, the checksums and the shapes, and says which failed.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EvspikeError } from '../errors.js';
import { convLayers } from '../neurons/network.js';
import type { SparseFeatures } from '../readout/features.js';
import type { ReadoutKind, ScenarioOptions } from './scenario.js';
import { resolveScenario, type ResolvedScenario } from './scenario.js';
import { writeFileAtomic } from '../util/atomic.js';
import { isPlainObject } from '../util/validate.js';

export const CHECKPOINT_FORMAT = 'evspike-checkpoint';
export const CHECKPOINT_VERSION = 1;
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

export interface CheckpointFeatures {
  file: string;
  sha256: string;
  rows: number;
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
    throw new EvspikeError(`${dir}: cannot create checkpoint folder: ${(e as Error).message}`);
  }
  if (!statSync(dir).isDirectory()) throw new EvspikeError(`${dir}: is not a folder`);
}

/** Write `checkpoint.json` into `dir` (created if needed), atomically. */
export function writeCheckpoint(dir: string, payload: CheckpointPayload): void {
  ensureDir(dir);
  const body = JSON.stringify(payload);
  const file: CheckpointFile = { checksum: `sha256:${sha256(body)}`, payload };
  writeFileAtomic(join(dir, 'checkpoint.json'), JSON.stringify(file) + '\n');
}

/** Write a feature set as `name` in `dir`, atomically; returns its record for the JSON. */
export function writeFeatures(dir: string, name: string, f: SparseFeatures): CheckpointFeatures {
  ensureDir(dir);
  const header = new Int32Array([FEATURES_MAGIC, 1, f.rows, f.cols, f.indices.length]);
  const bytes = new Uint8Array(header.byteLength + f.offsets.byteLength + f.indices.byteLength);
  bytes.set(new Uint8Array(header.buffer), 0);
  bytes.set(new Uint8Array(f.offsets.buffer, f.offsets.byteOffset, f.offsets.byteLength), header.byteLength);
  bytes.set(new Uint8Array(f.indices.buffer, f.indices.byteOffset, f.indices.byteLength), header.byteLength + f.offsets.byteLength);
  writeFileAtomic(join(dir, name), bytes);
  return { file: name, sha256: sha256(bytes), rows: f.rows };
}

/** Read a feature file recorded in a checkpoint, checking its checksum and header. */
export function readFeatures(dir: string, record: CheckpointFeatures): SparseFeatures {
  const path = join(dir, record.file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new EvspikeError(`${path}: feature file of the checkpoint is missing`);
  }
  if (sha256(bytes) !== record.sha256) throw new EvspikeError(`${path}: checksum mismatch: the feature file is corrupt or truncated`);
  const aligned = new Uint8Array(bytes.length);
  aligned.set(bytes);
  const header = new Int32Array(aligned.buffer, 0, 5);
  const [magic, version, rows, cols, nnz] = header;
  if (magic !== FEATURES_MAGIC || version !== 1) throw new EvspikeError(`${path}: not an evspike feature file`);
  if (rows !== record.rows || aligned.length !== 20 + 4 * (rows + 1) + 4 * nnz) throw new EvspikeError(`${path}: size does not match its header`);
  return {
    rows,
    cols,
    offsets: new Int32Array(aligned.buffer, 20, rows + 1),
    indices: new Int32Array(aligned.buffer, 20 + 4 * (rows + 1), nnz),
  };
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
  if (!existsSync(dir)) throw new EvspikeError(`${dir}: checkpoint folder does not exist`);
  if (!existsSync(path)) throw new EvspikeError(`${dir}: not a checkpoint (no checkpoint.json)`);
  const text = readFileSync(path, 'utf8');
  let file: unknown;
  try {
    file = JSON.parse(text);
  } catch {
    throw new EvspikeError(`${path}: truncated or not JSON`);
  }
  if (!isPlainObject(file) || typeof file.checksum !== 'string' || !isPlainObject(file.payload)) {
    throw new EvspikeError(`${path}: not an evspike checkpoint (no checksum and payload)`);
  }
  const payload = file.payload as unknown as CheckpointPayload;
  if (payload.format !== CHECKPOINT_FORMAT) throw new EvspikeError(`${path}: not an evspike checkpoint (format ${JSON.stringify(payload.format)})`);
  if (payload.version !== CHECKPOINT_VERSION) {
    throw new EvspikeError(`${path}: checkpoint format version ${payload.version}, this evspike reads version ${CHECKPOINT_VERSION}`);
  }
  if (file.checksum !== `sha256:${sha256(JSON.stringify(payload))}`) {
    throw new EvspikeError(`${path}: checksum mismatch: the checkpoint is corrupt (edited or damaged)`);
  }
  let scenario: ResolvedScenario;
  try {
    scenario = resolveScenario(payload.scenario, `${path}: scenario`);
  } catch (e) {
    throw new EvspikeError(`${(e as Error).message}`);
  }
  const convs = convLayers(scenario.network);
  if (!Array.isArray(payload.layers) || payload.layers.length !== convs.length) {
    throw new EvspikeError(`${path}: mismatched checkpoint: ${payload.layers?.length} trained layers for ${convs.length} conv layers`);
  }
  payload.layers.forEach((l, i) => {
    const spec = convs[i];
    const n = spec.maps * spec.inShape.channels * spec.kernelSize * spec.kernelSize;
    if (l.layer !== spec.index || !Array.isArray(l.weights) || l.weights.length !== n) {
      throw new EvspikeError(`${path}: mismatched checkpoint: layer ${spec.index} needs ${n} weights, the checkpoint has ${l.weights?.length}`);
    }
  });
  if (payload.readout !== undefined) {
    const r = payload.readout;
    if (r.kind === 'linear-svm' && r.weights.length !== r.classes.length * (r.features + 1)) {
      throw new EvspikeError(`${path}: mismatched checkpoint: readout has ${r.weights.length} weights for ${r.classes.length} classes of ${r.features} features`);
    }
  }
  return { dir, payload, scenario };
}
