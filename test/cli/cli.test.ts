import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main, version } from '../../src/cli/main.js';
import { BENCH_SPEC } from '../../src/cli/bench.js';
import { EXPORT_SPEC, INFER_SPEC } from '../../src/cli/onnx.js';
import { REPLAY_SPEC } from '../../src/cli/replay.js';
import { EVALUATE_SPEC, RUN_SPEC } from '../../src/cli/run.js';
import { TRAIN_SPEC } from '../../src/cli/train.js';
import { VISUALIZE_SPEC } from '../../src/cli/visualize.js';
import { SWEEP_SPEC } from '../../src/cli/sweep.js';
import { WORKER_SPEC } from '../../src/cli/worker.js';
import { loadScenario, withOverrides } from '../../src/pipeline/scenario.js';
import { STDP_DEFAULTS } from '../../src/plasticity/stdp.js';
import { referenceTracePath, repoRoot } from '../helpers.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('evspike command line', async () => {
  it('lists the commands, and refuses an unknown one', async () => {
    const help = await run('--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/evspike replay TRACE/);
    for (const name of ['run', 'evaluate', 'visualize', 'export', 'infer', 'train', 'replay', 'bench', 'sweep', 'worker']) expect(help.out).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    const r = await run('frobnicate');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown command "frobnicate"/);
  });

  for (const spec of [RUN_SPEC, EVALUATE_SPEC, VISUALIZE_SPEC, EXPORT_SPEC, INFER_SPEC, TRAIN_SPEC, REPLAY_SPEC, BENCH_SPEC, SWEEP_SPEC, WORKER_SPEC]) {
    it(`evspike ${spec.name} --help lists every flag with its meaning and default`, async () => {
      const r = await run(spec.name, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^usage: evspike ${spec.name} `));
      expect(Object.keys(spec.flags).length).toBeGreaterThan(0);
      for (const [name, flag] of Object.entries(spec.flags)) {
        const line = r.out.split('\n').findIndex((l) => l.trimStart().startsWith(`--${name}`));
        expect(line, `--${name} in the help of ${spec.name}`).toBeGreaterThan(0);
        const text = r.out.split('\n').slice(line, line + 2).join(' ');
        expect(text).toContain(flag.help);
        if (flag.default !== undefined) expect(text).toContain(`(default: ${flag.default})`);
      }
      expect((await run('help', spec.name)).out).toBe(r.out);
    });
  }

  it('prints the version of package.json', async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    expect(version()).toBe(pkg.version);
    const r = await run('--version');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`evspike ${pkg.version}`);
  });

  it('names the closest flag or command to a typo', async () => {
    expect((await run('run', '--sed', '3')).err).toMatch(/--sed: expected a known option: did you mean --seed\?/);
    expect((await run('bench', '--sample', '3')).err).toMatch(/did you mean --samples\?/);
    expect((await run('run', '--test-limt', '3')).err).toMatch(/did you mean --test-limit\?/);
    expect((await run('run', '--zzzzzzzz')).err).toMatch(/--zzzzzzzz: expected a known option \(see evspike run --help\)/);
    expect((await run('rnu')).err).toMatch(/unknown command "rnu": did you mean run\?/);
  });

  it('takes a scenario as a name, a name with .json, or a path', () => {
    const byName = loadScenario('mnist-quick');
    expect(loadScenario('mnist-quick.json')).toEqual(byName);
    expect(loadScenario(join(repoRoot, 'scenarios', 'mnist-quick.json'))).toEqual(byName);
  });

  const tooMany: [string[], RegExp][] = [
    [['run', 'mnist-quick.json', '--test-limit', '20000'], /--test-limit: expected at most 10000: the data holds 10000 test images, got 20000/],
    [['run', '--extract-limit', '60001'], /--extract-limit: expected at most 60000: the data holds 60000 training images, got 60001/],
    [['train', '--test-limit', '20000'], /--test-limit: expected an integer ≥ 1 and ≤ 10000, got "20000"/],
    [['run', '--train-limit', '60001'], /--train-limit: expected at most 60000: the data holds 60000 training samples \(60000 images × 1 epoch\(s\)\), got 60001/],
  ];
  for (const [argv, message] of tooMany) {
    it(`says so when a limit is above what the data holds: ${argv.join(' ')}`, async () => {
      const r = await run(...argv);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
    });
  }

  const bad: [string[], RegExp][] = [
    [['replay'], /TRACE: expected a trace file/],
    [['replay', 'no/such.json'], /no\/such\.json: cannot read trace: no such file/],
    [['replay', 'a.json', '--precision', 'float16'], /--precision: expected one of "float32", "float64", got "float16"/],
    [['replay', 'a.json', 'b.json'], /arguments: expected at most 1 argument/],
    [['bench', '--samples', '0'], /--samples: expected an integer ≥ 1 and ≤ 10000, got "0"/],
    [['bench', '--samples', '12abc'], /--samples: expected an integer/],
    [['bench', '--kernel', 'gpu'], /--kernel: expected one of "auto", "native", "wasm", "js", got "gpu"/],
    [['train', '--seed', '-1'], /--seed: expected an integer ≥ 0/],
    [['train', '--bogus'], /--bogus: expected a known option \(see evspike train --help\)/],
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
    // training: the best of three rounds, the first among them
    expect(report.firstRoundTrainSamplesPerSecond).toBeGreaterThan(0);
    expect(report.trainSamplesPerSecond).toBeGreaterThanOrEqual(report.firstRoundTrainSamplesPerSecond);
    expect(r.err).toBe('');
  });
});

describe('--set and scenarios on every command', () => {
  it('sets any scenario value, checked by the same resolver as a scenario file', async () => {
    const r = await run('run', 'mnist-quick', '--set', 'network.layers[0].maps=12', '--set', 'network.layers[0].learning.depressionFactor=1', '--set', 'limits.train=30', '--set', 'limits.extract=300', '--set', 'limits.test=100', '--workers', '1', '--json', '--quiet');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.config.network.layers[0].maps).toBe(12);
    expect(report.config.network.layers[0].learning).toMatchObject({ rule: 'vdsp', depressionFactor: 1 });
    expect(report.samplesToConvergence).toBe(30);
    expect(report.testSamples).toBe(100);
    const edited = withOverrides(loadScenario('mnist-quick'), { set: ['network.layers[0].learning={"rule":"stdp","potentiationRate":0.01}'] });
    expect(edited.network.layers[1].kind === 'conv' && edited.network.layers[1].learning).toEqual({ ...STDP_DEFAULTS, potentiationRate: 0.01 });
  });

  const badSettings: [string, RegExp][] = [
    ['network.layers[0].mapz=3', /options: network\.layers\[0\]\.mapz: expected no such option/],
    ['network.layers[0].maps=-2', /options: network\.layers\[0\]\.maps: expected an integer ≥ 1 and ≤ 4096, got -2/],
    ['network.layers[0].learning.rule="bcm"', /options: network\.layers\[0\]\.learning\.rule: expected one of "vdsp", "stdp", got "bcm"/],
    ['network.layers[7].maps=3', /--set network\.layers\[7\]\.maps: expected an index within the 2 entries there, got "network\.layers\[7\]"/],
    ['network..maps=3', /--set: expected a path of names and \[indices\]/],
    ['seed', /--set: expected PATH=VALUE/],
    ['readout.C=0', /options: readout\.C: expected a finite number > 0, got 0/],
  ];
  for (const [setting, message] of badSettings) {
    it(`refuses --set ${setting} with the resolver's message`, async () => {
      const r = await run('run', 'mnist-quick', '--set', setting);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
    });
  }

  it('train and bench take a SCENARIO: STDP trains and reports its rule', async () => {
    const t = await run('train', 'mnist-stdp', '--train-limit', '30', '--test-limit', '50', '--json', '--quiet');
    expect(t.code).toBe(0);
    const report = JSON.parse(t.out);
    expect(report.scenario).toBe('mnist-stdp');
    expect(report.rule).toBe('stdp');
    expect(report.layers).toHaveLength(1);
    expect(report.applications).toBeGreaterThan(0);
    const b = await run('bench', 'mnist-quick', '--set', 'network.layers[0].maps=8', '--set', 'limits.train=40', '--samples', '30', '--dense-samples', '1', '--json');
    expect(b.code).toBe(0);
    const bench = JSON.parse(b.out);
    expect(bench.convergenceSamples).toBe(40);
    expect(bench.denseMacsPerSample).toBe(15 * 8 * 28 * 28 * 49 + 15 * 8 * 9 * 9 * 9);
  });
});
