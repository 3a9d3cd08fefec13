/**
 * Reader for IDX files (the MNIST format): a big-endian header of magic number and dimensions,
 * then the raw values. Plain and gzip-compressed files are accepted (gzip is recognised by its
 * own magic bytes, not by the file name). Only unsigned-byte data (type code 0x08) is read,
 * which is what MNIST images and labels use.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataFileError } from '../errors.js';
import { readFailure } from '../util/files.js';

/** A decoded IDX file: its dimensions and its values in row-major order. */
export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

const IDX_UBYTE = 0x08;

/** Decode IDX bytes; `name` is used in error messages only. */
export function decodeIdx(bytes: Uint8Array, name: string): IdxArray {
  let buf = bytes;
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      throw new DataFileError(name, `not a valid gzip file (${(err as Error).message})`);
    }
  }
  if (buf.length < 4) throw new DataFileError(name, `file is ${buf.length} bytes, too short for an IDX header`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    const magic = ((buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3]) >>> 0;
    throw new DataFileError(name, `bad magic number 0x${magic.toString(16).padStart(8, '0')} (an IDX file starts with two zero bytes)`);
  }
  if (buf[2] !== IDX_UBYTE) {
    throw new DataFileError(name, `unsupported IDX data type 0x${buf[2].toString(16)} (only unsigned bytes, 0x08, are read)`);
  }
  const rank = buf[3];
  if (rank < 1 || rank > 4) throw new DataFileError(name, `unsupported number of dimensions ${rank} (expected 1 to 4)`);
  const headerBytes = 4 + 4 * rank;
  if (buf.length < headerBytes) throw new DataFileError(name, `file is ${buf.length} bytes, shorter than its ${headerBytes}-byte header`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    if (d === 0) throw new DataFileError(name, `dimension ${i} is 0`);
    dims.push(d);
    count *= d;
  }
  const expected = headerBytes + count;
  if (buf.length !== expected) {
    throw new DataFileError(
      name,
      `file size ${buf.length} bytes does not match its header (dimensions ${dims.join('×')} need ${expected} bytes)`,
    );
  }
  // a plain Uint8Array view (no copy): a Node Buffer's subarrays are slower to make and to read
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + headerBytes, count) };
}

/**
 * A file's bytes in a SharedArrayBuffer: worker threads then read the data (MNIST's pixels,
 * 47 MB) where it lies, instead of a copy made when they start (~250 ms of page faults here).
 */
function readShared(file: string): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const bytes = new Uint8Array(new SharedArrayBuffer(size));
    let at = 0;
    while (at < size) {
      const n = readSync(fd, bytes, at, size - at, at);
      if (n === 0) break; // the file shrank meanwhile: decodeIdx then reports the size
      at += n;
    }
    return at === size ? bytes : bytes.subarray(0, at);
  } finally {
    closeSync(fd);
  }
}

/** Read and decode one IDX file (uncompressed, its data in shared memory). */
export function readIdxFile(file: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readShared(file);
  } catch (err) {
    throw new DataFileError(file, `cannot read: ${readFailure(err)}`);
  }
  return decodeIdx(bytes, file);
}

/** A set of grey-scale images with their labels. */
export interface ImageSet {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  /** count × height × width intensities, 0-255, row-major. */
  readonly pixels: Uint8Array;
  /** count labels. */
  readonly labels: Uint8Array;
}

/** Read an images file (rank 3) and a labels file (rank 1) and check that they belong together. */
export function readImageSet(imagesFile: string, labelsFile: string): ImageSet {
  const images = readIdxFile(imagesFile);
  if (images.dims.length !== 3) {
    throw new DataFileError(imagesFile, `an images file has 3 dimensions (count, rows, columns), this one has ${images.dims.length}`);
  }
  const labels = readIdxFile(labelsFile);
  if (labels.dims.length !== 1) {
    throw new DataFileError(labelsFile, `a labels file has 1 dimension, this one has ${labels.dims.length}`);
  }
  const [count, height, width] = images.dims;
  if (labels.dims[0] !== count) {
    throw new DataFileError(labelsFile, `${labels.dims[0]} labels for ${count} images in ${imagesFile}`);
  }
  return { count, height, width, pixels: images.data, labels: labels.data };
}

/** The pixels of image `index` (a view, not a copy). */
export function imageAt(set: ImageSet, index: number): Uint8Array {
  const size = set.height * set.width;
  return set.pixels.subarray(index * size, (index + 1) * size);
}
