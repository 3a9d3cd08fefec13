/**
 * A pool of worker threads for the two parallel phases: feature extraction (chunks of images
 * handed out as workers free up) and the one-vs-rest readout (one binary problem per class).
 * Results are put back in order, so they are identical whatever the number of workers.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { EvspikeError } from '../errors.js';
import type { ImageSet } from '../data/idx.js';
import type { KernelChoice } from '../neurons/kernels/integrate.js';
import type { NetworkOptions } from '../neurons/network.js';
import { FeatureAppender, sharedCompactIndices, type SparseFeatures } from '../readout/features.js';
import { classesOf, type LinearReadout, type ResolvedLinearSvmOptions } from '../readout/linear-svm.js';
import { InterruptedError, OptionError } from '../errors.js';
import type { RunTotals } from './infer.js';
import { emptyTotals, mergeTotals } from './infer.js';
import type { WorkerReply, WorkerRequest } from './worker.js';

/** The built worker script (dist/pipeline/worker.js), also when this module runs from src/. */
function workerScript(): URL {
  const beside = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const built = fileURLToPath(beside).replace(/([\\/])src([\\/])pipeline([\\/])worker\.js$/, '$1dist$2pipeline$3worker.js');
  if (existsSync(built)) return pathToFileURL(built);
  throw new EvspikeError('the worker script dist/pipeline/worker.js is missing: run npm run build');
}

/** `a`'s values (each below 65,536) as 16-bit integers in shared memory. */
function sharedUint16(a: Int32Array): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(a.length * 2);
  new Uint16Array(sab).set(a);
  return sab;
}

/** `pixels` in shared memory: where they lie when they are there already (see readIdxFile), else a copy. */
function sharedPixels(pixels: Uint8Array): { buffer: SharedArrayBuffer; offset: number } {
  if (pixels.buffer instanceof SharedArrayBuffer) return { buffer: pixels.buffer, offset: pixels.byteOffset };
  return { buffer: toShared(pixels), offset: 0 };
}

function toShared<T extends Int32Array | Uint8Array>(a: T): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(a.byteLength);
  new Uint8Array(sab).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return sab;
}

/**
 * Hand out work to every worker until `next` runs dry: `next` posts one task to the worker (or
 * returns false when there is none left), `onReply` takes the worker's replies and returns true
 * when the task it was given is done.
 */
function shareOut(workers: readonly Worker[], next: (worker: Worker) => boolean, onReply: (reply: WorkerReply) => boolean, setup?: (worker: Worker) => void): Promise<void> {
  return Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve, reject) => {
          const cleanup = (): void => {
            worker.off('message', onMessage);
            worker.off('error', onError);
          };
          const give = (): void => {
            if (!next(worker)) {
              cleanup();
              resolve();
            }
          };
          const onMessage = (r: WorkerReply): void => {
            if (r.kind === 'failed') {
              cleanup();
              reject(new Error(`worker failed: ${r.message}`));
            } else if (onReply(r)) {
              give();
            }
          };
          const onError = (e: Error): void => {
            cleanup();
            reject(e);
          };
          worker.on('message', onMessage);
          worker.on('error', onError);
          setup?.(worker);
          give();
        }),
    ),
  ).then(() => undefined);
}

/** What {@link WorkerPool.extract} extracts. */
export interface PoolExtractJob {
  network: NetworkOptions;
  weights: Float64Array[];
  images: ImageSet;
  /** First image. Default 0. */
  start?: number;
  /** One past the last image. */
  end: number;
  /** Features per image (the neurons of the network's last layer). */
  cols: number;
  kernel?: KernelChoice;
  /** Images per chunk handed to a worker. Default 1,000. */
  chunk?: number;
  /** Called with the number of images done so far in this call. */
  onProgress?: (done: number) => void;
  /** Called in image order with each finished chunk [start, end), its features and figures. */
  onChunk?: (start: number, end: number, features: SparseFeatures, totals: RunTotals) => void;
  /**
   * Keep a 16-bit copy of the indices in shared memory as the chunks come (features that the
   * readout trains on: {@link WorkerPool.trainLinearReadout} then shares it as it is).
   */
  shared16?: boolean;
  signal?: AbortSignal;
}

/** `work`, or an {@link InterruptedError} as soon as `signal` aborts. */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  if (signal.aborted) return Promise.reject(new InterruptedError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new InterruptedError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** What a worker's engine was built from (the network as JSON, copies of the weights). */
interface EngineKey {
  network: string;
  weights: Float64Array[];
  kernel: KernelChoice;
}

function sameEngine(a: EngineKey, b: EngineKey): boolean {
  return (
    a.network === b.network &&
    a.kernel === b.kernel &&
    a.weights.length === b.weights.length &&
    a.weights.every((w, i) => w.length === b.weights[i].length && w.every((x, k) => Object.is(x, b.weights[i][k])))
  );
}

export class WorkerPool {
  private readonly workers: Worker[];
  private sharedPixels = new Map<ImageSet, { buffer: SharedArrayBuffer; offset: number }>();
  /** The engine and images every worker holds after the last finished {@link extract}. */
  private engine: EngineKey | undefined;
  private images: ImageSet | undefined;

  /** @param size number of worker threads (≥ 1) */
  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new OptionError('workers', size, 'a positive integer');
    const script = workerScript();
    this.workers = Array.from({ length: size }, () => new Worker(script));
  }

  /** Stop every worker. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /**
   * Extract the features of images [start, end) of `images` with the given network and weights,
   * in chunks handed out as workers free up. Chunks are put back in order: `onChunk` sees them
   * in image order as soon as every earlier chunk is done, so a caller can save a growing
   * prefix. An aborted `signal` stops at once with an {@link InterruptedError}; chunks still
   * running are abandoned (close the pool).
   */
  async extract(job: PoolExtractJob): Promise<{ features: SparseFeatures; totals: RunTotals }> {
    const { images, cols, chunk = 1000, signal } = job;
    const first = job.start ?? 0;
    const count = job.end;
    let pixels = this.sharedPixels.get(images);
    if (pixels === undefined) {
      pixels = sharedPixels(images.pixels);
      this.sharedPixels.set(images, pixels);
    }
    // the workers keep their engine and images between calls: only what changed is sent
    const engine: EngineKey = { network: JSON.stringify(job.network), weights: job.weights.map((w) => Float64Array.from(w)), kernel: job.kernel ?? 'auto' };
    const setup: WorkerRequest[] = [];
    if (this.engine === undefined || !sameEngine(this.engine, engine)) {
      setup.push({ kind: 'init-engine', network: job.network, weights: engine.weights, kernel: engine.kernel });
    }
    if (this.images !== images) setup.push({ kind: 'set-images', pixels: pixels.buffer, offset: pixels.offset, count: images.count, height: images.height, width: images.width });
    // until the setup has reached every worker, a failed call leaves their state unknown
    this.engine = undefined;
    this.images = undefined;
    const blocks: (SparseFeatures | undefined)[] = [];
    const totals: RunTotals[] = [];
    // the features put together as the chunks come in order (the copying overlaps the work)
    const appender = new FeatureAppender(cols, count - first, job.shared16 === true && cols <= 0xffff);
    let next = first;
    let done = 0;
    let delivered = 0;
    const deliver = (): void => {
      for (let block = blocks[delivered]; block !== undefined; block = blocks[delivered]) {
        const start = first + delivered * chunk;
        appender.append(block);
        job.onChunk?.(start, start + block.rows, block, totals[delivered]);
        blocks[delivered++] = undefined;
      }
    };
    await abortable(
      shareOut(
        this.workers,
        (worker) => {
          if (next >= count || signal?.aborted) return false;
          const start = next;
          const end = Math.min(count, start + chunk);
          next = end;
          worker.postMessage({ kind: 'extract', start, end } satisfies WorkerRequest);
          return true;
        },
        (r) => {
          if (r.kind === 'progress') {
            done += r.done;
            job.onProgress?.(done);
            return false;
          }
          if (r.kind !== 'extracted') return false;
          const index = (r.start - first) / chunk;
          blocks[index] = { rows: r.end - r.start, cols, offsets: r.offsets, indices: r.indices };
          totals[index] = r.totals;
          deliver();
          return true;
        },
        (worker) => setup.forEach((request) => worker.postMessage(request)),
      ),
      signal,
    );
    this.engine = engine;
    this.images = images;
    return { features: appender.build(), totals: totals.reduce(mergeTotals, emptyTotals()) };
  }

  /** Train the one-vs-rest linear readout, the classes shared out over the workers. */
  async trainLinearReadout(
    features: SparseFeatures,
    labels: Uint8Array,
    options: ResolvedLinearSvmOptions,
    onClass?: (classesDone: number) => void,
    signal?: AbortSignal,
  ): Promise<LinearReadout> {
    const classes = classesOf(labels, features.rows);
    if (classes.length < 2) throw new OptionError('labels', classes, 'at least two classes in the training labels');
    const offsets = toShared(features.offsets);
    // the solver reads every row ~20 times per class: 16-bit indices where they fit (one shared
    // copy for all workers, half the size)
    const indexBits = features.cols <= 0xffff ? 16 : 32;
    const kept = indexBits === 16 ? sharedCompactIndices(features) : undefined;
    const indices = kept !== undefined ? (kept.buffer as SharedArrayBuffer) : indexBits === 16 ? sharedUint16(features.indices) : toShared(features.indices);
    const sharedLabels = toShared(labels.subarray(0, features.rows));
    const stride = features.cols + 1;
    const weights = new Float64Array(classes.length * stride);
    const iterations = new Array<number>(classes.length).fill(0);
    let next = 0;
    let done = 0;
    const work = shareOut(
      this.workers,
      (worker) => {
        if (next >= classes.length || signal?.aborted) return false;
        const c = next++;
        worker.postMessage({
          kind: 'svm',
          offsets,
          indices,
          indexBits,
          indexCount: features.indices.length,
          rows: features.rows,
          cols: features.cols,
          labels: sharedLabels,
          label: classes[c],
          classIndex: c,
          options,
        } satisfies WorkerRequest);
        return true;
      },
      (r) => {
        if (r.kind !== 'svm-done') return false;
        weights.set(r.weights, r.classIndex * stride);
        iterations[r.classIndex] = r.iterations;
        onClass?.(++done);
        return true;
      },
    );
    await abortable(work, signal);
    return { kind: 'linear-svm', classes, features: features.cols, weights, iterations, options };
  }
}
