/**
 * Scenarios are data: a named, validated configuration of the whole experiment (network,
 * training, readout, limits, seed). The same resolver validates scenario files and
 * command-line overrides, and the resolved scenario is what results and checkpoints record.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EvspikeError, OptionError } from '../errors.js';
import { networkOptionsOf, resolveNetwork, type NetworkOptions, type ResolvedNetwork } from '../neurons/network.js';
import { resolveLinearSvmOptions, type ResolvedLinearSvmOptions } from '../readout/linear-svm.js';
import { checkKeys, integer, isPlainObject, oneOf } from '../util/validate.js';
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
    checkKeys(raw, ['name', 'description', 'seed', 'network', 'training', 'readout', 'limits'], '');
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
  if (!existsSync(scenariosDir())) return [];
  return readdirSync(scenariosDir())
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/**
 * Load a scenario by file path, or by the name of a shipped scenario with or without `.json`
 * (`mnist-vdsp`, `mnist-quick.json`). A file that exists wins over a shipped name.
 */
export function loadScenario(nameOrFile: string): ResolvedScenario {
  const bare = nameOrFile.endsWith('.json') ? nameOrFile.slice(0, -'.json'.length) : nameOrFile;
  const candidates = [nameOrFile];
  if (!/[\\/]/.test(nameOrFile)) candidates.push(join(scenariosDir(), `${bare}.json`));
  const file = candidates.find((f) => existsSync(f) && statSync(f).isFile());
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
}

/** The scenario with the overrides applied (and validated again). */
export function withOverrides(s: ResolvedScenario, o: ScenarioOverrides): ResolvedScenario {
  const limit = (v: number): number | undefined => (v === UNLIMITED ? undefined : v);
  const raw: ScenarioOptions = {
    name: s.name,
    description: s.description,
    seed: o.seed ?? s.seed,
    network: s.networkOptions,
    training: { convergenceThreshold: s.training.convergenceThreshold, epochs: s.training.epochs },
    readout: { kind: o.readoutKind ?? s.readout.kind, C: o.C ?? s.readout.C, tolerance: s.readout.tolerance, maxIterations: s.readout.maxIterations },
    limits: {
      train: o.trainLimit ?? limit(s.limits.train),
      extract: o.extractLimit ?? limit(s.limits.extract),
      test: o.testLimit ?? limit(s.limits.test),
    },
  };
  return resolveScenario(raw, 'options');
}

/** A plain JSON form of a resolved scenario (for reports and checkpoints). */
export function scenarioJson(s: ResolvedScenario): ScenarioOptions {
  const limit = (v: number): number | undefined => (v === UNLIMITED ? undefined : v);
  return {
    name: s.name,
    description: s.description,
    seed: s.seed,
    network: structuredClone(s.networkOptions),
    training: { convergenceThreshold: s.training.convergenceThreshold, epochs: s.training.epochs },
    readout: { kind: s.readout.kind, C: s.readout.C, tolerance: s.readout.tolerance, maxIterations: s.readout.maxIterations },
    limits: { train: limit(s.limits.train), extract: limit(s.limits.extract), test: limit(s.limits.test) },
  };
}
