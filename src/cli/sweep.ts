/**
 * `evspike sweep SWEEP`: every point of a sweep (values × seeds) as a normal run, each result
 * written as it comes, finished points skipped on a second run; `evspike sweep --report DIR`:
 * the tables, the CSV and the figures of a results folder.
 */
import { join } from 'node:path';
import { loadDataset } from '../data/datasets.js';
import { InterruptedError, OptionError } from '../errors.js';
import { defaultWorkers } from '../pipeline/run.js';
import { DEFAULT_METRICS, loadSweep, readSweepResults, runSweep, shippedSweeps, sweepCsv, sweepPoints, sweepTable, type SweepPointResult, type SweepRow } from '../pipeline/sweep.js';
import { writeFileAtomic } from '../util/atomic.js';
import { parseIntegerFlag } from '../util/validate.js';
import { helpText, parseCommand, stringFlag, type CommandSpec } from './args.js';
import { DATA_FLAG, JSON_FLAG, QUIET_FLAG, WORKERS_FLAG } from './flags.js';
import { version } from '../util/version.js';
import { Progress } from './progress.js';
import { exitCodeOf, withSignals } from './signals.js';
import { printColumns } from './table.js';

export const SWEEP_SPEC: CommandSpec = {
  name: 'sweep',
  summary:
    'Run a sweep: every point (axis values × seed) is a normal run whose full result is written to DIR/runs/ as it finishes; running the same command again skips finished points. Then the tables per axis (mean ± sd over seeds), a CSV and a figure per axis. With --report DIR, only the report of a results folder.',
  args: [{ name: 'SWEEP', optional: true, help: `A sweep file (path), or a shipped sweep by name: ${shippedSweeps().join(', ')}.` }],
  flags: {
    out: { type: 'string', value: 'DIR', help: 'The results folder.', default: 'out/sweep-NAME' },
    seeds: { type: 'string', value: 'LIST', help: "Seeds to run instead of the sweep's, as 0,1,2 or 0-9." },
    workers: WORKERS_FLAG,
    queue: { type: 'string', value: 'URL', help: 'Run the points through BullMQ on this Redis (redis://[:password@]host:port[/db], rediss:// for TLS): this process coordinates, `evspike worker` processes run them.' },
    prefix: { type: 'string', value: 'NAME', help: 'The BullMQ key prefix of the queue (coordinator and workers must share it).', default: 'evspike' },
    report: { type: 'string', value: 'DIR', help: 'Print the report of a results folder (and write its CSV and figures) without running anything.' },
    data: DATA_FLAG,
    json: JSON_FLAG,
    quiet: QUIET_FLAG,
  },
};

/** Parse `0,1,2` or `0-9` (or both, `0-4,7`) into seeds. */
export function parseSeeds(text: string): number[] {
  const seeds: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (m === null) throw new OptionError('--seeds', text, 'seeds as 0,1,2 or 0-9');
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from || to - from > 10_000 || to > 0xffffffff) throw new OptionError('--seeds', text, 'ascending ranges of seeds in [0, 2^32−1]');
    for (let s = from; s <= to; s++) seeds.push(s);
  }
  return [...new Set(seeds)];
}

const fmt = (m: { mean: number; sd: number } | undefined, metric: string): string => {
  if (m === undefined) return '-';
  const scale = metric === 'accuracy' ? 100 : 1;
  const digits = metric === 'accuracy' ? 2 : Math.abs(m.mean) >= 1000 ? 0 : 1;
  const f = (x: number): string => (x * scale).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return `${f(m.mean)} ± ${f(m.sd)}${metric === 'accuracy' ? ' %' : ''}`;
};

/** Print the table of each part, and write the CSV and the figures into the results folder. */
async function report(outDir: string, out: (line: string) => void, json: boolean): Promise<number> {
  const { manifest, points } = readSweepResults(outDir);
  const metrics = [...DEFAULT_METRICS];
  const rows = sweepTable(points, metrics);
  writeFileAtomic(join(outDir, 'results.csv'), sweepCsv(points, metrics));
  const figures = await writeFigures(outDir, points, rows);
  if (json) {
    out(JSON.stringify({ sweep: manifest.sweep, points: points.length, rows, csv: join(outDir, 'results.csv'), figures }));
    return 0;
  }
  out(`sweep ${manifest.sweep}: ${points.length} finished points in ${outDir} (evspike ${manifest.evspike})`);
  for (const part of [...new Set(rows.map((r) => r.part))]) {
    const partRows = rows.filter((r) => r.part === part);
    out('');
    out(`${part}`);
    printColumns(
      ['value', 'seeds', 'accuracy', 'samples to convergence', 'spikes/sample', 'synaptic events/sample', 'seconds'],
      partRows.map((r) => [r.values.join(' × '), String(r.seeds), ...metrics.map((m) => fmt(r.metrics[m], m))]),
      out,
    );
  }
  out('');
  out(`CSV: ${join(outDir, 'results.csv')}`);
  for (const f of figures) out(`figure: ${f}`);
  return 0;
}

/** A figure per part: its first metric (and its second) against the axis, mean ± sd over seeds. */
async function writeFigures(outDir: string, points: readonly SweepPointResult[], rows: readonly SweepRow[]): Promise<string[]> {
  const { metricAgainstParameterSpec } = await import('../viz/specs.js');
  const { writeFigure } = await import('../viz/figures.js');
  const written: string[] = [];
  for (const part of [...new Set(rows.map((r) => r.part))]) {
    const partPoints = points.filter((p) => p.part === part && p.values.length === 1 && typeof p.values[0] === 'number');
    if (partPoints.length === 0) continue;
    const label = partPoints[0].labels?.[0] ?? partPoints[0].settings.at(-1)?.split('=')[0] ?? 'value';
    for (const metric of ['accuracy', 'samplesToConvergence'] as const) {
      const series = partPoints.map((p) => ({ value: p.values[0] as number, seed: p.seed, metric: (metric === 'accuracy' ? 100 : 1) * Number(p.result[metric]) }));
      const title = metric === 'accuracy' ? 'test accuracy (%)' : 'training samples to convergence';
      const values = series.map((s) => s.value).filter((v) => v > 0);
      const spec = metricAgainstParameterSpec(series, { parameter: label, metric: title, title: `${part}: ${title}`, logX: values.length === series.length && Math.max(...values) / Math.min(...values) >= 20 });
      const files = await writeFigure(join(outDir, 'figures'), `${part}-${metric}`, spec);
      written.push(files[2]);
    }
  }
  return written;
}

export async function sweepCommand(argv: string[], out: (line: string) => void, err: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommand(argv, SWEEP_SPEC);
  if (values.help) {
    out(helpText(SWEEP_SPEC));
    return 0;
  }
  const reportDir = stringFlag(values, 'report');
  if (reportDir !== undefined) {
    if (positionals.length > 0) throw new OptionError('SWEEP', positionals[0], 'nothing with --report (it reads the results folder)');
    return report(reportDir, out, Boolean(values.json));
  }
  const name = positionals[0];
  if (name === undefined) throw new OptionError('SWEEP', undefined, `a sweep file or name (shipped: ${shippedSweeps().join(', ')}), or --report DIR`);
  const sweep = loadSweep(name);
  const seeds = values.seeds === undefined ? undefined : parseSeeds(stringFlag(values, 'seeds')!);
  const workers = parseIntegerFlag('--workers', stringFlag(values, 'workers'), defaultWorkers(), { min: 1, max: 256 });
  const outDir = stringFlag(values, 'out') ?? join('out', `sweep-${sweep.name}`);
  const points = sweepPoints(sweep, seeds);
  const datasets = [...new Set(sweep.parts.map((p) => p.scenario.dataset))];
  if (datasets.length !== 1) throw new OptionError('SWEEP', name, 'parts on one data set');
  const data = loadDataset(datasets[0], stringFlag(values, 'data'));
  const quiet = Boolean(values.quiet);
  const progress = new Progress(`sweep ${sweep.name} (points)`, points.length, { quiet });
  const controller = new AbortController();
  const queueUrl = stringFlag(values, 'queue');
  const sweepWork = async (): Promise<{ ran: number; skipped: number; failed: number }> => {
    if (queueUrl === undefined) {
      const r = await runSweep({
        sweep,
        points,
        data,
        outDir,
        workers,
        version: version(),
        signal: controller.signal,
        onPoint: (done, _total, point, didRun) => progress.update(done, `${didRun ? 'ran' : 'had'} ${point.id}`),
      });
      return { ...r, failed: 0 };
    }
    const { coordinateSweep, parseQueueUrl } = await import('../pipeline/distributed.js');
    const r = await coordinateSweep({
      sweep,
      points,
      data,
      outDir,
      version: version(),
      connection: parseQueueUrl(queueUrl),
      prefix: stringFlag(values, 'prefix') ?? 'evspike',
      signal: controller.signal,
      onPoint: (done, _total, id) => progress.update(done, `recorded ${id}`),
      onFailed: (id, reason) => err(`point ${id} failed: ${reason}`),
      onReadded: (n) => err(`${n} job(s) were missing from Redis (restarted or flushed?): added again`),
    });
    return { ran: r.recorded, skipped: r.skipped, failed: r.failed.length };
  };
  let result: { ran: number; skipped: number; failed: number };
  try {
    result = await withSignals(controller, sweepWork);
  } catch (e) {
    if (!(e instanceof InterruptedError)) throw e;
    progress.clear();
    err(`evspike sweep: interrupted by ${String(e.reason)}; the finished points are in ${outDir}/runs`);
    err(`go on with the same command: npx evspike sweep ${name} --out ${outDir}${seeds === undefined ? '' : ` --seeds ${stringFlag(values, 'seeds')}`}`);
    return exitCodeOf(e.reason);
  }
  if (result.failed > 0) {
    progress.clear();
    err(`evspike sweep: ${result.failed} point(s) failed (their reasons are above); the others are in ${outDir}/runs`);
    await report(outDir, out, Boolean(values.json));
    return 1;
  }
  progress.finish(points.length, `${result.ran} run, ${result.skipped} already done`);
  return report(outDir, out, Boolean(values.json));
}
