/**
 * The `evspike` command. Each subcommand lives in its own file; this one dispatches and turns
 * evspike's own errors into one line on stderr and a non-zero exit (a stack trace only for a
 * bug).
 */
import { EvspikeError } from '../errors.js';
import { BENCH_USAGE, benchCommand } from './bench.js';
import { REPLAY_USAGE, replayCommand } from './replay.js';
import { EVALUATE_USAGE, RUN_USAGE, evaluateCommand, runCommand } from './run.js';
import { EXPORT_USAGE, INFER_USAGE, exportCommand, inferCommand } from './onnx.js';
import { VISUALIZE_USAGE, visualizeCommand } from './visualize.js';
import { TRAIN_USAGE, trainCommand } from './train.js';

const USAGE = `evspike: event-driven single-spike convolutional SNN simulator (VDSP, Goupy et al. 2023)

usage:
  ${RUN_USAGE}
      the paper's experiment end to end: VDSP training, feature extraction, SVM readout, report
      (SCENARIO: a file or a shipped name, mnist-vdsp by default, or mnist-quick)
  ${EVALUATE_USAGE}
      re-run the test evaluation of a saved checkpoint
  ${VISUALIZE_USAGE}
      draw the learned kernels, weight histograms, convergence curve, a spike raster and predictions as PNG
  ${EXPORT_USAGE}
      export a checkpoint's network and readout as an ONNX graph (the dense layer-wise pass)
  ${INFER_USAGE}
      run an exported model on the MNIST test set with onnxruntime and compare with the simulator
  ${TRAIN_USAGE}
      train the conv layer with VDSP to convergence on MNIST, then report spikes and events on the test set
  ${REPLAY_USAGE}
      replay a trace recorded from the authors' code and compare
  ${BENCH_USAGE}
      time event-driven inference and training against the dense clock-driven baseline

Each command takes --help.`;

/** Where the command's lines go (stdout and stderr by default; tests capture them). */
export interface CommandIo {
  out(line: string): void;
  err(line: string): void;
}

const processIo: CommandIo = {
  out: (line) => void process.stdout.write(line + '\n'),
  err: (line) => void process.stderr.write(line + '\n'),
};

/** Run the command line `argv` (without `node` and the script); returns the exit code. */
export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const { out, err } = io;
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await runCommand(rest, out);
      case 'evaluate':
        return await evaluateCommand(rest, out);
      case 'visualize':
        return visualizeCommand(rest, out);
      case 'export':
        return exportCommand(rest, out);
      case 'infer':
        return await inferCommand(rest, out, err);
      case 'train':
        return trainCommand(rest, out);
      case 'replay':
        return replayCommand(rest, out);
      case 'bench':
        return benchCommand(rest, out, err);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out(USAGE);
        return command === undefined ? 1 : 0;
      default:
        err(`evspike: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof EvspikeError) {
      err(`evspike ${command}: ${e.message}`);
      return 2;
    }
    throw e;
  }
}
