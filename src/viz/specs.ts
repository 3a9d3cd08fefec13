/**
 * Every chart as a Vega-Lite specification, built by a pure function from the data it shows
 * (data in, spec out, data inlined), so that a user can open the `.vl.json` in any Vega-Lite
 * editor and restyle it. `render.ts` compiles and renders them; nothing here draws.
 *
 * Sizes are chosen so that the PNG, rendered at 2×, stays under 2,000 px a side.
 */
import { PNG } from 'pngjs';
import type { TopLevelSpec } from 'vega-lite';
import type { LayerKindName } from '../neurons/kinds/index.js';
import type { KernelData, PicturesData, PredictionPanelData, RasterData } from './data.js';

/** The font every chart uses (shipped with evspike, loaded explicitly by the renderer). */
export const FIGURE_FONT = 'DejaVu Sans';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** Shared look: the shipped font, no chart border, readable sizes. */
const CONFIG = {
  font: FIGURE_FONT,
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: false },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' as const },
};

/** Bins of the weight histograms. */
export const HISTOGRAM_BINS = 50;

/** Counts of `values` in `bins` equal bins over [lo, hi] (values at hi go in the last bin). */
export function histogram(values: ArrayLike<number>, lo: number, hi: number, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(((values[i] - lo) / (hi - lo)) * bins)));
    counts[b]++;
  }
  return counts;
}

/**
 * The weights before and after training on the same {@link HISTOGRAM_BINS} bins over
 * [w_min, w_max]: one bar per bin and panel (bins are computed here, so the spec's bars are
 * exactly the bins).
 */
export function weightHistogramSpec(h: PicturesData['histogram']): TopLevelSpec {
  const width = (h.weightMax - h.weightMin) / HISTOGRAM_BINS;
  const names = { before: `before training (${h.before.length} weights)`, after: `after training (${h.after.length} weights)` };
  const values = (['before', 'after'] as const).flatMap((phase) =>
    histogram(phase === 'before' ? h.before : h.after, h.weightMin, h.weightMax, HISTOGRAM_BINS).map((count, b) => ({
      phase: names[phase],
      start: h.weightMin + b * width,
      end: h.weightMin + (b + 1) * width,
      count,
    })),
  );
  return {
    $schema: SCHEMA,
    title: 'Weights of the first layer, before and after training',
    config: CONFIG,
    data: { values },
    facet: { row: { field: 'phase', type: 'nominal', title: null, sort: [names.before, names.after], header: { labelFontSize: 12, labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top' } } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      name: 'histogram',
      width: 600,
      height: 180,
      mark: { type: 'bar', color: '#4c78a8' },
      encoding: {
        x: { field: 'start', type: 'quantitative', title: 'weight', scale: { domain: [h.weightMin, h.weightMax] } },
        x2: { field: 'end' },
        y: { field: 'count', type: 'quantitative', title: 'weights in the bin' },
        y2: { datum: 0 },
        tooltip: [{ field: 'start', title: 'from', format: '.3f' }, { field: 'end', title: 'to', format: '.3f' }, { field: 'count' }],
      },
    },
  };
}

/** Q after each training sample, one line per trained layer, log scale, the threshold as a rule. */
export function convergenceSpec(c: PicturesData['convergence']): TopLevelSpec {
  const values = c.layers.flatMap((l) => l.history.map((q, i) => ({ layer: `layer ${l.layer}: ${l.samples} samples, ${l.stoppedBy}`, sample: i + 1, q })));
  const lowest = Math.min(c.threshold, ...values.map((v) => v.q).filter((q) => q > 0));
  return {
    $schema: SCHEMA,
    title: 'Convergence of training: Q = mean (w − w_min)(w_max − w) after each sample',
    config: CONFIG,
    width: 640,
    height: 320,
    layer: [
      {
        name: 'curve',
        data: { values },
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x: { field: 'sample', type: 'quantitative', title: 'training samples' },
          y: { field: 'q', type: 'quantitative', title: 'Q (log scale)', scale: { type: 'log', domainMin: lowest / 2 } },
          color: { field: 'layer', type: 'nominal', title: null, legend: { orient: 'top-right', labelLimit: 400 } },
        },
      },
      {
        name: 'threshold',
        data: { values: [{ threshold: c.threshold, label: `stop: Q < ${c.threshold}` }] },
        layer: [
          { mark: { type: 'rule', strokeDash: [6, 4], color: '#e45756' }, encoding: { y: { field: 'threshold', type: 'quantitative' } } },
          { mark: { type: 'text', align: 'left', dx: 4, dy: -7, color: '#e45756' }, encoding: { y: { field: 'threshold', type: 'quantitative' }, x: { value: 0 }, text: { field: 'label' } } },
        ],
      },
    ],
  };
}

/** Tile geometry of a kernel grid: kernels per row and the gap between tiles, in weight cells. */
export function kernelGrid(maps: number): { cols: number; gap: number } {
  return { cols: Math.min(10, maps), gap: 2 };
}

/**
 * One layer's kernels as a heatmap of rect marks: kernel m is a k×k tile of cells (grey from
 * w_min black to w_max white; a layer with several input maps shows their mean) with its map
 * index above it.
 */
function kernelLayerSpec(k: KernelData, maxHeight: number): Record<string, unknown> {
  const { cols, gap } = kernelGrid(k.maps);
  const taps = k.inChannels * k.kernelSize * k.kernelSize;
  const side = k.kernelSize + gap;
  const cells: { map: number; x: number; y: number; w: number }[] = [];
  const labels: { map: number; x: number; y: number }[] = [];
  for (let m = 0; m < k.maps; m++) {
    const x0 = (m % cols) * side;
    const y0 = Math.floor(m / cols) * (side + 1) + 1;
    labels.push({ map: m, x: x0 + k.kernelSize / 2, y: y0 - 0.3 });
    for (let dy = 0; dy < k.kernelSize; dy++) {
      for (let dx = 0; dx < k.kernelSize; dx++) {
        let w = 0;
        for (let ci = 0; ci < k.inChannels; ci++) w += k.weights[m * taps + (ci * k.kernelSize + dy) * k.kernelSize + dx];
        cells.push({ map: m, x: x0 + dx, y: y0 + dy, w: w / k.inChannels });
      }
    }
  }
  const rows = Math.ceil(k.maps / cols);
  const xMax = cols * side - gap;
  const yMax = rows * (side + 1);
  // a weight cell of 9 px at most, less when the grid would not fit 620 × maxHeight px
  const cell = Math.max(1, Math.min(9, Math.floor(620 / xMax), Math.floor(maxHeight / yMax)));
  const x = { field: 'x', type: 'quantitative', axis: null, scale: { domain: [0, xMax] } };
  const y = { field: 'y', type: 'quantitative', axis: null, scale: { domain: [0, yMax], reverse: true } };
  return {
    title: `conv layer ${k.layer}: ${k.maps} kernels of ${k.kernelSize}×${k.kernelSize}${k.inChannels > 1 ? `, mean over ${k.inChannels} input maps` : ''} (black ${k.weightMin}, white ${k.weightMax})`,
    width: cell * xMax,
    height: cell * yMax,
    layer: [
      {
        name: `kernels_${k.layer}`,
        data: { values: cells },
        transform: [{ calculate: 'datum.x + 1', as: 'x2' }, { calculate: 'datum.y + 1', as: 'y2' }],
        mark: { type: 'rect', strokeWidth: 0 },
        encoding: {
          x,
          x2: { field: 'x2' },
          y,
          y2: { field: 'y2' },
          color: { field: 'w', type: 'quantitative', title: 'weight', scale: { domain: [k.weightMin, k.weightMax], range: ['black', 'white'] } },
          tooltip: [{ field: 'map' }, { field: 'w', title: 'weight', format: '.3f' }],
        },
      },
      {
        name: `kernel_labels_${k.layer}`,
        data: { values: labels },
        mark: { type: 'text', fontSize: 10, baseline: 'bottom' },
        encoding: { x, y, text: { field: 'map' } },
      },
    ],
  };
}

/** Every kernel of every trained layer, one heatmap per layer. */
export function weightsSpec(kernels: readonly KernelData[]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title: 'Learned kernels',
    config: CONFIG,
    vconcat: kernels.map((k) => kernelLayerSpec(k, Math.floor(820 / Math.max(1, kernels.length)) - 40)),
    resolve: { scale: { color: 'independent' } },
  } as unknown as TopLevelSpec;
}

/** How a raster panel shows a layer: conv rows are positions coloured by map, others neurons. */
function rasterRows(l: RasterData): { rows: { row: number; colour: number }[]; byMap: boolean; title: string; extent: number } {
  const kind = l.kind as 'input' | LayerKindName;
  switch (kind) {
    case 'conv':
      return { rows: Array.from(l.neuron, (flat) => ({ row: flat % l.positions, colour: Math.floor(flat / l.positions) })), byMap: true, title: 'position (y·W + x)', extent: l.positions };
    case 'input':
      return { rows: Array.from(l.neuron, (flat) => ({ row: flat, colour: 0 })), byMap: false, title: 'pixel', extent: l.neurons };
    case 'pool':
      return { rows: Array.from(l.neuron, (flat) => ({ row: flat, colour: 0 })), byMap: false, title: 'neuron', extent: l.neurons };
    default: {
      const _exhaustive: never = kind;
      return _exhaustive;
    }
  }
}

/**
 * The spikes of one test sample: one panel per layer, time bin against neuron (conv: position,
 * coloured by the map that spiked), one mark per spike.
 */
export function rasterSpec(r: PicturesData['raster']): TopLevelSpec {
  // up to three panels a row, lower when there are two rows, so the PNG stays under 2,000 px
  const columns = Math.min(3, r.layers.length);
  const rows = Math.ceil(r.layers.length / columns);
  const height = Math.max(120, Math.min(400, Math.floor(880 / rows) - 120));
  const panels = r.layers.map((l) => {
    const shown = rasterRows(l);
    const values = shown.rows.map((p, s) => ({ bin: l.time[s], row: p.row, map: p.colour }));
    const isConv = shown.byMap;
    const rowsTitle = shown.title;
    return {
      name: `raster_${l.layer}`,
      title: { text: [`${l.kind} (layer ${l.layer})`, `${values.length} spikes of ${l.neurons} neurons`], fontSize: 12 },
      width: 130,
      height,
      data: { values },
      mark: { type: 'tick', thickness: 1.5, size: 8 },
      encoding: {
        x: { field: 'bin', type: 'quantitative', title: 'time bin', scale: { domain: [-0.5, r.timeBins - 0.5] }, axis: { tickMinStep: 1 } },
        y: { field: 'row', type: 'quantitative', title: rowsTitle, scale: { domain: [0, shown.extent], reverse: true } },
        ...(isConv
          ? { color: { field: 'map', type: 'quantitative', title: 'map', scale: { scheme: 'rainbow', domain: [0, Math.max(1, l.maps - 1)] } } }
          : { color: { value: l.kind === 'input' ? '#333333' : '#4c78a8' } }),
        tooltip: [{ field: 'bin' }, { field: 'row' }, ...(isConv ? [{ field: 'map' }] : [])],
      },
    };
  });
  return {
    $schema: SCHEMA,
    title: `Spikes of test image ${r.sample}, per layer`,
    config: CONFIG,
    columns,
    concat: panels,
    resolve: { scale: { color: 'independent' } },
  } as unknown as TopLevelSpec;
}

/** A grey digit image as a PNG data URL (black ink on white), for an image mark. */
export function digitDataUrl(pixels: Uint8Array, height: number, width: number): string {
  const png = new PNG({ width, height });
  for (let i = 0; i < height * width; i++) {
    const v = 255 - pixels[i];
    png.data[4 * i] = v;
    png.data[4 * i + 1] = v;
    png.data[4 * i + 2] = v;
    png.data[4 * i + 3] = 255;
  }
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}

/** Cells of a predictions panel: image, labels, mistake, grid position. */
function predictionCells(panel: PredictionPanelData, cols: number, height: number, width: number) {
  return panel.images.map((img, i) => ({
    index: panel.indices[i],
    col: i % cols,
    row: Math.floor(i / cols),
    truth: panel.truth[i],
    predicted: panel.predicted[i],
    wrong: panel.truth[i] !== panel.predicted[i],
    label: `T${panel.truth[i]} P${panel.predicted[i]}`,
    caption: `#${panel.indices[i]}`,
    url: digitDataUrl(img, height, width),
  }));
}

/** Columns of the predictions panels (first images, mistakes). */
export const PREDICTION_COLUMNS = { first: 10, firstMany: 15, mistakes: 5 } as const;

/** Side of a predictions cell and of its image, in px (the PNG doubles them). */
export const PREDICTION_CELL = { cell: 42, image: 30 } as const;

function predictionPanelSpec(name: string, title: string, panel: PredictionPanelData, cols: number, height: number, width: number, showIndex: boolean): Record<string, unknown> {
  const values = predictionCells(panel, cols, height, width);
  const rows = Math.max(1, Math.ceil(values.length / cols));
  const { cell, image } = PREDICTION_CELL;
  const rowHeight = cell + (showIndex ? 26 : 14);
  const x = { field: 'col', type: 'quantitative', axis: null, scale: { domain: [-0.5, cols - 0.5] } };
  const y = { field: 'row', type: 'quantitative', axis: null, scale: { domain: [-0.5, rows - 0.5], reverse: true } };
  return {
    title: { text: title, fontSize: 12 },
    width: cols * cell,
    height: rows * rowHeight,
    data: { values },
    layer: [
      { name: `${name}_images`, mark: { type: 'image', width: image, height: image, baseline: 'middle', align: 'center' }, encoding: { x, y, url: { field: 'url' } } },
      {
        name: `${name}_frames`,
        mark: { type: 'square', size: (image + 5) ** 2, filled: false, strokeWidth: 2 },
        encoding: { x, y, color: { condition: { test: 'datum.wrong', value: '#d62728' }, value: '#dddddd' }, opacity: { value: 1 } },
      },
      {
        name: `${name}_labels`,
        mark: { type: 'text', fontSize: 10, dy: image / 2 + 10 },
        encoding: { x, y, text: { field: 'label' }, color: { condition: { test: 'datum.wrong', value: '#d62728' }, value: 'black' } },
      },
      ...(showIndex ? [{ name: `${name}_indices`, mark: { type: 'text', fontSize: 9, dy: image / 2 + 21, color: '#555555' }, encoding: { x, y, text: { field: 'caption' } } }] : []),
    ],
  };
}

/**
 * The first test images with their true (T) and predicted (P) labels, and beside them the first
 * misclassified test images with their index; every mistake framed red.
 */
export function predictionsSpec(p: NonNullable<PicturesData['predictions']>): TopLevelSpec {
  const wrong = p.first.truth.filter((t, i) => t !== p.first.predicted[i]).length;
  const cols = p.first.images.length > 50 ? PREDICTION_COLUMNS.firstMany : PREDICTION_COLUMNS.first;
  const panels = [predictionPanelSpec('first', `first ${p.first.images.length} test images: ${wrong} wrong (red); T = true, P = predicted`, p.first, cols, p.height, p.width, false)];
  if (p.mistakes.images.length > 0) {
    panels.push(predictionPanelSpec('mistakes', `first ${p.mistakes.images.length} mistakes (# = test index)`, p.mistakes, PREDICTION_COLUMNS.mistakes, p.height, p.width, true));
  }
  return { $schema: SCHEMA, title: 'Predictions of the readout on test images', config: CONFIG, hconcat: panels } as unknown as TopLevelSpec;
}

/** One run of a sweep: the value of a parameter, a seed, and the metric measured. */
export interface SweepPoint {
  value: number;
  seed: number;
  metric: number;
}

export interface MetricChartOptions {
  /** Axis titles. */
  parameter: string;
  metric: string;
  title?: string;
  /** Log scale on the parameter axis. */
  logX?: boolean;
  /** Several series (e.g. two learning rules) as colours. */
  series?: (p: SweepPoint) => string;
}

/**
 * A metric against a parameter: the mean over seeds as a line with points, ± one standard
 * deviation as error bars, every seed as a faint dot. Reusable for any sweep axis.
 */
export function metricAgainstParameterSpec(points: readonly SweepPoint[], o: MetricChartOptions): TopLevelSpec {
  const values = points.map((p) => ({ ...p, series: o.series?.(p) ?? o.metric }));
  const x = { field: 'value', type: 'quantitative', title: o.parameter, scale: o.logX ? { type: 'log' } : { zero: false } };
  const colour = o.series === undefined ? { value: '#4c78a8' } : { field: 'series', type: 'nominal', title: null };
  return {
    $schema: SCHEMA,
    ...(o.title === undefined ? {} : { title: o.title }),
    config: CONFIG,
    width: 520,
    height: 320,
    data: { values },
    layer: [
      { name: 'seeds', mark: { type: 'point', opacity: 0.3, size: 20 }, encoding: { x, y: { field: 'metric', type: 'quantitative', title: o.metric, scale: { zero: false } }, color: colour } },
      { name: 'spread', mark: { type: 'errorbar', extent: 'stdev', ticks: true }, encoding: { x, y: { field: 'metric', type: 'quantitative', title: o.metric }, color: colour } },
      { name: 'mean', mark: { type: 'line', point: true }, encoding: { x, y: { aggregate: 'mean', field: 'metric', type: 'quantitative', title: o.metric }, color: colour } },
    ],
  } as unknown as TopLevelSpec;
}
