/**
 * Interrupting a run: an aborted run keeps what it saved, a resumed run goes on from the last
 * saved part of the features, and the result is bit-identical to an uninterrupted run. Then the
 * same through the command line with real signals (SIGINT, SIGTERM) sent to a child process.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../../src/data/mnist.js';
import { InterruptedError } from '../../src/errors.js';
import { readCheckpoint, readFeatureSet } from '../../src/pipeline/checkpoint.js';
import { runExperiment, type Phase, type RunResult } from '../../src/pipeline/run.js';
import { loadScenario, withOverrides } from '../../src/pipeline/scenario.js';
import { sameFeatures } from '../../src/readout/features.js';
import { repoRoot } from '../helpers.js';

const mnist = loadMnist();
const scenario = withOverrides(loadScenario('mnist-quick'), { extractLimit: 3000, testLimit: 1000 });
const tmp = (name: string): string => mkdtempSync(join(tmpdir(), `evspike-${name}-`));

/** Rows of a feature set that the checkpoint in `dir` has saved. */
function savedRows(dir: string, which: 'train' | 'test'): number {
  return existsSync(join(dir, 'checkpoint.json')) ? (readCheckpoint(dir).payload.features?.[which]?.rows ?? 0) : 0;
}

/** Run, aborting during `phase` once `after` of its images are saved; returns the error it stopped with. */
async function interruptedRun(dir: string, workers: number, phase: Phase, after: number): Promise<unknown> {
  const controller = new AbortController();
  const which = phase === 'extract-train' ? 'train' : 'test';
  const onProgress = (p: Phase): void => {
    if (p === phase && !controller.signal.aborted && savedRows(dir, which) >= after) controller.abort('SIGINT');
  };
  try {
    await runExperiment({ scenario, data: mnist, workers, saveDir: dir, checkpointEvery: 500, signal: controller.signal, onProgress });
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('an interrupted run resumes to a bit-identical result', () => {
  const whole = tmp('whole');
  let reference: RunResult;

  beforeAll(async () => {
    reference = await runExperiment({ scenario, data: mnist, workers: 2, saveDir: whole, checkpointEvery: 500 });
  });

  const cases: [string, number, Phase, number][] = [
    ['2 workers, stopped during the training features', 2, 'extract-train', 1000],
    ['1 worker, stopped during the training features', 1, 'extract-train', 1500],
    ['2 workers, stopped during the test features', 2, 'extract-test', 0],
  ];
  for (const [name, workers, phase, after] of cases) {
    it(name, async () => {
      const dir = tmp('interrupted');
      const error = await interruptedRun(dir, workers, phase, after);
      expect(error).toBeInstanceOf(InterruptedError);
      expect((error as InterruptedError).reason).toBe('SIGINT');
      // what was saved: the trained layers and whole parts of 500 images, no temporary files
      const saved = readCheckpoint(dir);
      expect(saved.payload.phase).toBe('trained');
      const train = saved.payload.features?.train;
      expect(train).toBeDefined();
      if (phase === 'extract-train') {
        expect(train!.rows % 500).toBe(0);
        expect(train!.rows).toBeGreaterThanOrEqual(500);
        expect(train!.rows).toBeLessThan(3000);
        expect(saved.payload.features?.test).toBeUndefined();
      } else {
        expect(train!.rows).toBe(3000);
      }
      expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
      const savedRows = { train: train!.rows, test: saved.payload.features?.test?.rows ?? 0 };

      // resume: extraction starts from the saved parts, and everything equals the whole run
      const starts: Partial<Record<Phase, number>> = {};
      const resumed = await runExperiment({
        scenario: saved.scenario,
        data: mnist,
        workers,
        saveDir: dir,
        resume: saved,
        checkpointEvery: 500,
        onProgress: (p, done) => (starts[p] ??= done),
      });
      expect(starts['extract-train'] ?? 3000).toBe(savedRows.train === 3000 ? 3000 : savedRows.train);
      expect(resumed.seconds.train).toBe(0);
      expect(resumed.accuracy).toBe(reference.accuracy);
      expect(resumed.trainAccuracy).toBe(reference.trainAccuracy);
      expect(resumed.spikesPerSample).toEqual(reference.spikesPerSample);
      expect(resumed.synapticEventsPerSample).toBe(reference.synapticEventsPerSample);
      expect(resumed.fanoutEventsPerSample).toBe(reference.fanoutEventsPerSample);
      const a = readCheckpoint(dir).payload;
      const b = readCheckpoint(whole).payload;
      expect(a.phase).toBe('complete');
      for (const which of ['train', 'test'] as const) {
        expect(sameFeatures(readFeatureSet(dir, a.features![which]!, 5670), readFeatureSet(whole, b.features![which]!, 5670))).toBe(true);
      }
      expect(a.readout).toEqual(b.readout);
      expect(a.results).toEqual(b.results);
      expect(a.layers).toEqual(b.layers);
    });
  }
});

/** Start `evspike run` as a child process; resolves once `ready(dir)` holds, with the process. */
function startRun(args: string[]) {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'evspike.js'), 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<{ code: number | null; stderr: string; stdout: string; at: number }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stderr, stdout, at: performance.now() })),
  );
  return { child, exited };
}

/** Wait until the checkpoint in `dir` has saved some training features (polling). */
async function untilFeaturesSaved(dir: string, limitMs = 60_000): Promise<void> {
  const start = performance.now();
  while (performance.now() - start < limitMs) {
    const file = join(dir, 'checkpoint.json');
    if (existsSync(file)) {
      try {
        if (JSON.parse(readFileSync(file, 'utf8')).payload.features?.train?.rows > 0) return;
      } catch {
        // being replaced: the rename is atomic, so this only races with the read; try again
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no features saved in ${dir} within ${limitMs} ms`);
}

describe('Ctrl-C and SIGTERM on the command line', () => {
  const args = (dir: string) => ['mnist-quick', '--extract-limit', '10000', '--test-limit', '1000', '--workers', '1', '--checkpoint-every', '500', '--save', dir];

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal}: stops within two seconds with exit code ${code}, says what was saved and how to go on`, async () => {
      const dir = tmp(`signal-${signal}`);
      const { child, exited } = startRun(args(dir));
      await untilFeaturesSaved(dir);
      const sent = performance.now();
      child.kill(signal);
      const r = await exited;
      expect(r.code).toBe(code);
      expect(r.at - sent).toBeLessThan(2000);
      expect(r.stderr).toMatch(new RegExp(`evspike run: interrupted by ${signal}`));
      expect(r.stderr).toMatch(/saved in .*: trained weights of 1 conv layer\(s\), features of \d+ training images/);
      expect(r.stderr).toContain(`go on with: npx evspike run --resume ${dir}`);
      expect(r.stdout).toBe('');
      const saved = readCheckpoint(dir);
      expect(saved.payload.features!.train!.rows % 500).toBe(0);
      expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
      if (signal === 'SIGINT') {
        // the same command again continues the run saved in the folder, and finishes it
        const again = startRun([...args(dir), '--json']);
        const done = await again.exited;
        expect(done.code).toBe(0);
        expect(done.stderr).toMatch(/continuing the run saved in/);
        const result = JSON.parse(done.stdout);
        const whole = await runExperiment({ scenario: withOverrides(loadScenario('mnist-quick'), { extractLimit: 10000, testLimit: 1000 }), data: mnist, workers: 2 });
        expect(result.accuracy).toBe(whole.accuracy);
        expect(result.spikesPerSample).toEqual(whole.spikesPerSample);
        expect(readCheckpoint(dir).payload.phase).toBe('complete');
      }
    });
  }
});
