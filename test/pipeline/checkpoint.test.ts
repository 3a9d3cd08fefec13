/**
 * Checkpoint files: the format version is checked on load, and a write that fails partway
 * (here: the process's file-size limit is hit mid-file) leaves the previous checkpoint intact.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EvspikeError } from '../../src/errors.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, readCheckpoint, writeCheckpoint, type CheckpointPayload } from '../../src/pipeline/checkpoint.js';
import { scenarioJson, loadScenario } from '../../src/pipeline/scenario.js';

function payload(weight: number): CheckpointPayload {
  const scenario = loadScenario('mnist-quick');
  return {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    createdAt: '2026-01-01T00:00:00.000Z',
    scenario: scenarioJson(scenario),
    phase: 'trained',
    layers: [
      {
        layer: 1,
        initialWeights: new Array(3430).fill(0.8),
        weights: new Array(3430).fill(weight),
        learningRate: 0.1,
        applications: 4000,
        samples: 600,
        stoppedBy: 'convergence',
        convergence: 0.009,
        convergenceHistory: Array.from({ length: 600 }, (_, i) => 1 / (i + 1)),
      },
    ],
  };
}

/** Write `file` with a checksum that matches its (edited) payload. */
function writeSigned(file: string, p: unknown): void {
  const body = JSON.stringify(p);
  writeFileSync(file, JSON.stringify({ checksum: `sha256:${createHash('sha256').update(body).digest('hex')}`, payload: p }));
}

describe('checkpoint files', () => {
  it('refuses a format version it does not read, even with a valid checksum', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evspike-version-'));
    writeCheckpoint(dir, payload(0.5));
    expect(readCheckpoint(dir).payload.version).toBe(CHECKPOINT_VERSION);
    for (const version of [0, 4, 99, '2']) {
      writeSigned(join(dir, 'checkpoint.json'), { ...payload(0.5), version });
      expect(() => readCheckpoint(dir)).toThrow(new RegExp(`checkpoint format version ${JSON.stringify(version)}, this evspike reads versions 1 and 2 and 3`));
    }
  });

  /** A payload as versions 1 and 2 wrote it: VDSP's parameters on the conv layer. */
  function flatVdsp(p: CheckpointPayload): CheckpointPayload {
    const old = structuredClone(p);
    old.scenario.network!.layers = old.scenario.network!.layers!.map((l) => {
      if (l.kind !== 'conv') return l;
      const { learning, ...rest } = l;
      const { rule: _r, ...flat } = learning as unknown as Record<string, unknown>;
      return { ...rest, ...flat } as never;
    });
    return old;
  }

  it('reads a version 1 checkpoint (one file per feature set as one part, VDSP under learning)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evspike-v1-'));
    writeSigned(join(dir, 'checkpoint.json'), { ...flatVdsp(payload(0.5)), version: 1, features: { test: { file: 'features-test.bin', sha256: 'ab', rows: 10 } } });
    const cp = readCheckpoint(dir);
    expect(cp.payload.features?.test).toEqual({ rows: 10, parts: [{ file: 'features-test.bin', sha256: 'ab', rows: 10 }] });
    expect(cp.scenario).toEqual(loadScenario('mnist-quick'));
  });

  it('reads a version 2 checkpoint, moving VDSP parameters under learning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evspike-v2-'));
    const old = flatVdsp(payload(0.5));
    expect(JSON.stringify(old.scenario)).toMatch(/"depressionFactor":2/);
    expect(JSON.stringify(old.scenario)).not.toMatch(/"learning"/);
    writeSigned(join(dir, 'checkpoint.json'), { ...old, version: 2 });
    expect(readCheckpoint(dir).scenario).toEqual(loadScenario('mnist-quick'));
  });

  it('keeps the previous checkpoint intact when a write fails partway', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evspike-partial-'));
    writeCheckpoint(dir, payload(0.25));
    const before = readFileSync(join(dir, 'checkpoint.json'));
    expect(before.length).toBeGreaterThan(40_000);
    // A file-size limit on this process makes the next write fail after 16 KiB: the kernel
    // refuses the rest with EFBIG (SIGXFSZ is ignored meanwhile so that it is an error).
    const ignore = (): void => {};
    process.on('SIGXFSZ', ignore);
    execFileSync('prlimit', ['--pid', String(process.pid), '--fsize=16384:']);
    let error: unknown;
    try {
      writeCheckpoint(dir, payload(0.75));
    } catch (e) {
      error = e;
    } finally {
      execFileSync('prlimit', ['--pid', String(process.pid), '--fsize=unlimited:']);
      process.off('SIGXFSZ', ignore);
    }
    expect(error).toBeInstanceOf(EvspikeError);
    expect((error as Error).message).toMatch(/checkpoint\.json: cannot write: EFBIG/);
    expect(readFileSync(join(dir, 'checkpoint.json'))).toEqual(before);
    expect(readCheckpoint(dir).payload.layers[0].weights[0]).toBe(0.25);
    expect(readdirSync(dir)).toEqual(['checkpoint.json']); // the half-written temporary file is gone
    // and with the limit lifted the same write goes through
    writeCheckpoint(dir, payload(0.75));
    expect(readCheckpoint(dir).payload.layers[0].weights[0]).toBe(0.75);
  });
});
