/**
 * Running exported models with onnxruntime-node on the CPU or the CUDA execution provider.
 *
 * The npm package ships the CPU provider. The CUDA provider's libraries are not in the
 * package; the project's .npmrc skips their download (it needs hosts outside the npm
 * registry). A GPU user installs them with
 * `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`.
 */
import ort from 'onnxruntime-node';
import { EvspikeError } from '../errors.js';

export type Device = 'cpu' | 'cuda' | 'auto';


export interface OpenedSession {
  readonly session: ort.InferenceSession;
  /** The provider the session runs on. */
  readonly device: 'cpu' | 'cuda';
  /** Why `auto` fell back to the CPU, when it did. */
  readonly fallbackReason?: string;
}

export const CUDA_INSTALL_HINT =
  'the CUDA execution provider needs its libraries: on a machine with an NVIDIA GPU and CUDA 12, run ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node';

function firstLine(message: string): string {
  return message.split('\n')[0].trim();
}

async function create(model: string | Uint8Array, providers: string[]): Promise<ort.InferenceSession> {
  // onnxruntime logs a failed provider load itself, on stderr, at error level; evspike reports
  // such failures once, as its own error. (The level applies from the first session on.)
  ort.env.logLevel = 'fatal';
  // Without the CPU memory arena the peak memory of a batch of 256 halves, at the same speed.
  const options: ort.InferenceSession.SessionOptions = { executionProviders: providers, logSeverityLevel: 4, graphOptimizationLevel: 'all', enableCpuMemArena: false };
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
}

/**
 * Open a session on `device`. `cuda` fails with a clear message when the CUDA provider cannot
 * be used; `auto` uses it when it can and otherwise the CPU, saying why.
 */
export async function openSession(model: string | Uint8Array, device: Device): Promise<OpenedSession> {
  if (device === 'cpu') return { session: await create(model, ['cpu']), device: 'cpu' };
  try {
    return { session: await create(model, ['cuda', 'cpu']), device: 'cuda' };
  } catch (e) {
    const reason = firstLine((e as Error).message);
    if (device === 'cuda') throw new EvspikeError(`--device cuda: the CUDA execution provider is not available (${reason}); ${CUDA_INSTALL_HINT}`);
    return { session: await create(model, ['cpu']), device: 'cpu', fallbackReason: `CUDA execution provider not available (${reason})` };
  }
}

/** The outputs of a batch. */
export interface OnnxBatchResult {
  features: Float32Array;
  scores: Float32Array;
  labels: BigInt64Array;
}

/**
 * Run one batch: `images` (uint8, N·H·W) for a model with an `images` input, or spike bins
 * (int32, N·H·W) for one with `spike_times`.
 */
export async function runBatch(session: ort.InferenceSession, data: Uint8Array | Int32Array, count: number, height: number, width: number): Promise<OnnxBatchResult> {
  const inputName = session.inputNames[0];
  // onnxruntime-node refuses a tensor over shared memory ("Invalid argument"), where MNIST's
  // pixels lie (readIdxFile): such a batch is copied
  if (data.buffer instanceof SharedArrayBuffer) data = data.slice();
  const feeds: Record<string, ort.Tensor> =
    inputName === 'images'
      ? { images: new ort.Tensor('uint8', data as Uint8Array, [count, height, width]) }
      : { spike_times: new ort.Tensor('int32', data as Int32Array, [count, height * width]) };
  const out = await session.run(feeds);
  return { features: out.features.data as Float32Array, scores: out.scores.data as Float32Array, labels: out.label.data as BigInt64Array };
}
