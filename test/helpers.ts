/** Shared test helpers: the reference trace's location and small builders. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Engine } from '../src/events/engine.js';
import { neuronCount } from '../src/neurons/network.js';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The authors' seed-0 trace: `EVSPIKE_TRACE` if set, else the copy in the repository's
 * reference/ folder. Tests that need it fail, with this message, when it is missing: a
 * conformance test that silently skips would prove nothing.
 */
export function referenceTracePath(): string {
  const file = process.env.EVSPIKE_TRACE ?? join(repoRoot, 'reference', 'goupy-mnist-seed0.json.gz');
  if (!existsSync(file)) {
    throw new Error(`reference trace not found at ${file}; set EVSPIKE_TRACE to the path of goupy-mnist-seed0.json(.gz)`);
  }
  return file;
}

/** Build an IDX byte buffer (unsigned bytes) from dimensions and values. */
export function idxBytes(dims: number[], values: ArrayLike<number>): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(Array.from(values))]);
}

/**
 * Spike time of every neuron of layer `li` in the engine's last sample (−1: none), and how
 * many neurons appeared more than once in the layer's log.
 */
export function spikeTimesOf(engine: Engine, li: number): { times: Int32Array; duplicates: number } {
  const shape = engine.network.layers[li].outShape;
  const times = new Int32Array(neuronCount(shape)).fill(-1);
  const log = engine.layer(li).spikes;
  let duplicates = 0;
  for (let s = 0; s < log.count; s++) {
    if (times[log.neuron[s]] !== -1) duplicates++;
    times[log.neuron[s]] = log.time[s];
  }
  return { times, duplicates };
}
