import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { referenceTracePath } from '../helpers.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('evspike command line', async () => {
  it('lists the commands, and refuses an unknown one', async () => {
    expect((await run('--help')).out).toMatch(/evspike replay TRACE/);
    const r = await run('frobnicate');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown command "frobnicate"/);
  });

  const bad: [string[], RegExp][] = [
    [['replay'], /TRACE: expected a trace file/],
    [['replay', 'no/such.json'], /no\/such\.json: cannot read trace: no such file/],
    [['replay', 'a.json', '--precision', 'float16'], /--precision: expected one of "float32", "float64", got "float16"/],
    [['replay', 'a.json', 'b.json'], /arguments: expected at most 1 argument/],
    [['bench', '--samples', '0'], /--samples: expected an integer ≥ 1 and ≤ 10000, got "0"/],
    [['bench', '--samples', '12abc'], /--samples: expected an integer/],
    [['bench', '--kernel', 'gpu'], /--kernel: expected one of "auto", "wasm", "js", got "gpu"/],
    [['train', '--seed', '-1'], /--seed: expected an integer ≥ 0/],
    [['train', '--bogus'], /--bogus: expected a known option/],
    [['train', '--seed'], /--seed: expected a value after --seed/],
    [['train', '--data', '/nonexistent/mnist'], /\/nonexistent\/mnist: data folder does not exist/],
    [['train', '--train-limit', '-5'], /--train-limit: expected an integer ≥ 1, got "-5"/],
  ];
  for (const [argv, message] of bad) {
    it(`exits non-zero with a clear message: ${argv.join(' ')}`, async () => {
      const r = await run(...argv);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
    });
  }

  it('replays a trace and writes the replayed results atomically with the trace key names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evspike-cli-'));
    const file = join(dir, 'replayed.json');
    const r = await run('replay', referenceTracePath(), '--out', file);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/training steps identical +28\/28/);
    const json = JSON.parse(readFileSync(file, 'utf8'));
    expect(Object.keys(json)).toEqual(['train_steps', 'inference']);
    expect(Object.keys(json.train_steps[0])).toEqual(['sample', 'weights_after', 'lr_after', 'vdsp_count_after', 'conv_spikes', 'winners']);
    expect(Object.keys(json.inference[0])).toEqual(['test_index', 'conv_spikes', 'pool_features', 'total_spikes']);
    expect(json.train_steps[0].weights_after).toHaveLength(3430);
    expect(readdirSync(dir)).toEqual(['replayed.json']); // no temporary file left
  });

  it('refuses an output file in a missing folder and writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evspike-cli-'));
    const r = await run('replay', referenceTracePath(), '--out', join(dir, 'missing', 'x.json'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot write: folder .*missing does not exist/);
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });

  it('trains, tests and reports as JSON', async () => {
    const r = await run('train', '--train-limit', '40', '--test-limit', '100', '--json', '--quiet');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.samplesToConvergence).toBe(40);
    expect(report.stoppedBy).toBe('limit');
    expect(report.testSamples).toBe(100);
    expect(report.spikesPerSample.total).toBeCloseTo(report.spikesPerSample.input + report.spikesPerSample.conv + report.spikesPerSample.pool, 9);
    expect(report.spikesPerSample.input).toBeGreaterThan(100);
    expect(report.denseMacsPerSample).toBe(15 * 70 * 28 * 28 * 49 + 15 * 70 * 9 * 9 * 9);
    expect(report.synapticEventsPerSample).toBeLessThanOrEqual(report.fanoutEventsPerSample);
  });

  it('benchmarks and prints the four figures as JSON', async () => {
    const r = await run('bench', '--samples', '100', '--dense-samples', '1', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    for (const key of ['inferenceSamplesPerSecond', 'trainSamplesPerSecond', 'synapticEventsPerSample', 'denseMacsPerSample']) {
      expect(report[key]).toBeGreaterThan(0);
    }
    expect(report.denseMacsPerSample).toBeGreaterThan(100 * report.synapticEventsPerSample);
    expect(r.err).toBe('');
  });
});
