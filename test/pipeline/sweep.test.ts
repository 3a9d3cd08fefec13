/**
 * Local sweeps: points are normal runs (bit-identical to `runExperiment` with the same
 * overrides and seed), results are written one file per point, a second run skips what is
 * done, an interrupted sweep goes on, a folder of another sweep or version is refused, bad sweep
 * files are refused naming the field, and the report summarises mean ± sd per value.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseSeeds } from '../../src/cli/sweep.js';
import { loadMnist } from '../../src/data/mnist.js';
import { InterruptedError } from '../../src/errors.js';
import { runExperiment, runReportJson } from '../../src/pipeline/run.js';
import { withOverrides } from '../../src/pipeline/scenario.js';
import { loadSweep, readSweepResults, runSweep, sweepCsv, sweepPoints, sweepTable, type SweepPointResult } from '../../src/pipeline/sweep.js';
import { pixelFeatures } from '../../src/pipeline/baseline.js';

const mnist = loadMnist();
const tmp = (name: string): string => mkdtempSync(join(tmpdir(), `evspike-${name}-`));

/** A sweep file small enough for a test: 2 values × 2 seeds of a tiny network. */
function tinySweep(dir: string, name = 'tiny', values = [4, 6]): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      name,
      scenario: 'mnist-quick',
      set: ['limits.train=40', 'limits.extract=300', 'limits.test=100', 'network.layers[0].kernelSize=5', 'network.layers[0].padding=2'],
      axes: [{ path: 'network.layers[0].maps', values, label: 'feature maps' }],
      seeds: [0, 1],
    }),
  );
  return file;
}

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A run's result without what depends on the machine or the moment. */
const comparable = (r: Record<string, unknown>): Record<string, unknown> => {
  const { seconds: _s, peakMemoryMB: _m, workers: _w, ...rest } = r;
  return rest;
};

describe('sweeps on one machine', () => {
  it('runs every point as a normal run, writes one result per point, and skips finished ones', async () => {
    const dir = tmp('sweep');
    const sweep = loadSweep(tinySweep(dir));
    const points = sweepPoints(sweep);
    expect(points.map((p) => [p.values[0], p.seed])).toEqual([
      [4, 0],
      [4, 1],
      [6, 0],
      [6, 1],
    ]);
    const out = join(dir, 'out');
    const first = await runSweep({ sweep, points, data: mnist, outDir: out, workers: 1, version: '9.9.9' });
    expect(first).toEqual({ ran: 4, skipped: 0 });
    expect(readdirSync(join(out, 'runs')).sort()).toEqual(points.map((p) => `${p.id}.json`).sort());
    const again = await runSweep({ sweep, points, data: mnist, outDir: out, workers: 1, version: '9.9.9' });
    expect(again).toEqual({ ran: 0, skipped: 4 });

    // a point is bit-identical to evspike run with the same overrides and seed
    const point = points[3];
    const saved = JSON.parse(readFileSync(join(out, 'runs', `${point.id}.json`), 'utf8')) as SweepPointResult;
    const direct = await runExperiment({ scenario: withOverrides(point.scenario, {}), data: mnist, workers: 2 });
    expect(comparable(saved.result)).toEqual(comparable(JSON.parse(JSON.stringify(runReportJson(direct)))));
    expect(saved.result.config).toEqual(JSON.parse(JSON.stringify(direct.config)));
    expect(saved).toMatchObject({ sweep: 'tiny', part: 'tiny', values: [6], labels: ['feature maps'], seed: 1, evspike: '9.9.9' });
    expect(saved.dataChecksum).toMatch(/^[0-9a-f]{64}$/);

    // the table: mean ± sd over the two seeds of each value, from the files
    const { points: results } = readSweepResults(out);
    const rows = sweepTable(results, ['accuracy']);
    expect(rows.map((r) => [r.values, r.seeds])).toEqual([
      [[4], 2],
      [[6], 2],
    ]);
    const accuracies = results.filter((r) => r.values[0] === 6).map((r) => r.result.accuracy as number);
    const mean = (accuracies[0] + accuracies[1]) / 2;
    expect(rows[1].metrics.accuracy.mean).toBeCloseTo(mean, 12);
    expect(rows[1].metrics.accuracy.sd).toBeCloseTo(Math.abs(accuracies[0] - accuracies[1]) / Math.SQRT2, 12);
    const csv = sweepCsv(results, ['accuracy', 'spikesPerSample.total']).trim().split('\n');
    expect(csv[0]).toBe('part,value1,seed,accuracy,spikesPerSample.total');
    expect(csv).toHaveLength(5);
  });

  it('goes on after an interruption, and the points are the same as in one go', async () => {
    const dir = tmp('sweep-resume');
    const sweep = loadSweep(tinySweep(dir));
    const points = sweepPoints(sweep);
    const out = join(dir, 'out');
    const controller = new AbortController();
    let error: unknown;
    try {
      await runSweep({ sweep, points, data: mnist, outDir: out, workers: 1, version: '9.9.9', signal: controller.signal, onPoint: (done) => done === 2 && controller.abort('SIGINT') });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InterruptedError);
    expect(readdirSync(join(out, 'runs'))).toHaveLength(2);
    expect(await runSweep({ sweep, points, data: mnist, outDir: out, workers: 1, version: '9.9.9' })).toEqual({ ran: 2, skipped: 2 });
  });

  it('refuses a folder of another sweep, another evspike version or other data, and keeps what is there', async () => {
    const dir = tmp('sweep-mix');
    const out = join(dir, 'out');
    const sweep = loadSweep(tinySweep(dir));
    await runSweep({ sweep, points: sweepPoints(sweep, [0]).slice(0, 1), data: mnist, outDir: out, workers: 1, version: '9.9.9' });
    const other = loadSweep(tinySweep(dir, 'tiny', [4, 8]));
    await expect(runSweep({ sweep: other, points: sweepPoints(other), data: mnist, outDir: out, workers: 1, version: '9.9.9' })).rejects.toThrow(/holds the results of another sweep definition \(tiny\)/);
    await expect(runSweep({ sweep, points: sweepPoints(sweep), data: mnist, outDir: out, workers: 1, version: '9.9.10' })).rejects.toThrow(/holds results of evspike 9\.9\.9, this is 9\.9\.10; they are kept apart/);
    const fewer = { ...mnist, test: { ...mnist.test, count: 5000, pixels: mnist.test.pixels.subarray(0, 5000 * 784), labels: mnist.test.labels.subarray(0, 5000) } };
    await expect(runSweep({ sweep, points: sweepPoints(sweep), data: fewer, outDir: out, workers: 1, version: '9.9.9' })).rejects.toThrow(/holds results on other data/);
    expect(readdirSync(join(out, 'runs'))).toHaveLength(1);
  });

  const bad: [string, unknown, RegExp][] = [
    ['an unknown key', { name: 'x', axis: [] }, /x\.json: axis: expected no such key/],
    ['no axes', { name: 'x' }, /axes: expected a non-empty list of axes/],
    ['an unknown path', { name: 'x', axes: [{ path: 'network.layers[0].mapz', values: [3] }] }, /axis network\.layers\[0\]\.mapz = 3: options: network\.layers\[0\]\.mapz: expected no such option/],
    ['a value the resolver refuses', { name: 'x', axes: [{ path: 'network.layers[0].maps', values: [5, -1] }] }, /axis network\.layers\[0\]\.maps = -1: options: network\.layers\[0\]\.maps: expected an integer ≥ 1/],
    ['a bad seed', { name: 'x', axes: [{ path: 'seed', values: [1] }], seeds: [-1] }, /seeds\[0\]: expected an integer ≥ 0/],
    ['a bad name', { name: 'a b', axes: [{ path: 'seed', values: [1] }] }, /name: expected a name of letters/],
    ['a self-include', { name: 'x', include: ['x.json'] }, /include: expected no sweep that includes itself/],
  ];
  for (const [what, content, message] of bad) {
    it(`refuses a sweep file with ${what}, naming the field`, async () => {
      const dir = tmp('sweep-bad');
      const file = join(dir, 'x.json');
      writeFileSync(file, JSON.stringify(content));
      const r = await cli('sweep', file, '--out', join(dir, 'out'));
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
    });
  }

  it('ships the paper sweep with the authors values', () => {
    const paper = loadSweep('paper');
    expect(paper.parts.map((p) => p.name)).toEqual(['maps', 'pooling', 'train-samples', 'depression', 'baseline']);
    expect(paper.parts.find((p) => p.name === 'baseline')).toMatchObject({ run: 'pixel-svm' });
    expect(paper.parts.find((p) => p.name === 'baseline')!.scenario.readout.C).toBe(0.005);
    const axis = (name: string) => paper.parts.find((p) => p.name === name)!.axes[0];
    expect(axis('maps').values).toEqual([5, 10, 20, 30, 40, 50, 60, 70, 90, 110, 130, 150]);
    expect(axis('pooling').paths).toEqual(['network.layers[1].kernelSize', 'network.layers[1].stride']);
    expect(axis('pooling').values).toEqual([1, 2, 3, 4, 5, 6]);
    expect(axis('train-samples').values).toEqual([0, 10, 50, 100, 150, 200, 250, 300, 500, 1000, 2000]);
    expect(axis('depression').values).toEqual([1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3]);
    expect(paper.parts.every((p) => p.seeds.length === 10)).toBe(true);
    expect(sweepPoints(paper)).toHaveLength((12 + 6 + 11 + 9 + 1) * 10);
    expect(new Set(sweepPoints(paper).map((p) => p.id)).size).toBe(390);
  });

  it('runs the raw-pixel baseline as a sweep point: the readout on the pixels, no network', async () => {
    const dir = tmp('sweep-baseline');
    const file = join(dir, 'b.json');
    writeFileSync(file, JSON.stringify({ name: 'b', run: 'pixel-svm', scenario: 'mnist-quick', set: ['limits.extract=2000', 'limits.test=500'], axes: [{ path: 'readout.C', values: [0.005] }], seeds: [0] }));
    const sweep = loadSweep(file);
    const out = join(dir, 'out');
    await runSweep({ sweep, points: sweepPoints(sweep), data: mnist, outDir: out, workers: 1, version: '9.9.9' });
    const [point] = readSweepResults(out).points;
    expect(point.run).toBe('pixel-svm');
    expect(point.result).toMatchObject({ baseline: 'raw-pixels', features: 784, readoutTrainSamples: 2000, testSamples: 500 });
    // a linear SVM on MNIST pixels: well above chance, below the spiking network
    expect(point.result.accuracy as number).toBeGreaterThan(0.8);
    expect(point.result.accuracy as number).toBeLessThan(0.95);
    // the pixels as features: the non-zero ones, scaled to [0, 1]
    const f = pixelFeatures(mnist.test, 1);
    expect(f.indices.length).toBe(mnist.test.pixels.subarray(0, 784).filter((v) => v > 0).length);
    expect(Array.from(f.values!)).toEqual(Array.from(f.indices, (p) => mnist.test.pixels[p] / 255));
  });

  it('parses seed lists', () => {
    expect(parseSeeds('0-3,7')).toEqual([0, 1, 2, 3, 7]);
    expect(() => parseSeeds('3-1')).toThrow(/--seeds: expected ascending ranges/);
    expect(() => parseSeeds('a')).toThrow(/--seeds: expected seeds as 0,1,2 or 0-9/);
  });

  it('the command runs a sweep and reports tables, a CSV and a figure per axis', async () => {
    const dir = tmp('sweep-cli');
    const out = join(dir, 'out');
    const r = await cli('sweep', tinySweep(dir), '--out', out, '--seeds', '0', '--workers', '1', '--quiet');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/sweep tiny: 2 finished points/);
    expect(r.out).toMatch(/^4 +1 +\d+\.\d\d ± 0\.00 %/m);
    const files = readdirSync(join(out, 'figures'));
    expect(files).toContain('tiny-accuracy.svg');
    expect(files).toContain('tiny-accuracy.png');
    expect(readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n')).toHaveLength(3);
    const again = await cli('sweep', '--report', out, '--json');
    expect(JSON.parse(again.out)).toMatchObject({ sweep: 'tiny', points: 2 });
    expect((await cli('sweep', '--report', join(dir, 'nothing'))).err).toMatch(/not a sweep results folder/);
  });
});
