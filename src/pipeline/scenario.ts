/**
 * Scenarios are data: a named, validated configuration of the whole experiment (network,
 * training, readout, limits, seed). The same resolver validates scenario files and
 * command-line overrides, and the resolved scenario is what results and checkpoints record.
 */
import { readFileSync } from 'node:fs';
import { findJsonFile, jsonNames } from '../util/files.js';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EvspikeError, OptionError } from '../errors.js';
import { networkOptionsOf, resolveNetwork, type NetworkOptions, type ResolvedNetwork } from '../neurons/network.js';
import { resolveLinearSvmOptions, type ResolvedLinearSvmOptions } from '../readout/linear-svm.js';
import { checkKeys, integer, isPlainObject, oneOf } from '../util/validate.js';
import { DATASET_NAMES, type DatasetName } from '../data/datasets.js';
import { resolveTrainOptions, type ResolvedTrainOptions, type TrainOptions } from './train.js';

export type ReadoutKind = 'linear-svm' | 'ml-svm';

export interface ReadoutOptions {
  /** `linear-svm` (default): dual coordinate descent; `ml-svm`: ml-svm's SMO, small training sets only. */
  kind?: ReadoutKind;
  /** Regularisation C. Default 0.005. */
  C?: number;
  /** Stopping tolerance. Default 1e-4. */
  tolerance?: number;
  /** Passes (linear-svm) or SMO iterations (ml-svm) at most. Default 10,000. */
  maxIterations?: number;
}

export interface ScenarioLimits {
  /** Training samples presented to VDSP at most (per conv layer). */
  train?: number;
  /** Training images whose features train the readout (default all). */
  extract?: number;
  /** Test images evaluated (default all). */
  test?: number;
}

export interface ScenarioOptions {
  name?: string;
  description?: string;
  /** The data set the scenario runs on. Default `'mnist'`; `--data DIR` reads its files from a folder. */
  dataset?: DatasetName;
  /** Seed of the weight initialisation, the training shuffle and the readout. Default 0. */
  seed?: number;
  network?: NetworkOptions;
  training?: Omit<TrainOptions, 'maxSamples'>;
  readout?: ReadoutOptions;
  limits?: ScenarioLimits;
}

export interface ResolvedScenario {
  readonly name: string;
  readonly description: string;
  readonly dataset: DatasetName;
  readonly seed: number;
  /** The complete network options (every default written out); `network` is their resolution. */
  readonly networkOptions: NetworkOptions;
  readonly network: ResolvedNetwork;
  readonly training: ResolvedTrainOptions;
  readonly readout: ResolvedLinearSvmOptions & { kind: ReadoutKind };
  readonly limits: Readonly<Required<ScenarioLimits>>;
}

/** A limit that was not given: no limit. */
export const UNLIMITED = Number.MAX_SAFE_INTEGER;

/** Validate a scenario; `source` names it in errors. */
export function resolveScenario(raw: unknown, source = 'scenario'): ResolvedScenario {
  try {
    if (!isPlainObject(raw)) throw new OptionError('scenario', raw, 'an object');
    checkKeys(raw, ['name', 'description', 'dataset', 'seed', 'network', 'training', 'readout', 'limits'], '');
    const dataset = oneOf('dataset', raw.dataset, DATASET_NAMES, 'mnist');
    const name = raw.name === undefined ? 'unnamed' : raw.name;
    if (typeof name !== 'string' || !/^[\w.-]+$/.test(name)) throw new OptionError('name', name, 'a name of letters, digits, ".", "_" or "-"');
    const description = raw.description === undefined ? '' : raw.description;
    if (typeof description !== 'string') throw new OptionError('description', description, 'a string');
    const networkOptions = (raw.network ?? {}) as NetworkOptions;
    if (!isPlainObject(networkOptions)) throw new OptionError('network', networkOptions, 'an object');
    let network: ResolvedNetwork;
    try {
      network = resolveNetwork(networkOptions);
    } catch (e) {
      if (e instanceof OptionError) throw new OptionError(`network.${e.field}`.replace(/\.$/, ''), e.value, e.expected);
      throw e;
    }
    const training = raw.training ?? {};
    if (!isPlainObject(training)) throw new OptionError('training', training, 'an object');
    checkKeys(training, ['convergenceThreshold', 'epochs'], 'training');
    const limits = raw.limits ?? {};
    if (!isPlainObject(limits)) throw new OptionError('limits', limits, 'an object');
    checkKeys(limits, ['train', 'extract', 'test'], 'limits');
    const readout = raw.readout ?? {};
    if (!isPlainObject(readout)) throw new OptionError('readout', readout, 'an object');
    checkKeys(readout, ['kind', 'C', 'tolerance', 'maxIterations'], 'readout');
    const seed = integer('seed', raw.seed, 0, { min: 0, max: 0xffffffff });
    const trainingResolved = (() => {
      try {
        return resolveTrainOptions({ ...(training as TrainOptions), maxSamples: limits.train as number | undefined });
      } catch (e) {
        if (e instanceof OptionError) {
          const field = e.field === 'maxSamples' ? 'limits.train' : `training.${e.field}`;
          throw new OptionError(field, e.value, e.expected);
        }
        throw e;
      }
    })();
    return {
      name,
      description,
      dataset,
      seed,
      networkOptions: networkOptionsOf(network),
      network,
      training: trainingResolved,
      readout: {
        kind: oneOf('readout.kind', readout.kind, ['linear-svm', 'ml-svm'], 'linear-svm'),
        ...resolveLinearSvmOptions({ C: readout.C as number, tolerance: readout.tolerance as number, maxIterations: readout.maxIterations as number, seed }),
      },
      limits: {
        train: trainingResolved.maxSamples,
        extract: integer('limits.extract', limits.extract, UNLIMITED, { min: 1 }),
        test: integer('limits.test', limits.test, UNLIMITED, { min: 1 }),
      },
    };
  } catch (e) {
    if (e instanceof OptionError) throw new EvspikeError(`${source}: ${e.message}`);
    throw e;
  }
}

/** The folder of the scenarios shipped with evspike. */
export function scenariosDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scenarios');
}

/** The names of the scenarios shipped with evspike, sorted. */
export function shippedScenarios(): string[] {
  return jsonNames(scenariosDir());
}

/**
 * Load a scenario by file path, or by the name of a shipped scenario with or without `.json`
 * (`mnist-vdsp`, `mnist-quick.json`). A file that exists wins over a shipped name.
 */
export function loadScenario(nameOrFile: string): ResolvedScenario {
  const file = findJsonFile(nameOrFile, scenariosDir());
  if (file === undefined) {
    const shipped = shippedScenarios();
    throw new EvspikeError(`unknown scenario ${JSON.stringify(nameOrFile)}: no such file or shipped scenario${shipped.length > 0 ? ` (shipped: ${shipped.join(', ')})` : ''}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new EvspikeError(`${file}: not a valid JSON scenario (${(e as Error).message})`);
  }
  return resolveScenario(json, file);
}

/** Overrides from the command line, validated by the same resolver. */
export interface ScenarioOverrides {
  seed?: number;
  trainLimit?: number;
  extractLimit?: number;
  testLimit?: number;
  readoutKind?: ReadoutKind;
  C?: number;
  /** `PATH=VALUE` settings of any scenario value (`--set`), applied after the fields above, in order. */
  set?: readonly string[];
}

/** One step of a setting's path: a key of an object or an index of an array. */
type PathStep = string | number;

/** Parse `network.layers[0].learning.depressionFactor` into its steps. */
export function parseSettingPath(path: string): PathStep[] {
  const steps: PathStep[] = [];
  const re = /([A-Za-z_][\w]*)|\[(\d+)\]|(\.)/gy;
  let expectKey = true;
  let m: RegExpExecArray | null;
  while (re.lastIndex < path.length && (m = re.exec(path)) !== null) {
    if (m[1] !== undefined) {
      if (!expectKey) break;
      steps.push(m[1]);
      expectKey = false;
    } else if (m[2] !== undefined) {
      if (steps.length === 0) break;
      steps.push(Number(m[2]));
    } else {
      if (expectKey) break;
      expectKey = true;
    }
  }
  if (re.lastIndex !== path.length || steps.length === 0 || expectKey) {
    throw new OptionError('--set', path, 'a path of names and [indices], like network.layers[0].maps');
  }
  return steps;
}

/**
 * Apply one `PATH=VALUE` setting to raw scenario options, in place. VALUE is read as JSON when
 * it is JSON (numbers, true, false, null, "strings", objects, arrays), else as a plain string;
 * the resolver judges it afterwards. A path through something that is not there fails here,
 * naming the path.
 */
export function applySetting(raw: Record<string, unknown>, setting: string): void {
  const eq = setting.indexOf('=');
  if (eq <= 0) throw new OptionError('--set', setting, 'PATH=VALUE, like network.layers[0].maps=30');
  const path = setting.slice(0, eq).trim();
  const text = setting.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = text;
  }
  const steps = parseSettingPath(path);
  let node: unknown = raw;
  for (let i = 0; i < steps.length - 1; i++) {
    const step = steps[i];
    const at = steps.slice(0, i + 1).map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`)).join('').replace(/^\./, '');
    if (typeof step === 'number') {
      if (!Array.isArray(node) || step >= node.length) throw new OptionError(`--set ${path}`, at, `an index within the ${Array.isArray(node) ? `${node.length} entries` : 'array'} there`);
      node = node[step];
    } else {
      if (!isPlainObject(node)) throw new OptionError(`--set ${path}`, at, 'a path through objects');
      if (node[step] === undefined) node[step] = {};
      node = node[step];
    }
  }
  const last = steps[steps.length - 1];
  if (typeof last === 'number') {
    if (!Array.isArray(node) || last >= node.length) throw new OptionError(`--set ${path}`, last, 'an index within the array there');
    node[last] = value;
  } else {
    if (!isPlainObject(node)) throw new OptionError(`--set ${path}`, path, 'a path through objects');
    node[last] = value;
  }
}

/** The scenario with the overrides applied (and validated again by the same resolver). */
export function withOverrides(s: ResolvedScenario, o: ScenarioOverrides): ResolvedScenario {
  const raw = scenarioJson(s) as Record<string, unknown> & ScenarioOptions;
  if (o.seed !== undefined) raw.seed = o.seed;
  raw.readout = { ...raw.readout, ...(o.readoutKind === undefined ? {} : { kind: o.readoutKind }), ...(o.C === undefined ? {} : { C: o.C }) };
  raw.limits = {
    ...raw.limits,
    ...(o.trainLimit === undefined ? {} : { train: o.trainLimit }),
    ...(o.extractLimit === undefined ? {} : { extract: o.extractLimit }),
    ...(o.testLimit === undefined ? {} : { test: o.testLimit }),
  };
  for (const setting of o.set ?? []) applySetting(raw, setting);
  return resolveScenario(raw, 'options');
}

/** A plain JSON form of a resolved scenario (for reports and checkpoints). */
export function scenarioJson(s: ResolvedScenario): ScenarioOptions {
  const limit = (v: number): number | undefined => (v === UNLIMITED ? undefined : v);
  return {
    name: s.name,
    description: s.description,
    dataset: s.dataset,
    seed: s.seed,
    network: structuredClone(s.networkOptions),
    training: { convergenceThreshold: s.training.convergenceThreshold, epochs: s.training.epochs },
    readout: { kind: s.readout.kind, C: s.readout.C, tolerance: s.readout.tolerance, maxIterations: s.readout.maxIterations },
    limits: { train: limit(s.limits.train), extract: limit(s.limits.extract), test: limit(s.limits.test) },
  };
}
