/** `evspike replay TRACE [--out FILE] [--precision float32|float64] [--json]` */
import { replayTrace } from '../replay/replay.js';
import { readTrace } from '../replay/trace.js';
import { writeFileAtomic } from '../util/atomic.js';
import { oneOf } from '../util/validate.js';
import { OptionError } from '../errors.js';
import { helpText, parseCommand, stringFlag, usageLine, type CommandSpec } from './args.js';
import { JSON_FLAG } from './flags.js';
import { printTable } from './table.js';

export const REPLAY_SPEC: CommandSpec = {
  name: 'replay',
  summary: "Replay a trace recorded from the authors' code: every training step from its recorded state and inputs, every test sample with the final weights; print how many match.",
  args: [{ name: 'TRACE', help: 'The trace file, .json or .json.gz (the authors\' seed-0 trace: reference/goupy-mnist-seed0.json.gz).' }],
  flags: {
    out: { type: 'string', value: 'FILE', help: "Write the replayed results as JSON with the trace's key names (atomically)." },
    precision: { type: 'string', value: 'float32|float64', help: "Arithmetic of a bin's conv input.", default: 'float32' },
    json: JSON_FLAG,
  },
};
const REPLAY_USAGE = usageLine(REPLAY_SPEC);

const pct = (n: number, d: number): string => (d === 0 ? '-' : `${((100 * n) / d).toFixed(1)} %`);

export function replayCommand(argv: string[], out: (line: string) => void): number {
  const { values, positionals } = parseCommand(argv, REPLAY_SPEC);
  if (values.help) {
    out(helpText(REPLAY_SPEC));
    return 0;
  }
  const file = positionals[0];
  if (file === undefined) throw new OptionError('TRACE', undefined, `a trace file: ${REPLAY_USAGE}`);
  const precision = oneOf('--precision', stringFlag(values, 'precision'), ['float32', 'float64'], 'float32');
  const trace = readTrace(file);
  const started = performance.now();
  const result = replayTrace(trace, { precision });
  const seconds = (performance.now() - started) / 1000;
  const outFile = stringFlag(values, 'out');
  if (outFile !== undefined) {
    writeFileAtomic(outFile, JSON.stringify({ train_steps: result.train_steps, inference: result.inference }) + '\n');
  }
  const r = result.report;
  if (values.json) {
    out(JSON.stringify({ trace: file, precision, seconds, trainSteps: r.trainSteps, inference: r.inference, steps: r.steps, samples: r.samples }));
    return 0;
  }
  out(`replayed ${file} (${precision} integration) in ${seconds.toFixed(2)} s`);
  const inf = r.inference;
  const maxDiff = r.steps.reduce((m, s) => Math.max(m, s.maxWeightDiff), 0);
  const rows: [string, string][] = [
    ['training steps identical', `${r.trainSteps.identical}/${r.trainSteps.total} (${pct(r.trainSteps.identical, r.trainSteps.total)})`],
    ['largest weight difference after a step', maxDiff.toExponential(2)],
    ['test samples with identical conv spikes', `${inf.convSpikesIdentical}/${inf.total} (${pct(inf.convSpikesIdentical, inf.total)})`],
    ['test samples with identical pool features', `${inf.poolFeaturesIdentical}/${inf.total} (${pct(inf.poolFeaturesIdentical, inf.total)})`],
    ['test samples with identical total spikes', `${inf.totalSpikesIdentical}/${inf.total} (${pct(inf.totalSpikesIdentical, inf.total)})`],
    ['mean Jaccard index of pool features', inf.meanJaccard.toFixed(6)],
  ];
  printTable(rows, out);
  const differing = r.steps.filter((s) => !s.identical);
  for (const s of differing) {
    const what = [
      s.convSpikesEqual ? '' : 'conv spikes',
      s.winnersEqual ? '' : 'winners',
      s.learningRateEqual ? '' : 'learning rate',
      s.countEqual ? '' : 'VDSP count',
      s.maxWeightDiff > 1e-6 ? `weights (max diff ${s.maxWeightDiff.toExponential(2)})` : '',
    ].filter(Boolean);
    out(`  step ${s.sample} differs: ${what.join(', ')}`);
  }
  if (outFile !== undefined) out(`wrote ${outFile}`);
  return 0;
}
