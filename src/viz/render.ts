/**
 * Rendering of Vega-Lite specifications without a browser: `vega-lite` compiles the spec to
 * Vega, `vega` renders it headless to SVG (`View.toSVG()`), and `@resvg/resvg-js` rasterises
 * the SVG to PNG at 2× with the DejaVu Sans font shipped by the `dejavu-fonts-ttf` package,
 * loaded explicitly (system fonts are not used, so a bare machine renders the same text).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { EvspikeError } from '../errors.js';
import { FIGURE_FONT } from './specs.js';

/** The most pixels a side of a written PNG may have. */
export const MAX_PNG_SIDE = 2000;
/** PNGs are rendered at this scale of the SVG. */
export const PNG_SCALE = 2;

let fontFiles: string[] | undefined;

/** The TrueType files of the figures' font, from the `dejavu-fonts-ttf` package. */
export function figureFontFiles(): string[] {
  if (fontFiles !== undefined) return fontFiles;
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  } catch {
    throw new EvspikeError('the npm package dejavu-fonts-ttf (the figures\' font) is not installed (run npm ci)');
  }
  const files = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((f) => join(dir, f));
  const missing = files.find((f) => !existsSync(f));
  if (missing !== undefined) throw new EvspikeError(`${missing}: the figures' font file is missing (run npm ci)`);
  fontFiles = files;
  return files;
}

/** A chart rendered: its SVG text, and its PNG with the PNG's size. */
export interface RenderedFigure {
  svg: string;
  png: Uint8Array;
  width: number;
  height: number;
}

/** Compile a Vega-Lite spec and render it to SVG (headless). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { spec: vgSpec } = compile(spec);
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterise an SVG at {@link PNG_SCALE}× with the shipped font; refuses a side over {@link MAX_PNG_SIDE}. */
export function rasterise(svg: string): { png: Uint8Array; width: number; height: number } {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: PNG_SCALE },
    font: { fontFiles: figureFontFiles(), loadSystemFonts: false, defaultFontFamily: FIGURE_FONT, sansSerifFamily: FIGURE_FONT },
    background: 'white',
  });
  const image = resvg.render();
  if (image.width > MAX_PNG_SIDE || image.height > MAX_PNG_SIDE) {
    throw new EvspikeError(`figure of ${image.width}×${image.height} px: each side must be at most ${MAX_PNG_SIDE}`);
  }
  return { png: image.asPng(), width: image.width, height: image.height };
}

/** Render a Vega-Lite spec to SVG and PNG. */
export async function renderFigure(spec: TopLevelSpec): Promise<RenderedFigure> {
  const svg = await renderSvg(spec);
  return { svg, ...rasterise(svg) };
}
