/**
 * The `evspike` command. Each subcommand lives in its own file and declares its flags in a
 * {@link CommandSpec}; this one dispatches, prints help and the version, and turns evspike's
 * own errors into one line on stderr and exit code 2 (a stack trace only for a bug).
 */
import { EvspikeError } from '../errors.js';
import { closest, usageLine, type CommandSpec } from './args.js';
import { BENCH_SPEC, benchCommand } from './bench.js';
import { REPLAY_SPEC, replayCommand } from './replay.js';
import { EVALUATE_SPEC, RUN_SPEC, evaluateCommand, runCommand } from './run.js';
import { EXPORT_SPEC, INFER_SPEC, exportCommand, inferCommand } from './onnx.js';
import { VISUALIZE_SPEC, visualizeCommand } from './visualize.js';
import { TRAIN_SPEC, trainCommand } from './train.js';
import { SWEEP_SPEC, sweepCommand } from './sweep.js';
import { WORKER_SPEC, workerCommand } from './worker.js';
import { version } from '../util/version.js';

/** Where the command's lines go (stdout and stderr by default; tests capture them). */
export interface CommandIo {
  out(line: string): void;
  err(line: string): void;
}

type Out = (line: string) => void;

/** Every command: its declaration and how to run it. */
const COMMANDS: { spec: CommandSpec; run: (argv: string[], out: Out, err: Out) => number | Promise<number> }[] = [
  { spec: RUN_SPEC, run: runCommand },
  { spec: EVALUATE_SPEC, run: (argv, out) => evaluateCommand(argv, out) },
  { spec: VISUALIZE_SPEC, run: (argv, out) => visualizeCommand(argv, out) },
  { spec: EXPORT_SPEC, run: (argv, out) => exportCommand(argv, out) },
  { spec: INFER_SPEC, run: inferCommand },
  { spec: TRAIN_SPEC, run: (argv, out) => trainCommand(argv, out) },
  { spec: REPLAY_SPEC, run: (argv, out) => replayCommand(argv, out) },
  { spec: BENCH_SPEC, run: benchCommand },
  { spec: SWEEP_SPEC, run: sweepCommand },
  { spec: WORKER_SPEC, run: workerCommand },
];

export { version } from '../util/version.js';

function usage(): string {
  const lines = COMMANDS.map(({ spec }) => `  ${spec.name.padEnd(10)} ${spec.summary.split(/(?<=\.) /)[0]}`);
  return [
    'evspike: event-driven single-spike convolutional SNN simulator (VDSP, Goupy et al. 2023)',
    '',
    'usage: evspike COMMAND [ARGS] [FLAGS]',
    '',
    'commands:',
    ...lines,
    '',
    'Each command lists its flags, with their meaning and default, under `evspike COMMAND --help`.',
    '`evspike --version` prints the version. Bad input stops with one line and exit code 2.',
    '',
    ...COMMANDS.map(({ spec }) => `  ${usageLine(spec)}`),
  ].join('\n');
}

const processIo: CommandIo = {
  out: (line) => void process.stdout.write(line + '\n'),
  err: (line) => void process.stderr.write(line + '\n'),
};

/** Run the command line `argv` (without `node` and the script); returns the exit code. */
export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const { out, err } = io;
  const [command, ...rest] = argv;
  if (command === undefined) {
    out(usage());
    return 1;
  }
  if (command === 'help' || command === '--help' || command === '-h') {
    const topic = COMMANDS.find((c) => c.spec.name === rest[0]);
    if (topic !== undefined) return main([topic.spec.name, '--help'], io);
    out(usage());
    return 0;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    out(`evspike ${version()}`);
    return 0;
  }
  const entry = COMMANDS.find((c) => c.spec.name === command);
  if (entry === undefined) {
    const guess = closest(command.replace(/^-+/, ''), COMMANDS.map((c) => c.spec.name));
    err(`evspike: unknown command ${JSON.stringify(command)}${guess === undefined ? '' : `: did you mean ${guess}?`}\n\n${usage()}`);
    return 2;
  }
  try {
    return await entry.run(rest, out, err);
  } catch (e) {
    if (e instanceof EvspikeError) {
      err(`evspike ${command}: ${e.message}`);
      return 2;
    }
    throw e;
  }
}
