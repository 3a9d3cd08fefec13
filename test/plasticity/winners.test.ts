import { describe, expect, it } from 'vitest';
import { createWinnerMask, resetWinnerMask, selectWinners } from '../../src/plasticity/winners.js';

const H = 10;
const W = 10;
const flat = (map: number, y: number, x: number): number => (map * H + y) * W + x;

function select(cands: [number, number, number, number][], k: number, radius: number, mask = createWinnerMask(4, H, W)): number[] {
  const v = Float64Array.from(cands.map((c) => c[3]));
  const n = Int32Array.from(cands.map((c) => flat(c[0], c[1], c[2])));
  const out = new Int32Array(4);
  const count = selectWinners(v, n, 0, cands.length, H, W, k, radius, mask, new Int32Array(cands.length), out);
  return Array.from(out.subarray(0, count));
}

describe('selectWinners', () => {
  it('takes the largest potential first and forbids its map and its neighbourhood in other maps', () => {
    const winners = select(
      [
        [0, 5, 5, 12], // map 0 already won at (9,9): skipped
        [1, 5, 6, 13], // 4 rows from (9,9): allowed
        [2, 0, 0, 12], // far from both: allowed
        [0, 9, 9, 14], // largest: first winner
        [3, 7, 7, 20.5], // the largest of all, listed last
      ],
      7,
      3,
    );
    // (3,7,7) first; then (0,9,9) is within radius 3 of (7,7) in another map: forbidden;
    // (1,5,6) within radius of (7,7): forbidden; (0,5,5) within radius: forbidden; (2,0,0) allowed.
    expect(winners).toEqual([flat(3, 7, 7), flat(2, 0, 0)]);
  });

  it('without the dominant neuron, picks in potential order', () => {
    const winners = select(
      [
        [0, 5, 5, 12],
        [1, 5, 9, 13],
        [2, 0, 0, 12],
        [0, 9, 1, 14],
      ],
      7,
      3,
    );
    // (0,9,1) V14; (1,5,9) V13: |5−9| = 4 > 3 → allowed; (0,5,5) map 0 used; (2,0,0): allowed
    expect(winners).toEqual([flat(0, 9, 1), flat(1, 5, 9), flat(2, 0, 0)]);
  });

  it('breaks ties by the lowest flat index and stops at K', () => {
    const cands: [number, number, number, number][] = [
      [2, 0, 0, 11],
      [1, 9, 9, 11],
      [0, 0, 9, 11],
    ];
    expect(select(cands, 7, 0)).toEqual([flat(0, 0, 9), flat(1, 9, 9), flat(2, 0, 0)]);
    expect(select(cands, 2, 0)).toEqual([flat(0, 0, 9), flat(1, 9, 9)]);
  });

  it('remembers the sample’s earlier winners across bins until reset', () => {
    const mask = createWinnerMask(4, H, W);
    expect(select([[1, 4, 4, 11]], 7, 3, mask)).toEqual([flat(1, 4, 4)]);
    // same map later in the sample: forbidden; another map within radius: forbidden; outside: allowed
    expect(select([[1, 0, 9, 15], [2, 6, 6, 14], [3, 8, 8, 12]], 7, 3, mask)).toEqual([flat(3, 8, 8)]);
    resetWinnerMask(mask);
    expect(select([[1, 0, 9, 15]], 7, 3, mask)).toEqual([flat(1, 0, 9)]);
  });
});
