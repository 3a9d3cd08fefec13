/**
 * The figures: each spec validates against the Vega-Lite schema, its SVG parses and holds the
 * marks the data calls for (counted in the SVG), its PNG decodes at 2× the SVG's size, and the
 * three files are written; bad input keeps its clear errors.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { XMLValidator } from 'fast-xml-parser';
import pngjs from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadMnist } from '../../src/data/mnist.js';
import { Engine } from '../../src/events/engine.js';
import { readCheckpoint, type Checkpoint } from '../../src/pipeline/checkpoint.js';
import { extractFeatures } from '../../src/pipeline/extract.js';
import { picturesData } from '../../src/pipeline/pictures.js';
import { predictLabels } from '../../src/readout/linear-svm.js';
import type { PicturesData } from '../../src/viz/data.js';
import { FIGURES, figureFiles, figureSpecs } from '../../src/viz/figures.js';
import { renderFigure, PNG_SCALE } from '../../src/viz/render.js';
import { HISTOGRAM_BINS, histogram, metricAgainstParameterSpec, predictionsSpec, rasterSpec, weightHistogramSpec, weightsSpec } from '../../src/viz/specs.js';

const require = createRequire(import.meta.url);
const schema = JSON.parse(readFileSync(require.resolve('vega-lite/build/vega-lite-schema.json'), 'utf8'));
const ajv = new Ajv({ allErrors: true, strict: false });
const validateSpec = ajv.compile(schema);

type Png = { width: number; height: number };
const readPng = (bytes: Uint8Array): Png => pngjs.PNG.sync.read(Buffer.from(bytes)) as unknown as Png;

/** The items of the mark group named `name` (Vega writes one element per item). */
function markItems(svg: string, name: string): string[] {
  const group = new RegExp(`<g class="mark-\\w+ role-mark ${name}"[^>]*>(.*?)</g>`, 'gs');
  const items: string[] = [];
  for (const m of svg.matchAll(group)) items.push(...(m[1].match(/<(path|text|image|line)\b[^>]*?(\/>|>.*?<\/\1>)/gs) ?? []));
  return items;
}

/** Texts of the SVG (axis titles, labels, titles). */
const texts = (svg: string): string[] => [...svg.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map((m) => m[1].replace(/&amp;/g, '&').replace(/&lt;/g, '<'));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

// A small network of two conv → pool pairs trained briefly: fast, two layers of kernels and
// convergence curves, and a readout that makes mistakes to show.
const SMALL = {
  name: 'small',
  seed: 1,
  network: {
    layers: [
      { kind: 'conv', maps: 12, kernelSize: 5, padding: 2, thresholdV: 6 },
      { kind: 'pool', kernelSize: 2, stride: 2 },
      { kind: 'conv', maps: 6, kernelSize: 3, padding: 1, thresholdV: 2, learning: { rule: 'stdp' } },
      { kind: 'pool', kernelSize: 2, stride: 2 },
    ],
  },
  readout: { C: 0.05 },
  limits: { train: 120, extract: 800, test: 200 },
};

describe('figures of a trained network', () => {
  const root = mkdtempSync(join(tmpdir(), 'evspike-figures-'));
  const dir = join(root, 'run');
  const mnist = loadMnist();
  let cp: Checkpoint;
  let data: PicturesData;
  const rendered = new Map<string, { svg: string; png: Uint8Array; width: number; height: number; spec: unknown }>();

  beforeAll(async () => {
    const scenarioFile = join(root, 'small.json');
    writeFileSync(scenarioFile, JSON.stringify(SMALL));
    const r = await cli('run', scenarioFile, '--save', dir, '--quiet', '--workers', '1');
    expect(r.code).toBe(0);
    cp = readCheckpoint(dir);
    data = picturesData(cp, mnist.test, { samples: 30, errors: 12, rasterSample: 3 });
    for (const [name, spec] of figureSpecs(data)) rendered.set(name, { ...(await renderFigure(spec)), spec });
  });

  it('run --save writes the three files of every figure next to the checkpoint', () => {
    const files = readdirSync(dir);
    for (const name of FIGURES) for (const f of figureFiles(name)) expect(files).toContain(f);
    for (const name of FIGURES) {
      const png = readPng(readFileSync(join(dir, `${name}.png`)));
      expect(png.width).toBeLessThanOrEqual(2000);
      expect(png.height).toBeLessThanOrEqual(2000);
      // the .vl.json is the spec with its data inlined
      const spec = JSON.parse(readFileSync(join(dir, `${name}.vl.json`), 'utf8'));
      expect(spec.$schema).toMatch(/vega-lite\/v5/);
      expect(JSON.stringify(spec)).toMatch(/"values":\[/);
    }
  });

  it('every spec validates against the Vega-Lite schema, every SVG parses, every PNG is 2× the SVG', () => {
    expect(rendered.size).toBe(FIGURES.length);
    for (const [name, f] of rendered) {
      const valid = validateSpec(f.spec);
      expect(valid, `${name}: ${ajv.errorsText(validateSpec.errors)}`).toBe(true);
      expect(XMLValidator.validate(f.svg), name).toBe(true);
      const [, w, h] = /<svg[^>]* width="(\d+)" height="(\d+)"/.exec(f.svg)!.map(Number);
      const png = readPng(f.png);
      expect([png.width, png.height], name).toEqual([w * PNG_SCALE, h * PNG_SCALE]);
      expect([f.width, f.height]).toEqual([png.width, png.height]);
      // text is drawn with the shipped font
      expect(f.svg).toMatch(/font-family="DejaVu Sans"/);
    }
  });

  it('weight-histogram: one bar per bin and panel, as tall as the counts', () => {
    const svg = rendered.get('weight-histogram')!.svg;
    const bars = markItems(svg, 'histogram_marks');
    expect(bars).toHaveLength(2 * HISTOGRAM_BINS);
    // the tooltip of each bar carries its count: they are the histogram of the weights
    const counts = bars.map((b) => Number(/count: ([\d,]+)/.exec(b)![1].replace(/,/g, '')));
    const h = data.histogram;
    expect(counts.sort((a, b) => a - b)).toEqual([...histogram(h.before, h.weightMin, h.weightMax, HISTOGRAM_BINS), ...histogram(h.after, h.weightMin, h.weightMax, HISTOGRAM_BINS)].sort((a, b) => a - b));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(h.before.length + h.after.length);
    for (const title of ['weight', 'weights in the bin']) expect(texts(svg)).toContain(title);
    // the bins are shared: a spec from other weights still has 50 bars per panel
    expect(validateSpec(weightHistogramSpec({ before: [0.5], after: [0, 1], weightMin: 0, weightMax: 1 }))).toBe(true);
  });

  it('convergence: one line per trained layer through Q of every sample, log scale, a rule at the threshold', () => {
    const f = rendered.get('convergence')!;
    const lines = markItems(f.svg, 'curve_marks');
    expect(lines).toHaveLength(cp.payload.layers.length);
    expect(cp.payload.layers).toHaveLength(2);
    // each path has one point per training sample
    lines.forEach((line, i) => {
      const d = /d="([^"]+)"/.exec(line)![1];
      expect(d.split(/[ML]/).filter((s) => s.length > 0)).toHaveLength(cp.payload.layers[i].convergenceHistory.length);
    });
    expect(markItems(f.svg, 'threshold_layer_0_marks')).toHaveLength(1);
    expect(texts(f.svg)).toContain(`stop: Q < ${cp.scenario.training.convergenceThreshold}`);
    expect(JSON.stringify(f.spec)).toMatch(/"type":"log"/);
    for (const title of ['training samples', 'Q (log scale)']) expect(texts(f.svg)).toContain(title);
  });

  it('weights: one tile (k×k cells and its map index) per kernel of every conv layer', () => {
    const svg = rendered.get('weights')!.svg;
    for (const k of data.kernels) {
      expect(markItems(svg, `kernels_${k.layer}_marks`)).toHaveLength(k.maps * k.kernelSize * k.kernelSize);
      const labels = markItems(svg, `kernel_labels_${k.layer}_marks`).map((t) => />([^<]*)</.exec(t)![1]);
      expect(labels).toEqual(Array.from({ length: k.maps }, (_, m) => String(m)));
    }
    expect(data.kernels.map((k) => k.maps)).toEqual([12, 6]);
  });

  it('raster: as many marks per layer as the sample has spikes in it', () => {
    const svg = rendered.get('raster')!.svg;
    // run test image 3 (the raster's) and count its spikes per layer
    const engine = new Engine(cp.scenario.network, { weights: cp.payload.layers.map((l) => l.weights) });
    extractFeatures(engine, mnist.test, 3, 4);
    const summary = engine.summary();
    expect(summary.layers).toHaveLength(5);
    summary.layers.forEach((l) => expect(markItems(svg, `raster_${l.layer}_marks`)).toHaveLength(l.spikes));
    expect(summary.totalSpikes).toBeGreaterThan(50);
    expect(texts(svg).filter((t) => t === 'time bin')).toHaveLength(5);
  });

  it('predictions: the first images with their labels, and beside them exactly the first mistakes', () => {
    const svg = rendered.get('predictions')!.svg;
    expect(markItems(svg, 'first_images_marks')).toHaveLength(30);
    const r = cp.payload.readout!;
    const engine = new Engine(cp.scenario.network, { weights: cp.payload.layers.map((l) => l.weights) });
    const predicted = predictLabels({ classes: r.classes, features: r.features, weights: Float64Array.from(r.weights) }, extractFeatures(engine, mnist.test, 0, 200).features);
    const wrong = [...predicted.keys()].filter((i) => predicted[i] !== mnist.test.labels[i]);
    expect(wrong.length).toBeGreaterThanOrEqual(12);
    // the first panel's labels, and red frames exactly on its mistakes
    const labels = markItems(svg, 'first_labels_marks').map((t) => />([^<]*)</.exec(t)![1]);
    expect(labels).toEqual(Array.from({ length: 30 }, (_, i) => `T${mnist.test.labels[i]} P${predicted[i]}`));
    const redFrames = markItems(svg, 'first_frames_marks').filter((p) => /stroke="#d62728"/.test(p)).length;
    expect(redFrames).toBe(wrong.filter((i) => i < 30).length);
    // the mistakes panel: the first 12 mistakes, by test index, all framed red
    const indices = markItems(svg, 'mistakes_indices_marks').map((t) => Number(/>#(\d+)</.exec(t)![1]));
    expect(indices).toEqual(wrong.slice(0, 12));
    expect(markItems(svg, 'mistakes_frames_marks').every((p) => /stroke="#d62728"/.test(p))).toBe(true);
    expect(markItems(svg, 'mistakes_images_marks')).toHaveLength(12);
  });

  it('visualize rewrites them from the checkpoint, and refuses bad input clearly', async () => {
    const out = join(root, 'again');
    const r = await cli('visualize', '--checkpoint', dir, '--out', out, '--samples', '20');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')).toHaveLength(3 * FIGURES.length);
    expect(readdirSync(out).filter((f) => f.includes('.tmp'))).toEqual([]);
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

describe('the metric-against-a-parameter chart (for sweeps)', () => {
  it('draws the mean over seeds with ± one standard deviation, every seed as a dot, validating against the schema', async () => {
    const points = [5, 10, 20].flatMap((value) => [0, 1, 2].map((seed) => ({ value, seed, metric: 90 + value / 10 + seed })));
    const spec = metricAgainstParameterSpec(points, { parameter: 'feature maps', metric: 'accuracy (%)', title: 'accuracy against maps', logX: true });
    expect(validateSpec(spec), ajv.errorsText(validateSpec.errors)).toBe(true);
    const { svg, png, width } = await renderFigure(spec);
    expect(markItems(svg, 'seeds_marks')).toHaveLength(9);
    expect(markItems(svg, 'mean_marks')).toHaveLength(1);
    // one error bar per parameter value: a rule and two ticks
    const bars = markItems(svg, 'spread_layer_2_marks');
    expect(bars).toHaveLength(3);
    // metric = 90 + value/10 + seed over seeds 0-2: mean 91 + value/10, sample sd exactly 1
    [5, 10, 20].forEach((value, i) => {
      const mean = 91 + value / 10;
      expect(bars[i]).toContain(`Mean of accuracy (%): ${mean}`);
      expect(bars[i]).toContain(`Mean + stdev of accuracy (%): ${mean + 1}`);
      expect(bars[i]).toContain(`Mean - stdev of accuracy (%): ${mean - 1}`);
    });
    expect(markItems(svg, 'spread_layer_0_marks').length + markItems(svg, 'spread_layer_1_marks').length).toBe(6);
    expect(texts(svg)).toContain('feature maps');
    expect(readPng(png).width).toBe(width);
  });
});

describe('figure sizes', () => {
  it('stay under 2,000 px a side for large networks and the largest predictions', async () => {
    const kernels = (layer: number, maps: number, size: number, channels: number) => ({
      layer,
      maps,
      inChannels: channels,
      kernelSize: size,
      weights: Float64Array.from({ length: maps * channels * size * size }, (_, i) => (i % 7) / 7),
      weightMin: 0,
      weightMax: 1,
    });
    const image = new Uint8Array(784).fill(100);
    const panel = (n: number) => ({ images: Array(n).fill(image), indices: [...Array(n).keys()], truth: Array(n).fill(1), predicted: Array(n).fill(2) });
    const layers = Array.from({ length: 7 }, (_, l) => ({
      layer: l,
      kind: l === 0 ? 'input' : l % 2 ? 'conv' : 'pool',
      neurons: 1000,
      positions: 100,
      maps: 10,
      neuron: Int32Array.from({ length: 50 }, (_, i) => i * 7),
      time: Float64Array.from({ length: 50 }, (_, i) => i % 15),
    }));
    const specs = [
      weightsSpec([kernels(1, 150, 7, 1)]),
      weightsSpec([kernels(1, 130, 7, 1), kernels(3, 64, 5, 130)]),
      weightsSpec([kernels(1, 600, 9, 1)]),
      predictionsSpec({ height: 28, width: 28, first: panel(150), mistakes: panel(50) }),
      rasterSpec({ sample: 0, timeBins: 15, layers }),
    ];
    for (const spec of specs) {
      const { width, height } = await renderFigure(spec);
      expect(width).toBeLessThanOrEqual(2000);
      expect(height).toBeLessThanOrEqual(2000);
    }
  });
});
