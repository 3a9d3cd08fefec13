/**
 * The worker thread of evspike's pools: feature extraction over chunks of images, and binary
 * SVM problems of the readout. It receives plain data (network options, weights, shared
 * buffers) and builds its own engine, so results do not depend on how work is shared out.
 */
import { parentPort } from 'node:worker_threads';
import { Engine } from '../events/engine.js';
import type { ImageSet } from '../data/idx.js';
import type { KernelChoice } from '../neurons/kernels/integrate.js';
import { resolveNetwork, type NetworkOptions } from '../neurons/network.js';
import { trainBinarySvm, type ResolvedLinearSvmOptions, type SvmRows } from '../readout/linear-svm.js';
import { extractFeatures } from './extract.js';

export type WorkerRequest =
  | { kind: 'init-engine'; network: NetworkOptions; weights: Float64Array[]; kernel: KernelChoice }
  | { kind: 'set-images'; pixels: SharedArrayBuffer; offset: number; count: number; height: number; width: number }
  | { kind: 'extract'; start: number; end: number }
  | {
      kind: 'svm';
      offsets: SharedArrayBuffer;
      /** 16-bit indices when there are fewer than 65,536 features, else 32-bit. */
      indices: SharedArrayBuffer;
      indexBits: 16 | 32;
      /** Indices from the start of `indices` (the buffer may hold more). */
      indexCount: number;
      rows: number;
      cols: number;
      labels: SharedArrayBuffer;
      label: number;
      classIndex: number;
      options: ResolvedLinearSvmOptions;
    };

export type WorkerReply =
  | { kind: 'progress'; done: number }
  | { kind: 'extracted'; start: number; end: number; offsets: Int32Array; indices: Int32Array; totals: import('./infer.js').RunTotals }
  | { kind: 'svm-done'; classIndex: number; weights: Float64Array; iterations: number; converged: boolean }
  | { kind: 'failed'; message: string };

let engine: Engine | undefined;
let images: ImageSet | undefined;

function handle(msg: WorkerRequest, reply: (r: WorkerReply, transfer?: ArrayBuffer[]) => void): void {
  switch (msg.kind) {
    case 'init-engine': {
      engine = new Engine(resolveNetwork(msg.network), { weights: msg.weights, kernel: msg.kernel });
      return;
    }
    case 'set-images': {
      images = { count: msg.count, height: msg.height, width: msg.width, pixels: new Uint8Array(msg.pixels, msg.offset, msg.count * msg.height * msg.width), labels: new Uint8Array(msg.count) };
      return;
    }
    case 'extract': {
      if (engine === undefined || images === undefined) throw new Error('extract before init-engine and set-images');
      let last = 0;
      const { features, totals } = extractFeatures(engine, images, msg.start, msg.end, (done) => {
        if (done - last >= 250) {
          reply({ kind: 'progress', done: done - last });
          last = done;
        }
      });
      reply({ kind: 'progress', done: msg.end - msg.start - last });
      reply({ kind: 'extracted', start: msg.start, end: msg.end, offsets: features.offsets, indices: features.indices, totals }, [
        features.offsets.buffer as ArrayBuffer,
        features.indices.buffer as ArrayBuffer,
      ]);
      return;
    }
    case 'svm': {
      const features: SvmRows = {
        rows: msg.rows,
        cols: msg.cols,
        offsets: new Int32Array(msg.offsets),
        indices: msg.indexBits === 16 ? new Uint16Array(msg.indices, 0, msg.indexCount) : new Int32Array(msg.indices, 0, msg.indexCount),
      };
      const labels = new Uint8Array(msg.labels);
      const result = trainBinarySvm(features, (i) => labels[i] === msg.label, msg.options);
      reply({ kind: 'svm-done', classIndex: msg.classIndex, weights: result.weights, iterations: result.iterations, converged: result.converged }, [
        result.weights.buffer as ArrayBuffer,
      ]);
      return;
    }
    default: {
      const _exhaustive: never = msg;
      throw new Error(`unknown request ${JSON.stringify(_exhaustive)}`);
    }
  }
}

if (parentPort !== null) {
  const port = parentPort;
  port.on('message', (msg: WorkerRequest) => {
    try {
      handle(msg, (r, transfer) => port.postMessage(r, transfer ?? []));
    } catch (e) {
      port.postMessage({ kind: 'failed', message: (e as Error).message } satisfies WorkerReply);
    }
  });
}
