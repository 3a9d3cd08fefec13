/**
 * The figures of a trained network, written into a folder: for each, `NAME.vl.json` (the
 * Vega-Lite spec with its data inlined, to open and restyle in any Vega-Lite editor),
 * `NAME.svg` and `NAME.png` (2×). Every file is written atomically.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { EvspikeError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { PicturesData } from './data.js';
import { renderFigure } from './render.js';
import { convergenceSpec, predictionsSpec, rasterSpec, weightHistogramSpec, weightsSpec } from './specs.js';

/** The figures of a checkpoint, by name. */
export const FIGURES = ['weights', 'weight-histogram', 'convergence', 'raster', 'predictions'] as const;
export type FigureName = (typeof FIGURES)[number];

/** The files of one figure. */
export const figureFiles = (name: string): string[] => [`${name}.vl.json`, `${name}.svg`, `${name}.png`];

function ensureFolder(dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new EvspikeError(`${dir}: is not a folder`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new EvspikeError(`${dir}: cannot create the output folder: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!statSync(dir).isDirectory()) throw new EvspikeError(`${dir}: is not a folder`);
}

/** Render `spec` and write its three files as `dir/name.*`; returns their paths. */
export async function writeFigure(dir: string, name: string, spec: TopLevelSpec): Promise<string[]> {
  ensureFolder(dir);
  const figure = await renderFigure(spec);
  const [json, svg, png] = figureFiles(name).map((f) => join(dir, f));
  writeFileAtomic(json, JSON.stringify(spec, null, 1) + '\n');
  writeFileAtomic(svg, figure.svg);
  writeFileAtomic(png, figure.png);
  return [json, svg, png];
}

/** The spec of each figure of `data` (predictions only when the data has them). */
export function figureSpecs(data: PicturesData): [FigureName, TopLevelSpec][] {
  const specs: [FigureName, TopLevelSpec][] = [
    ['weights', weightsSpec(data.kernels)],
    ['weight-histogram', weightHistogramSpec(data.histogram)],
    ['convergence', convergenceSpec(data.convergence)],
    ['raster', rasterSpec(data.raster)],
  ];
  if (data.predictions !== undefined) specs.push(['predictions', predictionsSpec(data.predictions)]);
  return specs;
}

/** Draw every figure of `data` into `outDir` (created if needed); returns the files written. */
export async function drawFigures(data: PicturesData, outDir: string): Promise<string[]> {
  ensureFolder(outDir);
  const written: string[] = [];
  for (const [name, spec] of figureSpecs(data)) written.push(...(await writeFigure(outDir, name, spec)));
  return written;
}
