import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeIdx, readIdxFile, readImageSet } from '../../src/data/idx.js';
import { loadMnist } from '../../src/data/mnist.js';
import { DataFileError } from '../../src/errors.js';
import { idxBytes } from '../helpers.js';

describe('decodeIdx', () => {
  it('reads dimensions and values', () => {
    const a = decodeIdx(idxBytes([2, 3], [1, 2, 3, 4, 5, 6]), 'x');
    expect(a.dims).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('reads gzip-compressed files by their magic bytes', () => {
    const a = decodeIdx(gzipSync(idxBytes([4], [9, 8, 7, 6])), 'x.gz');
    expect(Array.from(a.data)).toEqual([9, 8, 7, 6]);
  });

  it('rejects a bad magic number, naming the file', () => {
    const bytes = idxBytes([1], [0]);
    bytes[0] = 0x12;
    expect(() => decodeIdx(bytes, 'bad.idx')).toThrow(/bad\.idx: bad magic number 0x12/);
  });

  it('rejects a data type other than unsigned bytes', () => {
    const bytes = idxBytes([1], [0]);
    bytes[2] = 0x0d;
    expect(() => decodeIdx(bytes, 'f.idx')).toThrow(/unsupported IDX data type 0xd/);
  });

  it('rejects a file whose size does not match its header', () => {
    expect(() => decodeIdx(idxBytes([2, 2], [1, 2, 3]), 'short')).toThrow(/file size 15 bytes does not match its header \(dimensions 2×2 need 16 bytes\)/);
    expect(() => decodeIdx(idxBytes([1], [1, 2]), 'long')).toThrow(DataFileError);
  });

  it('rejects a truncated header and corrupt gzip', () => {
    expect(() => decodeIdx(Uint8Array.from([0, 0, 8]), 't')).toThrow(/too short/);
    expect(() => decodeIdx(Uint8Array.from([0x1f, 0x8b, 1, 2, 3]), 'g')).toThrow(/not a valid gzip file/);
  });
});

describe('IDX files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evspike-idx-'));

  it('names a missing file', () => {
    expect(() => readIdxFile(join(dir, 'nope'))).toThrow(/nope: cannot read: no such file/);
  });

  it('checks that images and labels belong together', () => {
    writeFileSync(join(dir, 'img'), idxBytes([2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]));
    writeFileSync(join(dir, 'lab'), idxBytes([3], [1, 2, 3]));
    expect(() => readImageSet(join(dir, 'img'), join(dir, 'lab'))).toThrow(/3 labels for 2 images/);
    writeFileSync(join(dir, 'lab'), idxBytes([2], [1, 2]));
    const set = readImageSet(join(dir, 'img'), join(dir, 'lab'));
    expect([set.count, set.height, set.width]).toEqual([2, 2, 2]);
    expect(() => readImageSet(join(dir, 'lab'), join(dir, 'lab'))).toThrow(/an images file has 3 dimensions/);
  });

  it('rejects a data folder without the MNIST files', () => {
    expect(() => loadMnist(dir)).toThrow(/train-images-idx3-ubyte: no such file/);
    expect(() => loadMnist(join(dir, 'missing'))).toThrow(/data folder does not exist/);
  });
});

describe('embedded MNIST', () => {
  it('is the full real data set', () => {
    const mnist = loadMnist();
    expect([mnist.train.count, mnist.train.height, mnist.train.width]).toEqual([60000, 28, 28]);
    expect(mnist.test.count).toBe(10000);
    // The first labels of the real files: 5 0 4 1 9 (train) and 7 2 1 0 4 (test).
    expect(Array.from(mnist.train.labels.subarray(0, 5))).toEqual([5, 0, 4, 1, 9]);
    expect(Array.from(mnist.test.labels.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
  });

  it('reads an uncompressed file into shared memory (worker threads read it without a copy)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evspike-idx-'));
    writeFileSync(join(dir, 'a'), idxBytes([2, 2], [1, 2, 3, 4]));
    const a = readIdxFile(join(dir, 'a'));
    expect(a.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4]);
    expect(loadMnist().train.pixels.buffer).toBeInstanceOf(SharedArrayBuffer);
  });
});
