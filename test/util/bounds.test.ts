/**
 * Every bound of every resolver, as a table: the value at the bound is accepted, the value just
 * beyond it is refused with the field named. A bound dropped from a resolver fails a row here.
 */
import { describe, expect, it } from 'vitest';
import { EvspikeError } from '../../src/errors.js';
import { resolveNetwork, type NetworkOptions } from '../../src/neurons/network.js';
import { resolveTrainOptions } from '../../src/pipeline/train.js';
import { resolveScenario } from '../../src/pipeline/scenario.js';
import { WorkerPool } from '../../src/pipeline/workers.js';
import { resolveLinearSvmOptions } from '../../src/readout/linear-svm.js';
import { parseIntegerFlag } from '../../src/util/validate.js';

/** The smallest double above x. */
const above = (x: number): number => (x === 0 ? Number.MIN_VALUE : x + Math.abs(x) * Number.EPSILON);

type Row = [field: string, resolve: (value: number) => unknown, accepted: number[], refused: number[]];

const conv = (key: string, extra: object = {}) => (v: number) =>
  resolveNetwork({ inputHeight: 64, inputWidth: 64, layers: [{ kind: 'conv', ...extra, [key]: v }, { kind: 'pool', kernelSize: 1, stride: 1 }] } as NetworkOptions);
const pool = (key: string, extra: object = {}) => (v: number) =>
  resolveNetwork({ inputHeight: 64, inputWidth: 64, layers: [{ kind: 'conv', kernelSize: 3, padding: 1 }, { kind: 'pool', ...extra, [key]: v }] } as NetworkOptions);
const learn = (rule: string, key: string, extra: object = {}) => (v: number) =>
  resolveNetwork({ layers: [{ kind: 'conv', learning: { rule, ...extra, [key]: v } }, { kind: 'pool' }] } as NetworkOptions);
const net = (key: string) => (v: number) => resolveNetwork({ [key]: v } as NetworkOptions);
const scenario = (build: (v: number) => object) => (v: number) => resolveScenario(build(v));

const rows: Row[] = [
  // the network
  ['timeBins', net('timeBins'), [1, 1_000_000], [0, 1_000_001]],
  ['inputHeight', (v) => resolveNetwork({ inputHeight: v, layers: [{ kind: 'conv', kernelSize: 1, padding: 0 }, { kind: 'pool', kernelSize: 1, stride: 1 }] }), [1, 4096], [0, 4097]],
  ['inputWidth', (v) => resolveNetwork({ inputWidth: v, layers: [{ kind: 'conv', kernelSize: 1, padding: 0 }, { kind: 'pool', kernelSize: 1, stride: 1 }] }), [1, 4096], [0, 4097]],
  ['resetV', net('resetV'), [-1e-9], [0, 1]],
  // a conv layer
  ['layers[0].maps', conv('maps'), [1, 4096], [0, 4097]],
  ['layers[0].kernelSize', conv('kernelSize', { padding: 0 }), [1, 64], [0, 65]],
  ['layers[0].stride', conv('stride', { kernelSize: 1, padding: 0 }), [1, 64], [0, 65]],
  ['layers[0].padding', conv('padding', { kernelSize: 5 }), [0, 4], [-1, 5]],
  ['layers[0].weightMax', conv('weightMax', { weightMin: 0 }), [above(0)], [0, -1]],
  ['layers[0].thresholdV', conv('thresholdV'), [above(0)], [0, -1]],
  ['layers[0].weightInitSd', conv('weightInitSd'), [0], [-1e-9]],
  ['layers[0].winners', conv('winners'), [0], [-1]],
  ['layers[0].inhibitionRadius', conv('inhibitionRadius'), [0], [-1]],
  // the learning rules, under a conv layer's `learning`
  ['layers[0].learning.learningRate', learn('vdsp', 'learningRate', { learningRateMax: 1 }), [0], [-1e-9]],
  ['layers[0].learning.learningRateMax', learn('vdsp', 'learningRateMax', { learningRate: 0.01 }), [0.01], [0.01 - 1e-9]],
  ['layers[0].learning.learningRateInterval', learn('vdsp', 'learningRateInterval'), [1], [0]],
  ['layers[0].learning.potentiationFactor', learn('vdsp', 'potentiationFactor'), [0], [-1e-9]],
  ['layers[0].learning.depressionFactor', learn('vdsp', 'depressionFactor'), [0], [-1e-9]],
  ['layers[0].learning.potentiationRate', learn('stdp', 'potentiationRate', { potentiationRateMax: 1 }), [above(0)], [0, -1]],
  ['layers[0].learning.depressionRate', learn('stdp', 'depressionRate'), [-Number.MIN_VALUE, -1], [0, 1e-9]],
  ['layers[0].learning.potentiationRateMax', learn('stdp', 'potentiationRateMax', { potentiationRate: 0.004 }), [0.004], [0.004 - 1e-9]],
  ['layers[0].learning.rateInterval', learn('stdp', 'rateInterval'), [1], [0]],
  // a pool layer
  ['layers[1].kernelSize', pool('kernelSize', { padding: 0, stride: 1 }), [1, 64], [0, 65]],
  ['layers[1].stride', pool('stride', { kernelSize: 1, padding: 0 }), [1, 64], [0, 65]],
  ['layers[1].padding', pool('padding', { kernelSize: 3 }), [0, 2], [-1, 3]],
  // training
  ['convergenceThreshold', (v) => resolveTrainOptions({ convergenceThreshold: v }), [above(0)], [0, -1]],
  ['epochs', (v) => resolveTrainOptions({ epochs: v }), [1], [0]],
  ['maxSamples', (v) => resolveTrainOptions({ maxSamples: v }), [0], [-1]],
  // the readout
  ['readout.C', (v) => resolveLinearSvmOptions({ C: v }), [above(0)], [0, -1]],
  ['readout.tolerance', (v) => resolveLinearSvmOptions({ tolerance: v }), [above(0)], [0]],
  ['readout.maxIterations', (v) => resolveLinearSvmOptions({ maxIterations: v }), [1], [0]],
  ['readout.seed', (v) => resolveLinearSvmOptions({ seed: v }), [0, 0xffffffff], [-1, 0x100000000]],
  // a scenario (its own fields; the nested resolvers above name their fields under it)
  ['seed', scenario((v) => ({ seed: v })), [0, 0xffffffff], [-1, 0x100000000]],
  ['limits.train', scenario((v) => ({ limits: { train: v } })), [0], [-1]],
  ['limits.extract', scenario((v) => ({ limits: { extract: v } })), [1], [0]],
  ['limits.test', scenario((v) => ({ limits: { test: v } })), [1], [0]],
  ['training.epochs', scenario((v) => ({ training: { epochs: v } })), [1], [0]],
  ['training.convergenceThreshold', scenario((v) => ({ training: { convergenceThreshold: v } })), [above(0)], [0]],
  ['readout.C', scenario((v) => ({ readout: { C: v } })), [above(0)], [0]],
  ['network.timeBins', scenario((v) => ({ network: { timeBins: v } })), [1], [0]],
  // the command line's integer flags share one parser
  ['--workers', (v) => parseIntegerFlag('--workers', String(v), 1, { min: 1, max: 256 }), [1, 256], [0, 257]],
];

describe('every bound of every resolver', () => {
  for (const [field, resolve, accepted, refused] of rows) {
    it(`${field}: accepts ${accepted.join(', ')}; refuses ${refused.join(', ')} naming the field`, () => {
      for (const v of accepted) expect(() => resolve(v), `${field} = ${v}`).not.toThrow();
      for (const v of refused) {
        let error: unknown;
        try {
          resolve(v);
        } catch (e) {
          error = e;
        }
        // an evspike error (one line on the command line), naming the field
        expect(error, `${field} = ${v} is refused`).toBeInstanceOf(EvspikeError);
        expect((error as Error).message).toContain(`${field}: expected`);
      }
    });
  }

  it('the worker pool refuses fewer than one thread before starting any', () => {
    for (const size of [0, -1, 1.5]) expect(() => new WorkerPool(size)).toThrow(/workers: expected a positive integer/);
  });
});
