/**
 * Winner-take-all selection for VDSP (SPEC §4), as a pure function over typed arrays.
 *
 * In a bin where a conv layer spiked, up to K winners are picked one after another: the allowed
 * candidate with the largest potential (ties: lowest flat index map·H·W + y·W + x). A winner
 * forbids, for the rest of the sample, every other map within square radius r of its position
 * and every position of its own map. Repeated arg-max over the remaining candidates is the
 * same as one pass over the candidates sorted by (V desc, flat index asc) that skips forbidden
 * ones, which is what this does.
 */

/** The per-sample inhibition state of a layer's winner selection. */
export interface WinnerMask {
  /** 1 where a map already had a winner in this sample. */
  readonly mapUsed: Uint8Array;
  /** 1 at each position (y·W + x) within the inhibition radius of one of this sample's winners. */
  readonly inhibited: Uint8Array;
  /** How many winners this sample has had. */
  count: number;
}

/**
 * A class rather than an object literal: a second literal of the same shape stores over the
 * first one's fields, which V8 takes for the fields changing and throws away the optimised
 * code that reads them (every new engine did so, and its first samples ran a third as fast).
 */
class Mask implements WinnerMask {
  readonly mapUsed: Uint8Array;
  readonly inhibited: Uint8Array;
  count = 0;
  constructor(maps: number, positions: number) {
    this.mapUsed = new Uint8Array(maps);
    this.inhibited = new Uint8Array(positions);
  }
}

/** The mask of a layer of `maps` maps of `height` × `width` positions. */
export function createWinnerMask(maps: number, height: number, width: number): WinnerMask {
  return new Mask(maps, height * width);
}

export function resetWinnerMask(mask: WinnerMask): void {
  mask.mapUsed.fill(0);
  mask.inhibited.fill(0);
  mask.count = 0;
}

/** Whether neuron (map, position y·W + x) may still become a winner in this sample. */
export function isAllowed(mask: WinnerMask, map: number, pos: number): boolean {
  return mask.mapUsed[map] === 0 && mask.inhibited[pos] === 0;
}

/** Record a winner at (map, y, x): its map, and every position within square radius `radius`. */
function recordWinner(mask: WinnerMask, map: number, y: number, x: number, radius: number, height: number, width: number): void {
  mask.mapUsed[map] = 1;
  const y1 = Math.min(height - 1, y + radius);
  const x1 = Math.min(width - 1, x + radius);
  for (let yy = Math.max(0, y - radius); yy <= y1; yy++) {
    for (let xx = Math.max(0, x - radius); xx <= x1; xx++) mask.inhibited[yy * width + xx] = 1;
  }
  mask.count++;
}

/**
 * Select this bin's winners among the candidates (the neurons that spiked in the bin, with
 * their potentials before reset) and record them in `mask`.
 *
 * @param candidateV potential of each candidate
 * @param candidateNeuron flat index map·H·W + y·W + x of each candidate
 * @param first index of the first candidate of the bin in the two arrays
 * @param end one past the last
 * @param order scratch, at least end − first long
 * @param out receives the winners' flat indices in the order chosen
 * @returns the number of winners written to `out`
 */
export function selectWinners(
  candidateV: Float64Array,
  candidateNeuron: Int32Array,
  first: number,
  end: number,
  height: number,
  width: number,
  maxWinners: number,
  radius: number,
  mask: WinnerMask,
  order: Int32Array,
  out: Int32Array,
): number {
  const mapSize = height * width;
  // Only the candidates still allowed can win: a mask only ever forbids more, so dropping the
  // others first leaves the order of the rest, and the winners, unchanged.
  let n = 0;
  for (let idx = first; idx < end; idx++) {
    const flat = candidateNeuron[idx];
    const map = (flat / mapSize) | 0;
    if (!isAllowed(mask, map, flat - map * mapSize)) continue;
    // insertion sort of the allowed candidates by (V desc, flat asc): a bin holds a few dozen
    const v = candidateV[idx];
    let j = n - 1;
    while (j >= 0) {
      const o = order[j];
      const ov = candidateV[o];
      if (ov > v || (ov === v && candidateNeuron[o] < flat)) break;
      order[j + 1] = o;
      j--;
    }
    order[j + 1] = idx;
    n++;
  }
  let winners = 0;
  for (let i = 0; i < n && winners < maxWinners; i++) {
    const flat = candidateNeuron[order[i]];
    const map = (flat / mapSize) | 0;
    const pos = flat - map * mapSize;
    if (!isAllowed(mask, map, pos)) continue;
    out[winners++] = flat;
    const y = (pos / width) | 0;
    recordWinner(mask, map, y, pos - y * width, radius, height, width);
  }
  return winners;
}
