/**
 * Atomic file output: write to a temporary file beside the target, then rename it over the
 * target. A run killed mid-write leaves the previous file (or none) intact, never half a file.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EvspikeError } from '../errors.js';

/** Write `data` to `file` atomically; throws {@link EvspikeError} naming the file on failure. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = dirname(file);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new EvspikeError(`${file}: cannot write: folder ${dir} does not exist`);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.tmp`);
  try {
    const fd = openSync(tmp, 'w');
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    const e = err as NodeJS.ErrnoException;
    throw new EvspikeError(`${file}: cannot write: ${e.code ?? ''} ${e.message}`.trim());
  }
}
