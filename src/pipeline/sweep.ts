/**
 * Sweeps: many runs as data. A sweep file names a base scenario, one or more axes (scenario
 * paths, as `--set` takes them, and their values), the seeds and the metrics to report; a
 * composite sweep includes others. Every point (values × seed) is a normal run whose full
 * result is written atomically as one file under `DIR/runs/`; running the same sweep again
 * skips the finished points, so an interrupted sweep resumes. A folder records the sweep's
 * definition and evspike's version, and refuses another sweep or version rather than mix them.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { findJsonFile, jsonNames } from '../util/files.js';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dataset } from '../data/datasets.js';
import { EvspikeError, InterruptedError, OptionError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { integer, isPlainObject, oneOf } from '../util/validate.js';
import { runPixelBaseline } from './baseline.js';
import { runExperiment, runReportJson } from './run.js';
import { loadScenario, scenarioJson, withOverrides, type ResolvedScenario } from './scenario.js';

/** One axis: the scenario paths it sets together (pooling window = stride) and their values. */
export interface SweepAxis {
  readonly paths: readonly string[];
  readonly values: readonly (number | string | boolean)[];
  /** Its name in tables and figures. */
  readonly label: string;
  /** Draw it on a log scale. */
  readonly log: boolean;
}

/**
 * What a point runs: `network`, the whole experiment of its scenario (`evspike run`);
 * `pixel-svm`, the raw-pixel baseline (the scenario's readout on the pixels, no network).
 */
export type SweepRun = 'network' | 'pixel-svm';

/** One analysis of a sweep: a base scenario, its axes, seeds and metrics. */
export interface SweepPart {
  readonly name: string;
  readonly description: string;
  readonly run: SweepRun;
  readonly scenario: ResolvedScenario;
  /** Settings applied to the base scenario before the axes (`--set` syntax). */
  readonly set: readonly string[];
  readonly axes: readonly SweepAxis[];
  readonly seeds: readonly number[];
  /** Metrics reported, as paths into a run's JSON result (`accuracy`, `spikesPerSample.total`). */
  readonly metrics: readonly string[];
}

export interface ResolvedSweep {
  readonly name: string;
  readonly description: string;
  readonly parts: readonly SweepPart[];
  /** SHA-256 of the resolved definition: a folder of results belongs to one definition. */
  readonly definitionHash: string;
}

/** The metrics a sweep reports unless it names its own. */
export const DEFAULT_METRICS = ['accuracy', 'samplesToConvergence', 'spikesPerSample.total', 'synapticEventsPerSample', 'seconds.total'] as const;

/** The folder of the sweeps shipped with evspike. */
export function sweepsDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'sweeps');
}

/** The names of the shipped sweeps, sorted. */
export function shippedSweeps(): string[] {
  return jsonNames(sweepsDir());
}

function readSweepFile(nameOrFile: string, baseDir?: string): { json: unknown; file: string } {
  // an included sweep is looked for beside the sweep that includes it first
  const file = findJsonFile(nameOrFile, sweepsDir(), baseDir);
  if (file === undefined) throw new EvspikeError(`unknown sweep ${JSON.stringify(nameOrFile)}: no such file or shipped sweep (shipped: ${shippedSweeps().join(', ')})`);
  try {
    return { json: JSON.parse(readFileSync(file, 'utf8')), file };
  } catch (e) {
    throw new EvspikeError(`${file}: not a valid JSON sweep (${(e as Error).message})`);
  }
}

const KEYS = ['name', 'description', 'run', 'scenario', 'set', 'axes', 'seeds', 'metrics', 'include'];

function resolveAxis(raw: unknown, field: string): SweepAxis {
  if (!isPlainObject(raw)) throw new OptionError(field, raw, 'an object with "path" (or "paths") and "values"');
  for (const key of Object.keys(raw)) if (!['path', 'paths', 'values', 'label', 'log'].includes(key)) throw new OptionError(`${field}.${key}`, raw[key], 'no such key (known: path, paths, values, label, log)');
  const paths = raw.paths ?? (raw.path === undefined ? undefined : [raw.path]);
  if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === 'string' && p.length > 0)) throw new OptionError(`${field}.path`, raw.path ?? raw.paths, 'a scenario path like network.layers[0].maps (or "paths": a list of them)');
  const values = raw.values;
  if (!Array.isArray(values) || values.length === 0 || !values.every((v) => ['number', 'string', 'boolean'].includes(typeof v))) throw new OptionError(`${field}.values`, values, 'a non-empty list of numbers, strings or booleans');
  if (raw.label !== undefined && typeof raw.label !== 'string') throw new OptionError(`${field}.label`, raw.label, 'a string');
  if (raw.log !== undefined && typeof raw.log !== 'boolean') throw new OptionError(`${field}.log`, raw.log, 'true or false');
  return { paths: paths as string[], values: values as SweepAxis['values'], label: (raw.label as string | undefined) ?? (paths as string[]).join(' = '), log: (raw.log as boolean | undefined) ?? false };
}

function resolvePart(raw: Record<string, unknown>, source: string): SweepPart {
  const field = (k: string): string => `${source}: ${k}`;
  const name = raw.name;
  if (typeof name !== 'string' || !/^[\w.-]+$/.test(name)) throw new OptionError(field('name'), name, 'a name of letters, digits, ".", "_" or "-"');
  const scenario = loadScenario(typeof raw.scenario === 'string' ? raw.scenario : 'mnist-vdsp');
  const set = raw.set ?? [];
  if (!Array.isArray(set) || !set.every((s) => typeof s === 'string')) throw new OptionError(field('set'), set, 'a list of PATH=VALUE settings');
  const axes = (raw.axes ?? []) as unknown[];
  if (!Array.isArray(axes) || axes.length === 0) throw new OptionError(field('axes'), raw.axes, 'a non-empty list of axes');
  const resolvedAxes = axes.map((a, i) => resolveAxis(a, field(`axes[${i}]`)));
  const seeds = raw.seeds ?? [0];
  if (!Array.isArray(seeds) || seeds.length === 0) throw new OptionError(field('seeds'), seeds, 'a non-empty list of seeds');
  seeds.forEach((s, i) => integer(field(`seeds[${i}]`), s, 0, { min: 0, max: 0xffffffff }));
  const metrics = raw.metrics ?? [...DEFAULT_METRICS];
  if (!Array.isArray(metrics) || !metrics.every((m) => typeof m === 'string')) throw new OptionError(field('metrics'), metrics, 'a list of result paths like accuracy or spikesPerSample.total');
  const part: SweepPart = {
    name,
    description: typeof raw.description === 'string' ? raw.description : '',
    run: oneOf(field('run'), raw.run, ['network', 'pixel-svm'], 'network'),
    scenario,
    set: set as string[],
    axes: resolvedAxes,
    seeds: [...new Set(seeds as number[])],
    metrics: metrics as string[],
  };
  // every point must resolve: check each value of each axis once now, with the same resolver
  for (const axis of part.axes) {
    for (const value of axis.values) {
      try {
        withOverrides(scenario, { set: [...part.set, ...axis.paths.map((p) => `${p}=${JSON.stringify(value)}`)] });
      } catch (e) {
        throw new EvspikeError(`${source}: axis ${axis.label} = ${JSON.stringify(value)}: ${(e as Error).message}`);
      }
    }
  }
  return part;
}

/** Load and validate a sweep by name (shipped) or file, following `include`s. */
export function loadSweep(nameOrFile: string, seen: string[] = [], baseDir?: string): ResolvedSweep {
  const { json, file } = readSweepFile(nameOrFile, baseDir);
  if (seen.includes(resolve(file))) throw new OptionError(`${file}: include`, nameOrFile, 'no sweep that includes itself');
  if (!isPlainObject(json)) throw new EvspikeError(`${file}: expected a JSON object`);
  for (const key of Object.keys(json)) if (!KEYS.includes(key)) throw new OptionError(`${file}: ${key}`, json[key], `no such key (known: ${KEYS.join(', ')})`);
  if (typeof json.name !== 'string' || !/^[\w.-]+$/.test(json.name)) throw new OptionError(`${file}: name`, json.name, 'a name of letters, digits, ".", "_" or "-"');
  let parts: SweepPart[];
  if (json.include !== undefined) {
    if (!Array.isArray(json.include) || json.include.length === 0 || !json.include.every((s) => typeof s === 'string')) throw new OptionError(`${file}: include`, json.include, 'a non-empty list of sweep names or files');
    if (json.axes !== undefined) throw new OptionError(`${file}: axes`, json.axes, 'nothing: a sweep either includes others or has axes');
    parts = [];
    for (const inc of json.include as string[]) parts.push(...loadSweep(inc, [...seen, resolve(file)], dirname(file)).parts);
  } else {
    parts = [resolvePart(json, file)];
  }
  const names = parts.map((p) => p.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new OptionError(`${file}: include`, dup, 'parts with different names');
  const definition = parts.map((p) => ({ name: p.name, run: p.run, scenario: scenarioJson(p.scenario), set: p.set, axes: p.axes, seeds: p.seeds }));
  return {
    name: json.name,
    description: typeof json.description === 'string' ? json.description : '',
    parts,
    definitionHash: createHash('sha256').update(JSON.stringify(definition)).digest('hex'),
  };
}

/** One point of a sweep: the values of its part's axes and a seed, and the scenario they give. */
export interface SweepPointSpec {
  readonly id: string;
  readonly part: string;
  readonly run: SweepRun;
  readonly values: readonly (number | string | boolean)[];
  /** The labels of the part's axes, in the order of `values`. */
  readonly labels: readonly string[];
  readonly seed: number;
  /** The settings that make the point's scenario from the part's base scenario. */
  readonly settings: readonly string[];
  readonly scenario: ResolvedScenario;
}

/** The points of a sweep (its own seeds, or `seeds` when given), in a stable order. */
export function sweepPoints(sweep: ResolvedSweep, seeds?: readonly number[]): SweepPointSpec[] {
  const points: SweepPointSpec[] = [];
  for (const part of sweep.parts) {
    let combos: (number | string | boolean)[][] = [[]];
    for (const axis of part.axes) combos = combos.flatMap((c) => axis.values.map((v) => [...c, v]));
    for (const values of combos) {
      for (const seed of seeds ?? part.seeds) {
        const settings = [...part.set, ...part.axes.flatMap((axis, i) => axis.paths.map((p) => `${p}=${JSON.stringify(values[i])}`))];
        const scenario = withOverrides(part.scenario, { seed, set: settings });
        const hash = createHash('sha256').update(JSON.stringify(scenarioJson(scenario))).digest('hex').slice(0, 10);
        const id = `${part.name}_${values.map((v) => String(v).replace(/[^\w.-]/g, '_')).join('_')}_seed${seed}_${hash}`;
        points.push({ id, part: part.name, run: part.run, values, labels: part.axes.map((a) => a.label), seed, settings, scenario });
      }
    }
  }
  return points;
}

/** SHA-256 of a data set's images and labels: results of other data never mix. */
export function dataChecksum(data: Dataset): string {
  const h = createHash('sha256');
  for (const set of [data.train, data.test]) {
    h.update(`${set.count}x${set.height}x${set.width};`);
    h.update(set.pixels);
    h.update(set.labels);
  }
  return h.digest('hex');
}

/** What a results folder records of the sweep it holds. */
interface SweepManifest {
  format: 'evspike-sweep';
  version: 1;
  sweep: string;
  definitionHash: string;
  evspike: string;
  dataChecksum: string;
}

/** One finished point, as written under `runs/`. */
export interface SweepPointResult {
  format: 'evspike-sweep-point';
  version: 1;
  sweep: string;
  part: string;
  run: SweepRun;
  id: string;
  values: (number | string | boolean)[];
  labels: string[];
  seed: number;
  settings: string[];
  evspike: string;
  dataChecksum: string;
  scenario: ReturnType<typeof scenarioJson>;
  result: Record<string, unknown>;
}

/**
 * Prepare `outDir` for `sweep`: create it with its manifest, or check that the manifest there is
 * this sweep's, with this evspike version and data; anything else is refused, never mixed.
 */
export function openSweepFolder(outDir: string, sweep: ResolvedSweep, version: string, checksum: string): void {
  const manifest: SweepManifest = { format: 'evspike-sweep', version: 1, sweep: sweep.name, definitionHash: sweep.definitionHash, evspike: version, dataChecksum: checksum };
  const file = join(outDir, 'sweep.json');
  if (existsSync(file)) {
    let found: Partial<SweepManifest>;
    try {
      found = JSON.parse(readFileSync(file, 'utf8')) as Partial<SweepManifest>;
    } catch {
      throw new EvspikeError(`${file}: not a sweep manifest (unreadable JSON)`);
    }
    if (found.format !== 'evspike-sweep') throw new EvspikeError(`${file}: not an evspike sweep folder`);
    if (found.sweep !== sweep.name || found.definitionHash !== sweep.definitionHash) {
      throw new EvspikeError(`${outDir}: holds the results of another sweep definition (${found.sweep}); its points would not mix with these: use another --out`);
    }
    if (found.evspike !== version) throw new EvspikeError(`${outDir}: holds results of evspike ${found.evspike}, this is ${version}; they are kept apart: use another --out`);
    if (found.dataChecksum !== checksum) throw new EvspikeError(`${outDir}: holds results on other data (checksum ${found.dataChecksum?.slice(0, 12)}…); use another --out`);
    return;
  }
  try {
    mkdirSync(join(outDir, 'runs'), { recursive: true });
  } catch (e) {
    throw new EvspikeError(`${outDir}: cannot create the results folder: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  writeFileAtomic(file, JSON.stringify(manifest, null, 1) + '\n');
}

/** The file of a point's result. */
export const pointFile = (outDir: string, id: string): string => join(outDir, 'runs', `${id}.json`);

/** Whether a point's result is already on disk (and readable as one). */
export function pointDone(outDir: string, id: string): boolean {
  const file = pointFile(outDir, id);
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as SweepPointResult).format === 'evspike-sweep-point';
  } catch {
    return false; // a damaged file is run again
  }
}

/** Run what a point runs (a normal run of its scenario, or the pixel baseline); its JSON result. */
export async function runPoint(run: SweepRun, scenario: ResolvedScenario, data: Dataset, workers: number, signal?: AbortSignal): Promise<Record<string, unknown>> {
  switch (run) {
    case 'network':
      return runReportJson(await runExperiment({ scenario, data, workers, signal }));
    case 'pixel-svm':
      return runPixelBaseline(scenario, data);
    default: {
      const _exhaustive: never = run;
      return _exhaustive;
    }
  }
}

/** Run one point; returns what is written for it. */
export async function runSweepPoint(point: SweepPointSpec, sweep: string, data: Dataset, options: { workers: number; version: string; checksum: string; signal?: AbortSignal }): Promise<SweepPointResult> {
  const result = await runPoint(point.run, point.scenario, data, options.workers, options.signal);
  return {
    format: 'evspike-sweep-point',
    version: 1,
    sweep,
    part: point.part,
    run: point.run,
    id: point.id,
    values: [...point.values],
    labels: [...point.labels],
    seed: point.seed,
    settings: [...point.settings],
    evspike: options.version,
    dataChecksum: options.checksum,
    scenario: scenarioJson(point.scenario),
    result,
  };
}

export interface RunSweepOptions {
  sweep: ResolvedSweep;
  points: readonly SweepPointSpec[];
  data: Dataset;
  outDir: string;
  workers: number;
  version: string;
  signal?: AbortSignal;
  /** After each point: points done (including skipped), total, the point, whether it ran now. */
  onPoint?: (done: number, total: number, point: SweepPointSpec, ran: boolean) => void;
}

/** Run every unfinished point in order, writing each result atomically as it comes. */
export async function runSweep(o: RunSweepOptions): Promise<{ ran: number; skipped: number }> {
  const checksum = dataChecksum(o.data);
  openSweepFolder(o.outDir, o.sweep, o.version, checksum);
  let ran = 0;
  let skipped = 0;
  for (const point of o.points) {
    if (o.signal?.aborted) throw new InterruptedError(o.signal.reason);
    if (pointDone(o.outDir, point.id)) {
      skipped++;
      o.onPoint?.(ran + skipped, o.points.length, point, false);
      continue;
    }
    const result = await runSweepPoint(point, o.sweep.name, o.data, { workers: o.workers, version: o.version, checksum, signal: o.signal });
    writeFileAtomic(pointFile(o.outDir, point.id), JSON.stringify(result) + '\n');
    ran++;
    o.onPoint?.(ran + skipped, o.points.length, point, true);
  }
  return { ran, skipped };
}

/** A metric's value in a run's result, by path (`spikesPerSample.total`). */
export function metricOf(result: Record<string, unknown>, path: string): number | undefined {
  let node: unknown = result;
  for (const key of path.split('.')) node = isPlainObject(node) ? node[key] : undefined;
  return typeof node === 'number' ? node : undefined;
}

/** The finished points of a results folder. */
export function readSweepResults(outDir: string): { manifest: SweepManifest; points: SweepPointResult[] } {
  const file = join(outDir, 'sweep.json');
  if (!existsSync(file)) throw new EvspikeError(`${outDir}: not a sweep results folder (no sweep.json)`);
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as SweepManifest;
  const dir = join(outDir, 'runs');
  const points: SweepPointResult[] = [];
  for (const f of existsSync(dir) ? readdirSync(dir).sort() : []) {
    if (!f.endsWith('.json')) continue;
    try {
      const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as SweepPointResult;
      if (p.format === 'evspike-sweep-point') points.push(p);
    } catch {
      // a damaged point file is left out of the report (and run again by the sweep)
    }
  }
  return { manifest, points };
}

/** One row of a sweep's table: a part's axis values, and each metric's mean and sd over seeds. */
export interface SweepRow {
  part: string;
  values: (number | string | boolean)[];
  seeds: number;
  metrics: Record<string, { mean: number; sd: number }>;
}

/** Mean and sample standard deviation (0 for one value). */
function meanSd(xs: number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  return { mean, sd };
}

/** Summarise finished points per part and axis values: mean ± sd over seeds of every metric. */
export function sweepTable(points: readonly SweepPointResult[], metrics: readonly string[]): SweepRow[] {
  const groups = new Map<string, SweepPointResult[]>();
  for (const p of points) {
    const key = JSON.stringify([p.part, p.values]);
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const rows: SweepRow[] = [];
  for (const group of groups.values()) {
    const row: SweepRow = { part: group[0].part, values: group[0].values, seeds: group.length, metrics: {} };
    for (const m of metrics) {
      const xs = group.map((p) => metricOf(p.result, m)).filter((x): x is number => x !== undefined);
      if (xs.length > 0) row.metrics[m] = meanSd(xs);
    }
    rows.push(row);
  }
  return rows.sort((a, b) => (a.part < b.part ? -1 : a.part > b.part ? 1 : compareValues(a.values, b.values)));
}

function compareValues(a: readonly (number | string | boolean)[], b: readonly (number | string | boolean)[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    return typeof a[i] === 'number' && typeof b[i] === 'number' ? (a[i] as number) - (b[i] as number) : String(a[i]) < String(b[i]) ? -1 : 1;
  }
  return a.length - b.length;
}

/** Every finished point as CSV: part, axis values, seed, then each metric. */
export function sweepCsv(points: readonly SweepPointResult[], metrics: readonly string[]): string {
  const width = Math.max(0, ...points.map((p) => p.values.length));
  const header = ['part', ...Array.from({ length: width }, (_, i) => `value${i + 1}`), 'seed', ...metrics];
  const quote = (v: unknown): string => (typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v ?? ''));
  const lines = [header.join(',')];
  for (const p of [...points].sort((a, b) => (a.part < b.part ? -1 : a.part > b.part ? 1 : compareValues(a.values, b.values) || a.seed - b.seed))) {
    lines.push([p.part, ...Array.from({ length: width }, (_, i) => p.values[i] ?? ''), p.seed, ...metrics.map((m) => metricOf(p.result, m) ?? '')].map(quote).join(','));
  }
  return lines.join('\n') + '\n';
}
