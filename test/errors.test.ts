/** The named errors carry the offending value, and the command line prints each as one line. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { CheckpointError, EvspikeError, KernelUnavailableError, ModelFileError, OptionError } from '../src/errors.js';
import { readOnnxModel } from '../src/export/read.js';
import { readCheckpoint } from '../src/pipeline/checkpoint.js';

function caught(run: () => unknown): unknown {
  try {
    run();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('named errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evspike-errors-'));

  it('a checkpoint error names the folder or file', () => {
    const e = caught(() => readCheckpoint(join(dir, 'none')));
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as CheckpointError).path).toBe(join(dir, 'none'));
    expect((e as CheckpointError).problem).toBe('checkpoint folder does not exist');
  });

  it('a model-file error names the file, the field and the value', () => {
    const file = join(dir, 'junk.onnx');
    writeFileSync(file, 'not protobuf at all');
    const e = caught(() => readOnnxModel(file));
    expect(e).toBeInstanceOf(ModelFileError);
    expect((e as ModelFileError).file).toBe(file);
    expect(['file', 'metadata']).toContain((e as ModelFileError).field);
  });

  it('a kernel that cannot run is a named error with the kernel', () => {
    const e = new KernelUnavailableError('wasm', 'no SIMD');
    expect(e).toBeInstanceOf(EvspikeError);
    expect(e.kernel).toBe('wasm');
    expect(e.message).toBe('kernel "wasm" is not available here: no SIMD; use --kernel js or auto');
  });

  it('every evspike error reaches the user as one line with exit code 2', async () => {
    for (const argv of [
      ['evaluate', '--checkpoint', join(dir, 'none')],
      ['infer', '--model', join(dir, 'junk.onnx')],
      ['run', '--seed', 'x'],
    ]) {
      const err: string[] = [];
      const code = await main(argv, { out: () => {}, err: (l) => err.push(l) });
      expect(code).toBe(2);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(new RegExp(`^evspike ${argv[0]}: `));
    }
    expect(new OptionError('x', 1, 'two')).toBeInstanceOf(EvspikeError);
  });
});
