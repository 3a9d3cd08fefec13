import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pngjs from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { imageAt } from '../../src/data/idx.js';
import { loadMnist } from '../../src/data/mnist.js';
import { Engine } from '../../src/events/engine.js';
import { rankOrderEncode } from '../../src/neurons/encoder.js';
import { readCheckpoint, type Checkpoint } from '../../src/pipeline/checkpoint.js';
import { extractFeatures } from '../../src/pipeline/extract.js';
import { predictLabels } from '../../src/readout/linear-svm.js';
import { BLUE, RED } from '../../src/viz/canvas.js';
import {
  HISTOGRAM_BINS,
  convergenceFrame,
  histogram,
  histogramFrame,
  kernelSections,
  kernelTileLayout,
  predictionLayout,
  rasterPanel,
  weightGrey,
  type KernelSet,
} from '../../src/viz/plots.js';
import { PICTURES } from '../../src/viz/visualize.js';

type Png = { width: number; height: number; data: Buffer };
const read = (file: string): Png => pngjs.PNG.sync.read(readFileSync(file)) as unknown as Png;
const pixel = (p: Png, x: number, y: number): [number, number, number] => {
  const i = (Math.round(y) * p.width + Math.round(x)) * 4;
  return [p.data[i], p.data[i + 1], p.data[i + 2]];
};
const same = (a: readonly number[], b: readonly number[]): boolean => a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
const white = (c: readonly number[]): boolean => c[0] === 255 && c[1] === 255 && c[2] === 255;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

// A small network trained briefly: fast, and its readout makes mistakes to mark.
const SMALL = {
  name: 'small',
  seed: 1,
  network: { layers: [{ kind: 'conv', maps: 12, kernelSize: 5, padding: 2, thresholdV: 6 }, { kind: 'pool', kernelSize: 4, stride: 4 }] },
  readout: { C: 0.05 },
  limits: { train: 200, extract: 1000, test: 200 },
};

describe('pictures of a trained network', () => {
  const root = mkdtempSync(join(tmpdir(), 'evspike-viz-'));
  const dir = join(root, 'run');
  const mnist = loadMnist();
  let cp: Checkpoint;

  beforeAll(async () => {
    const scenarioFile = join(root, 'small.json');
    writeFileSync(scenarioFile, JSON.stringify(SMALL));
    const r = await cli('run', scenarioFile, '--save', dir, '--quiet', '--workers', '1');
    expect(r.code).toBe(0);
    cp = readCheckpoint(dir);
  });

  it('run --save writes every picture next to the checkpoint, each under 2000 px a side', () => {
    for (const name of PICTURES) {
      const p = read(join(dir, name));
      expect(p.width).toBeGreaterThan(100);
      expect(p.width).toBeLessThanOrEqual(2000);
      expect(p.height).toBeLessThanOrEqual(2000);
    }
  });

  it('weights.png: one tile per kernel whose grey levels follow the weights', () => {
    const p = read(join(dir, 'weights.png'));
    const spec = cp.scenario.network.layers[1];
    if (spec.kind !== 'conv') throw new Error('conv expected');
    const set: KernelSet = { title: '', maps: spec.maps, inChannels: 1, kernelSize: spec.kernelSize, weights: cp.payload.layers[0].weights, weightMin: 0, weightMax: 1 };
    const top = kernelSections([set]).tops[0];
    const l = kernelTileLayout(set, top);
    const k = spec.kernelSize;
    for (let m = 0; m < spec.maps; m++) {
      const cx = l.left + (m % l.cols) * l.cellW;
      const ty = l.top + Math.floor(m / l.cols) * l.cellH + 14 + 4;
      for (let dy = 0; dy < k; dy++) {
        for (let dx = 0; dx < k; dx++) {
          const g = weightGrey(set.weights[m * k * k + dy * k + dx], 0, 1);
          expect(pixel(p, cx + dx * l.pixel + l.pixel / 2, ty + dy * l.pixel + l.pixel / 2)).toEqual([g, g, g]);
        }
      }
    }
  });

  it('weight-histogram.png: bars as tall as the counts, before and after training', () => {
    const p = read(join(dir, 'weight-histogram.png'));
    const layer = cp.payload.layers[0];
    [layer.initialWeights, layer.weights].forEach((values, panel) => {
      const counts = histogram(values, 0, 1, HISTOGRAM_BINS);
      const max = Math.max(...counts);
      const f = histogramFrame(panel, 0, 1, max);
      const barW = f.w / HISTOGRAM_BINS;
      counts.forEach((n, b) => {
        const x = Math.floor(f.x + b * barW + barW / 2);
        let h = 0;
        for (let y = f.y; y < f.y + f.h; y++) if (!white(pixel(p, x, y))) h++;
        expect(h).toBe(Math.round((n / max) * f.h));
      });
    });
    // training makes them binary: after, the two end bins hold most weights
    const after = histogram(layer.weights, 0, 1, HISTOGRAM_BINS);
    expect(after[0] + after[HISTOGRAM_BINS - 1]).toBeGreaterThan(0.5 * layer.weights.length);
  });

  it('convergence.png: the curve goes through Q of each sample, with the threshold dashed', () => {
    const p = read(join(dir, 'convergence.png'));
    const q = cp.payload.layers[0].convergenceHistory;
    expect(q).toHaveLength(cp.payload.layers[0].samples);
    const maxQ = Math.max(0.01 * 1.2, ...q);
    const f = convergenceFrame(q.length, maxQ * 1.05);
    const at = (v: number, i: number): [number, number] => [f.x + (i / f.xMax) * f.w, f.y + f.h - (v / f.yMax) * f.h];
    for (const i of [1, Math.floor(q.length / 2), q.length]) {
      const [x, y] = at(q[i - 1], i);
      let found = false;
      for (let dx = -2; dx <= 2; dx++) for (let dy = -2; dy <= 2; dy++) if (same(pixel(p, x + dx, y + dy), BLUE)) found = true;
      expect(found).toBe(true);
    }
    const ty = Math.round(f.y + f.h - (0.01 / f.yMax) * f.h);
    let red = 0;
    for (let x = f.x; x < f.x + f.w; x++) if (same(pixel(p, x, ty), RED)) red++;
    expect(red).toBeGreaterThan(f.w / 3);
    expect(red).toBeLessThan(f.w * 0.75); // dashed, not solid
  });

  it('raster.png: exactly one mark per spike of each layer', () => {
    const p = read(join(dir, 'raster.png'));
    const net = cp.scenario.network;
    const engine = new Engine(net, { weights: cp.payload.layers.map((l) => l.weights) });
    const times = new Int32Array(784);
    rankOrderEncode(imageAt(mnist.test, 0), net.timeBins, times);
    engine.runSample(times);
    const summary = engine.summary();
    // panels are laid out left to right; find each plot area by its frame
    let left = 0;
    summary.layers.forEach((layer, li) => {
      const neurons = layer.kind === 'conv' ? net.layers[li].outShape.height * net.layers[li].outShape.width : layer.neurons;
      const geometry = rasterPanel({ title: '', neurons, neuron: [], time: [], count: 0 }, net.timeBins, 0);
      // the frame: a black rectangle one pixel outside the plot area; its top edge is a long
      // black run at y = 59 (text is never that long a run)
      const blackRun = (x0: number): boolean => {
        for (let d = 0; d < 20; d++) if (!same(pixel(p, x0 + d, 59), [0, 0, 0])) return false;
        return true;
      };
      let x = left;
      while (x < p.width && !blackRun(x)) x++;
      const fx = x + 1;
      let marked = 0;
      for (let y = 60; y < 60 + geometry.rows; y++) for (let xx = fx; xx < fx + geometry.frame.w; xx++) if (!white(pixel(p, xx, y))) marked++;
      expect(marked / (geometry.markW - 1)).toBe(layer.spikes);
      left = fx + geometry.frame.w + 2;
    });
    expect(summary.totalSpikes).toBeGreaterThan(100);
  });

  it('predictions.png: the test images with a red frame on exactly the wrong predictions', async () => {
    const many = join(root, 'many');
    expect((await cli('visualize', '--checkpoint', dir, '--out', many, '--samples', '150')).code).toBe(0);
    const p = read(join(many, 'predictions.png'));
    const r = cp.payload.readout!;
    const engine = new Engine(cp.scenario.network, { weights: cp.payload.layers.map((l) => l.weights) });
    const { features } = extractFeatures(engine, mnist.test, 0, 150);
    const predicted = predictLabels({ classes: r.classes, features: r.features, weights: Float64Array.from(r.weights) }, features);
    const l = predictionLayout(150, 20, 28, 28);
    let wrong = 0;
    for (let i = 0; i < 150; i++) {
      const x = l.left + (i % l.cols) * l.cellW;
      const y = l.top + Math.floor(i / l.cols) * l.cellH;
      const framedRed = same(pixel(p, x - 2, y + 10), RED);
      expect(framedRed).toBe(predicted[i] !== mnist.test.labels[i]);
      if (framedRed) wrong++;
      // the image itself, darker where the digit is
      const img = imageAt(mnist.test, i);
      for (const [r0, q0] of [[14, 14], [5, 20], [20, 8]]) {
        const v = 255 - img[r0 * 28 + q0];
        expect(pixel(p, x + q0 * l.scale + 1, y + r0 * l.scale + 1)).toEqual([v, v, v]);
      }
    }
    expect(wrong).toBeGreaterThan(0); // the small network does make mistakes to show
    expect(p.width).toBe(l.mistakesLeft + 5 * l.cellW + l.left);
  });

  it('predictions.png: beside them, the first M misclassified test images, each framed red', async () => {
    const out = join(root, 'mistakes');
    expect((await cli('visualize', '--checkpoint', dir, '--out', out, '--samples', '10', '--errors', '12')).code).toBe(0);
    const p = read(join(out, 'predictions.png'));
    const r = cp.payload.readout!;
    const engine = new Engine(cp.scenario.network, { weights: cp.payload.layers.map((l) => l.weights) });
    const { features } = extractFeatures(engine, mnist.test, 0, 200);
    const predicted = predictLabels({ classes: r.classes, features: r.features, weights: Float64Array.from(r.weights) }, features);
    // the scenario evaluates 200 test images: all their mistakes, fewer than the 12 asked for
    const expected = [...predicted.keys()].filter((i) => predicted[i] !== mnist.test.labels[i]).slice(0, 12);
    expect(expected.length).toBeGreaterThanOrEqual(5);
    expect(expected[expected.length - 1]).toBeGreaterThan(10); // some of them lie beyond the first panel
    const l = predictionLayout(10, expected.length, 28, 28);
    expected.forEach((index, k) => {
      const x = l.mistakesLeft + (k % l.mistakeCols) * l.cellW;
      const y = l.top + Math.floor(k / l.mistakeCols) * l.mistakeCellH;
      expect(same(pixel(p, x - 2, y + 10), RED)).toBe(true);
      const img = imageAt(mnist.test, index);
      for (const [r0, q0] of [[14, 14], [5, 20], [20, 8], [10, 12]]) {
        const v = 255 - img[r0 * 28 + q0];
        expect(pixel(p, x + q0 * l.scale + 1, y + r0 * l.scale + 1)).toEqual([v, v, v]);
      }
    });
    // and nothing after the last
    const n = expected.length;
    expect(white(pixel(p, l.mistakesLeft + (n % l.mistakeCols) * l.cellW + 40, l.top + Math.floor(n / l.mistakeCols) * l.mistakeCellH + 40))).toBe(true);
    const none = join(root, 'no-mistakes');
    expect((await cli('visualize', '--checkpoint', dir, '--out', none, '--samples', '10', '--errors', '0')).code).toBe(0);
    expect(read(join(none, 'predictions.png')).width).toBe(predictionLayout(10, 0, 28, 28).left * 2 + 10 * l.cellW);
    expect((await cli('visualize', '--checkpoint', dir, '--out', none, '--errors', '51')).err).toMatch(/--errors: expected an integer ≥ 0 and ≤ 50, got "51"/);
  });

  it('visualize rewrites them from the checkpoint, and refuses bad input clearly', async () => {
    const out = join(root, 'again');
    const r = await cli('visualize', '--checkpoint', dir, '--out', out, '--samples', '20');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')).toHaveLength(5);
    const l = predictionLayout(20, 20, 28, 28);
    expect(read(join(out, 'predictions.png')).width).toBe(l.mistakesLeft + 5 * l.cellW + l.left);
    expect((await cli('visualize', '--checkpoint', join(root, 'none'), '--out', out)).err).toMatch(/checkpoint folder does not exist/);
    const corrupt = join(root, 'corrupt');
    await cli('visualize', '--checkpoint', dir, '--out', corrupt); // make the folder
    writeFileSync(join(corrupt, 'checkpoint.json'), readFileSync(join(dir, 'checkpoint.json'), 'utf8').replace('"seed":1', '"seed":2'));
    expect((await cli('visualize', '--checkpoint', corrupt, '--out', out)).err).toMatch(/checksum mismatch/);
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    const bad = await cli('visualize', '--checkpoint', dir, '--out', join(file, 'sub'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/cannot create the output folder|is not a folder/);
    expect((await cli('visualize', '--checkpoint', dir, '--out', file)).err).toMatch(/a-file: is not a folder/);
    expect((await cli('visualize', '--checkpoint', dir, '--out', out, '--samples', '0')).err).toMatch(/--samples: expected an integer ≥ 1/);
  });
});
