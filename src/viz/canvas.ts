/**
 * A plain RGBA raster with the few drawing operations the plots need, encoded as PNG by pngjs.
 */
import pngjs from 'pngjs';
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from './font.js';

export type Rgb = readonly [number, number, number];

export const WHITE: Rgb = [255, 255, 255];
export const BLACK: Rgb = [0, 0, 0];
export const GREY: Rgb = [150, 150, 150];
export const LIGHT: Rgb = [225, 225, 225];
export const RED: Rgb = [220, 30, 30];
export const GREEN: Rgb = [30, 150, 60];
export const BLUE: Rgb = [40, 90, 200];
export const ORANGE: Rgb = [240, 140, 20];

/** Largest side of any picture, in pixels. */
export const MAX_SIDE = 2000;

export class Canvas {
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = WHITE,
  ) {
    if (!(width >= 1 && height >= 1 && width <= MAX_SIDE && height <= MAX_SIDE)) {
      throw new RangeError(`picture of ${width}×${height} px: each side must be 1-${MAX_SIDE}`);
    }
    this.data = new Uint8Array(width * height * 4);
    this.fillRect(0, 0, width, height, background);
  }

  setPixel(x: number, y: number, c: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 4;
    this.data[i] = c[0];
    this.data[i + 1] = c[1];
    this.data[i + 2] = c[2];
    this.data[i + 3] = 255;
  }

  getPixel(x: number, y: number): Rgb {
    const i = (y * this.width + x) * 4;
    return [this.data[i], this.data[i + 1], this.data[i + 2]];
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) this.setPixel(xx, yy, c);
  }

  strokeRect(x: number, y: number, w: number, h: number, c: Rgb, thickness = 1): void {
    this.fillRect(x, y, w, thickness, c);
    this.fillRect(x, y + h - thickness, w, thickness, c);
    this.fillRect(x, y, thickness, h, c);
    this.fillRect(x + w - thickness, y, thickness, h, c);
  }

  /** A straight line (Bresenham), optionally dashed (`dash` pixels on, `dash` off). */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, dash = 0, thickness = 1): void {
    x0 = Math.round(x0);
    y0 = Math.round(y0);
    x1 = Math.round(x1);
    y1 = Math.round(y1);
    const dx = Math.abs(x1 - x0);
    const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1;
    const sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    let step = 0;
    for (;;) {
      if (dash === 0 || Math.floor(step / dash) % 2 === 0) {
        for (let t = 0; t < thickness; t++) this.setPixel(x0 + (dx >= -dy ? 0 : t), y0 + (dx >= -dy ? t : 0), c);
      }
      step++;
      if (x0 === x1 && y0 === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }

  /** Width in pixels of `text` at `scale`. */
  static textWidth(text: string, scale = 1): number {
    return text.length === 0 ? 0 : (text.length * (GLYPH_WIDTH + 1) - 1) * scale;
  }

  static textHeight(scale = 1): number {
    return GLYPH_HEIGHT * scale;
  }

  /** Draw `text` with its top-left corner at (x, y); `align` positions x at its left, centre or right. */
  text(text: string, x: number, y: number, c: Rgb = BLACK, scale = 1, align: 'left' | 'center' | 'right' = 'left'): void {
    const w = Canvas.textWidth(text, scale);
    let left = align === 'left' ? x : align === 'center' ? x - w / 2 : x - w;
    left = Math.round(left);
    for (const ch of text) {
      const g = glyph(ch);
      for (let r = 0; r < GLYPH_HEIGHT; r++) {
        for (let col = 0; col < GLYPH_WIDTH; col++) if (g[r][col]) this.fillRect(left + col * scale, y + r * scale, scale, scale, c);
      }
      left += (GLYPH_WIDTH + 1) * scale;
    }
  }

  /** Text rotated a quarter turn counter-clockwise (for vertical axis labels), centred on (x, y). */
  textVertical(text: string, x: number, y: number, c: Rgb = BLACK, scale = 1): void {
    const w = Canvas.textWidth(text, scale);
    const top = Math.round(y + w / 2);
    let offset = 0;
    for (const ch of text) {
      const g = glyph(ch);
      for (let r = 0; r < GLYPH_HEIGHT; r++) {
        for (let col = 0; col < GLYPH_WIDTH; col++) {
          if (g[r][col]) this.fillRect(x + r * scale, top - (offset + col) * scale, scale, scale, c);
        }
      }
      offset += GLYPH_WIDTH + 1;
    }
  }

  toPng(): Uint8Array {
    const png = new pngjs.PNG({ width: this.width, height: this.height });
    png.data = Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    return pngjs.PNG.sync.write(png);
  }
}

/** A distinct colour for category `i` of `n` (evenly spaced hues). */
export function categoryColour(i: number, n: number): Rgb {
  const h = (i / Math.max(1, n)) * 360;
  const s = 0.75;
  const v = i % 2 === 0 ? 0.85 : 0.65;
  const c = v * s;
  const x = c * (1 - Math.abs(((h / 60) % 2) - 1));
  const m = v - c;
  const [r, g, b] = h < 60 ? [c, x, 0] : h < 120 ? [x, c, 0] : h < 180 ? [0, c, x] : h < 240 ? [0, x, c] : h < 300 ? [x, 0, c] : [c, 0, x];
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

/** "Nice" tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export function formatTick(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return v.toLocaleString('en-US').replace(/,/g, ' ');
  return String(Number(v.toPrecision(4)));
}
