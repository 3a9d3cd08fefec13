/**
 * The pictures of a trained network, as pure functions from data to a {@link Canvas}:
 * learned kernels, weight histograms, the convergence curve, a spike raster, predictions.
 * Text is drawn at twice the font's size (10×14 px glyphs) so it is readable as written.
 */
import { BLACK, BLUE, Canvas, GREY, LIGHT, MAX_SIDE, ORANGE, RED, categoryColour, formatTick, ticks, type Rgb } from './canvas.js';

const S = 2; // text scale
const TEXT_H = Canvas.textHeight(S);

interface Frame {
  x: number;
  y: number;
  w: number;
  h: number;
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

const px = (f: Frame, v: number): number => f.x + ((v - f.xMin) / (f.xMax - f.xMin || 1)) * f.w;
const py = (f: Frame, v: number): number => f.y + f.h - ((v - f.yMin) / (f.yMax - f.yMin || 1)) * f.h;

/** Frame, ticks with their labels, axis labels and a title around the plot area `f`. */
function axes(c: Canvas, f: Frame, title: string, xLabel: string, yLabel: string, xTicks: number[], yTicks: number[], xTickLabel = formatTick, yTickLabel = formatTick): void {
  c.strokeRect(f.x - 1, f.y - 1, f.w + 2, f.h + 2, BLACK);
  for (const v of xTicks) {
    const x = px(f, v);
    c.line(x, f.y + f.h + 1, x, f.y + f.h + 6, BLACK);
    c.text(xTickLabel(v), x, f.y + f.h + 10, BLACK, S, 'center');
  }
  for (const v of yTicks) {
    const y = py(f, v);
    c.line(f.x - 6, y, f.x - 2, y, BLACK);
    c.text(yTickLabel(v), f.x - 10, y - TEXT_H / 2, BLACK, S, 'right');
  }
  c.text(xLabel, f.x + f.w / 2, f.y + f.h + 14 + TEXT_H, BLACK, S, 'center');
  const widest = Math.max(0, ...yTicks.map((v) => Canvas.textWidth(yTickLabel(v), S)));
  c.textVertical(yLabel, f.x - 22 - widest - TEXT_H, f.y + f.h / 2, BLACK, S);
  c.text(title, f.x + f.w / 2, f.y - TEXT_H - 10, BLACK, S, 'center');
}

/** One conv layer's kernels for {@link weightsImage}. */
export interface KernelSet {
  title: string;
  maps: number;
  inChannels: number;
  kernelSize: number;
  /** maps × inChannels × k × k */
  weights: ArrayLike<number>;
  weightMin: number;
  weightMax: number;
}

/** Grey level of a weight: black at w_min, white at w_max. */
export function weightGrey(w: number, lo: number, hi: number): number {
  return Math.max(0, Math.min(255, Math.round((255 * (w - lo)) / (hi - lo))));
}

/** Geometry of the kernel tiles, shared with the tests. */
export function kernelTileLayout(set: KernelSet, section: number): { cols: number; pixel: number; tile: number; cellW: number; cellH: number; top: number; left: number } {
  const cols = Math.min(10, set.maps);
  const pixel = Math.max(2, Math.floor(56 / set.kernelSize));
  const tile = pixel * set.kernelSize;
  return { cols, pixel, tile, cellW: Math.max(tile, Canvas.textWidth('000', S)) + 12, cellH: tile + TEXT_H + 14, top: section, left: 20 };
}

/**
 * Every kernel of every conv layer as grey tiles (black = w_min, white = w_max) with the map
 * index above each. With several input channels a tile shows the mean over them.
 */
/** The top of each layer's tile grid in {@link weightsImage}, and the picture's size. */
export function kernelSections(sets: readonly KernelSet[]): { tops: number[]; width: number; height: number } {
  let height = 10;
  let width = 0;
  const tops: number[] = [];
  for (const set of sets) {
    const l = kernelTileLayout(set, 0);
    tops.push(height + TEXT_H + 16);
    height += TEXT_H + 16 + Math.ceil(set.maps / l.cols) * l.cellH + 16;
    width = Math.max(width, 40 + l.cols * l.cellW, Canvas.textWidth(set.title, S) + 40);
  }
  return { tops, width, height };
}

export function weightsImage(sets: readonly KernelSet[]): Canvas {
  const { tops, width, height } = kernelSections(sets);
  const c = new Canvas(Math.min(MAX_SIDE, width), Math.min(MAX_SIDE, height));
  sets.forEach((set, si) => {
    const l = kernelTileLayout(set, tops[si]);
    c.text(set.title, 20, tops[si] - TEXT_H - 10, BLACK, S);
    const k = set.kernelSize;
    const taps = set.inChannels * k * k;
    for (let m = 0; m < set.maps; m++) {
      const cx = l.left + (m % l.cols) * l.cellW;
      const cy = l.top + Math.floor(m / l.cols) * l.cellH;
      c.text(String(m), cx + l.tile / 2, cy, BLACK, S, 'center');
      const ty = cy + TEXT_H + 4;
      for (let dy = 0; dy < k; dy++) {
        for (let dx = 0; dx < k; dx++) {
          let w = 0;
          for (let ci = 0; ci < set.inChannels; ci++) w += set.weights[m * taps + (ci * k + dy) * k + dx];
          const g = weightGrey(w / set.inChannels, set.weightMin, set.weightMax);
          c.fillRect(cx + dx * l.pixel, ty + dy * l.pixel, l.pixel, l.pixel, [g, g, g]);
        }
      }
      c.strokeRect(cx - 1, ty - 1, l.tile + 2, l.tile + 2, GREY);
    }
  });
  return c;
}

/** Counts of `values` in `bins` equal bins over [lo, hi] (values at hi go in the last bin). */
export function histogram(values: ArrayLike<number>, lo: number, hi: number, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(((values[i] - lo) / (hi - lo)) * bins)));
    counts[b]++;
  }
  return counts;
}

export const HISTOGRAM_BINS = 50;

/** Plot area of panel `i` of the histogram picture (shared with the tests). */
export function histogramFrame(i: number, lo: number, hi: number, maxCount: number): Frame {
  return { x: 120, y: 50 + i * 330, w: 650, h: 230, xMin: lo, xMax: hi, yMin: 0, yMax: maxCount };
}

/** Histograms of the weights before and after training, one panel each, on the same bins. */
export function weightHistogramImage(before: ArrayLike<number>, after: ArrayLike<number>, lo: number, hi: number): Canvas {
  const c = new Canvas(820, 700);
  const panels: [string, ArrayLike<number>, Rgb][] = [
    [`BEFORE TRAINING (${before.length} WEIGHTS)`, before, GREY],
    [`AFTER TRAINING (${after.length} WEIGHTS)`, after, BLUE],
  ];
  panels.forEach(([title, values, colour], i) => {
    const counts = histogram(values, lo, hi, HISTOGRAM_BINS);
    const max = Math.max(1, ...counts);
    const f = histogramFrame(i, lo, hi, max);
    const barW = f.w / HISTOGRAM_BINS;
    counts.forEach((n, b) => {
      const h = Math.round((n / max) * f.h);
      if (h > 0) c.fillRect(f.x + b * barW + 1, f.y + f.h - h, Math.max(1, barW - 2), h, colour);
    });
    axes(c, f, title, 'WEIGHT', 'COUNT', ticks(lo, hi, 5), ticks(0, max, 4));
  });
  return c;
}

/** Plot area of the convergence picture (shared with the tests). */
export function convergenceFrame(samples: number, maxQ: number): Frame {
  return { x: 120, y: 50, w: 640, h: 340, xMin: 0, xMax: Math.max(1, samples), yMin: 0, yMax: maxQ };
}

/** Q after each training sample, per conv layer, with the stopping threshold dashed in red. */
export function convergenceImage(histories: readonly { label: string; q: ArrayLike<number> }[], threshold: number): Canvas {
  const c = new Canvas(820, 500);
  const samples = Math.max(1, ...histories.map((h) => h.q.length));
  const maxQ = Math.max(threshold * 1.2, ...histories.flatMap((h) => Array.from(h.q)));
  const f = convergenceFrame(samples, maxQ * 1.05);
  const ty = py(f, threshold);
  c.line(f.x, ty, f.x + f.w, ty, RED, 6);
  c.text(`THRESHOLD ${threshold}`, f.x + 8, ty - TEXT_H - 4, RED, S, 'left');
  histories.forEach((h, li) => {
    const colour = li === 0 ? BLUE : categoryColour(li, histories.length + 1);
    for (let i = 1; i < h.q.length; i++) c.line(px(f, i), py(f, h.q[i - 1]), px(f, i + 1), py(f, h.q[i]), colour, 0, 2);
    if (h.q.length === 1) c.fillRect(px(f, 1) - 1, py(f, h.q[0]) - 1, 3, 3, colour);
    c.text(h.label, f.x + f.w - 10, f.y + 10 + li * (TEXT_H + 6), colour, S, 'right');
  });
  axes(c, f, 'CONVERGENCE Q DURING TRAINING', 'TRAINING SAMPLES', 'Q', ticks(0, samples, 5), ticks(0, maxQ * 1.05, 5));
  return c;
}

/** One layer's spikes of one sample for {@link rasterImage}. */
export interface RasterLayer {
  title: string;
  neurons: number;
  /** Spikes as (neuron, bin). */
  neuron: ArrayLike<number>;
  time: ArrayLike<number>;
  count: number;
  /** Colour of each spike's mark (default black). */
  colour?: (neuron: number) => Rgb;
  /** Label of the vertical axis. Default "NEURON". */
  yLabel?: string;
}

export const RASTER_MAX_ROWS = 800;

/** Geometry of one raster panel (shared with the tests). */
export function rasterPanel(layer: RasterLayer, timeBins: number, left: number): { frame: Frame; columns: number; rows: number; markW: number; cellW: number } {
  const columns = Math.ceil(layer.neurons / RASTER_MAX_ROWS);
  const rows = Math.ceil(layer.neurons / columns);
  const markW = Math.max(3, Math.floor(150 / (timeBins * columns)));
  const cellW = markW * columns;
  return { frame: { x: left, y: 60, w: cellW * timeBins, h: rows, xMin: 0, xMax: timeBins, yMin: rows, yMax: 0 }, columns, rows, markW, cellW };
}

/**
 * Spikes of one sample, a panel per layer: x the time bin, y the neuron. Layers of more than
 * 800 neurons fold into several columns per bin (neuron n at row n mod rows, column n div
 * rows). Every spike is one mark of (width − 1) × 1 pixels, marks never overlap.
 */
export function rasterImage(layers: readonly RasterLayer[], timeBins: number): Canvas {
  // panels side by side; a title wider than its panel overhangs it on both sides
  const overhang = layers.map((l) => Math.max(0, (Canvas.textWidth(l.title, S) - rasterPanel(l, timeBins, 0).frame.w) / 2));
  const lefts: number[] = [];
  let x = 0;
  layers.forEach((l, i) => {
    x += (i === 0 ? 110 : 120) + overhang[i];
    lefts.push(Math.round(x));
    x += rasterPanel(l, timeBins, 0).frame.w + overhang[i];
  });
  const height = 60 + Math.max(...layers.map((l) => rasterPanel(l, timeBins, 0).rows)) + 70;
  const c = new Canvas(Math.min(MAX_SIDE, Math.round(x) + 30), Math.min(MAX_SIDE, height));
  layers.forEach((l, i) => {
    const p = rasterPanel(l, timeBins, lefts[i]);
    const f = p.frame;
    for (let s = 0; s < l.count; s++) {
      const n = l.neuron[s];
      const col = Math.floor(n / p.rows);
      const row = n % p.rows;
      c.fillRect(f.x + l.time[s] * p.cellW + col * p.markW, f.y + row, p.markW - 1, 1, l.colour ? l.colour(n) : BLACK);
    }
    // ticks and labels stay outside the plot area, so that the marks can be counted
    const binTicks = ticks(0, timeBins - 1, 3).filter((t) => Number.isInteger(t));
    const yLabel = l.yLabel ?? 'NEURON';
    axes(c, { ...f, xMin: -0.5, xMax: timeBins - 0.5, yMin: p.rows, yMax: 0 }, l.title, 'TIME BIN', p.columns > 1 ? `${yLabel} MOD ${p.rows}` : yLabel, binTicks, ticks(0, p.rows - 1, 4));
  });
  return c;
}

/** Test images with their labels, for one panel of the predictions picture. */
export interface PredictionPanel {
  images: readonly Uint8Array[];
  /** Index of each image in the test set. */
  indices: ArrayLike<number>;
  truth: ArrayLike<number>;
  predicted: ArrayLike<number>;
}

/** Geometry of the predictions picture (shared with the tests): the first panel, then the mistakes beside it. */
export function predictionLayout(
  count: number,
  mistakes: number,
  height: number,
  width: number,
): { cols: number; mistakeCols: number; scale: number; cellW: number; cellH: number; mistakeCellH: number; top: number; left: number; mistakesLeft: number } {
  const cols = Math.min(10, count);
  const mistakeCols = Math.min(5, mistakes);
  const scale = 3;
  const cellW = width * scale + 16;
  const left = 16;
  return { cols, mistakeCols, scale, cellW, cellH: height * scale + TEXT_H + 20, mistakeCellH: height * scale + 2 * TEXT_H + 24, top: 50, left, mistakesLeft: left + cols * cellW + (mistakes > 0 ? 24 : 0) };
}

/**
 * The first test images with their true (T) and predicted (P) labels, and beside them the
 * first misclassified test images with their index; every wrong prediction gets a red frame and
 * red text.
 */
export function predictionsImage(first: PredictionPanel, mistakes: PredictionPanel, height: number, width: number): Canvas {
  const l = predictionLayout(first.images.length, mistakes.images.length, height, width);
  const firstHeight = Math.ceil(first.images.length / l.cols) * l.cellH;
  const mistakesHeight = l.mistakeCols === 0 ? 0 : Math.ceil(mistakes.images.length / l.mistakeCols) * l.mistakeCellH;
  const c = new Canvas(Math.min(MAX_SIDE, l.mistakesLeft + l.mistakeCols * l.cellW + l.left), Math.min(MAX_SIDE, l.top + Math.max(firstHeight, mistakesHeight) + 10));
  const draw = (panel: PredictionPanel, left: number, cols: number, showIndex: boolean): number => {
    const cellH = showIndex ? l.mistakeCellH : l.cellH;
    let wrong = 0;
    panel.images.forEach((img, i) => {
      const x = left + (i % cols) * l.cellW;
      const y = l.top + Math.floor(i / cols) * cellH;
      for (let r = 0; r < height; r++) {
        for (let q = 0; q < width; q++) {
          const v = 255 - img[r * width + q];
          c.fillRect(x + q * l.scale, y + r * l.scale, l.scale, l.scale, [v, v, v]);
        }
      }
      const ok = panel.truth[i] === panel.predicted[i];
      if (!ok) wrong++;
      c.strokeRect(x - 3, y - 3, width * l.scale + 6, height * l.scale + 6, ok ? LIGHT : RED, ok ? 1 : 3);
      c.text(`T${panel.truth[i]} P${panel.predicted[i]}`, x + (width * l.scale) / 2, y + height * l.scale + 8, ok ? BLACK : RED, S, 'center');
      if (showIndex) c.text(`NO. ${panel.indices[i]}`, x + (width * l.scale) / 2, y + height * l.scale + 12 + TEXT_H, BLACK, S, 'center');
    });
    return wrong;
  };
  const wrong = draw(first, l.left, l.cols, false);
  c.text(`FIRST ${first.images.length} TEST IMAGES, ${wrong} WRONG (RED)   T = TRUE, P = PREDICTED`, l.left, 16, wrong > 0 ? ORANGE : BLACK, S);
  if (l.mistakeCols > 0) {
    draw(mistakes, l.mistakesLeft, l.mistakeCols, true);
    c.text(`FIRST ${mistakes.images.length} MISTAKES (NO. = TEST INDEX)`, l.mistakesLeft, 16, RED, S);
  }
  return c;
}
