/**
 * The five pictures of a trained network, drawn from the data they are given (see `data.ts`)
 * and written into a folder: `weights.png`, `weight-histogram.png`, `convergence.png`,
 * `raster.png` and `predictions.png`.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EvspikeError } from '../errors.js';
import type { LayerKindName } from '../neurons/kinds/index.js';
import type { PicturesData } from './data.js';
import { writeFileAtomic } from '../util/atomic.js';
import { BLACK, BLUE, categoryColour } from './canvas.js';
import { convergenceImage, predictionsImage, rasterImage, weightHistogramImage, weightsImage, type KernelSet, type RasterLayer } from './plots.js';

export const PICTURES = ['weights.png', 'weight-histogram.png', 'convergence.png', 'raster.png', 'predictions.png'] as const;


function ensureFolder(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new EvspikeError(`${dir}: cannot create the output folder: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!statSync(dir).isDirectory()) throw new EvspikeError(`${dir}: is not a folder`);
}

/** Draw the pictures of `data` into `outDir` (created if needed); returns the files written. */
export function drawPictures(data: PicturesData, outDir: string): string[] {
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw new EvspikeError(`${outDir}: is not a folder`);
  ensureFolder(outDir);
  const written: string[] = [];
  const write = (name: string, png: Uint8Array): void => {
    writeFileAtomic(join(outDir, name), png);
    written.push(join(outDir, name));
  };

  const sets: KernelSet[] = data.kernels.map((k) => ({
    title: `CONV LAYER ${k.layer}: ${k.maps} MAPS OF ${k.kernelSize}X${k.kernelSize}${k.inChannels > 1 ? `, MEAN OVER ${k.inChannels} INPUT MAPS` : ''}   BLACK ${k.weightMin}, WHITE ${k.weightMax}`,
    ...k,
  }));
  write('weights.png', weightsImage(sets).toPng());
  const h = data.histogram;
  write('weight-histogram.png', weightHistogramImage(h.before, h.after, h.weightMin, h.weightMax).toPng());
  write(
    'convergence.png',
    convergenceImage(
      data.convergence.layers.map((l) => ({ label: `LAYER ${l.layer}: ${l.samples} SAMPLES, ${l.stoppedBy.toUpperCase()}`, q: l.history })),
      data.convergence.threshold,
    ).toPng(),
  );

  const raster: RasterLayer[] = data.raster.layers.map((l) => {
    const base = { count: l.neuron.length, time: l.time };
    const kind = l.kind as 'input' | LayerKindName;
    switch (kind) {
      case 'input':
        return { ...base, neurons: l.neurons, title: `INPUT: ${l.neurons} PIXELS`, yLabel: 'PIXEL', neuron: l.neuron, colour: () => BLACK };
      case 'conv': {
        // one spike per position at most: the position is the row, the map the colour
        const mapAt = new Int32Array(l.positions);
        const rows = Int32Array.from(l.neuron, (flat) => {
          mapAt[flat % l.positions] = Math.floor(flat / l.positions);
          return flat % l.positions;
        });
        return { ...base, neurons: l.positions, title: `CONV ${l.layer}: COLOUR = MAP`, yLabel: 'POSITION', neuron: rows, colour: (pos: number) => categoryColour(mapAt[pos], l.maps) };
      }
      case 'pool':
        return { ...base, neurons: l.neurons, title: `POOL ${l.layer}: ${l.neurons} NEURONS`, neuron: l.neuron, colour: () => BLUE };
      default: {
        const _exhaustive: never = kind;
        return _exhaustive;
      }
    }
  });
  write('raster.png', rasterImage(raster, data.raster.timeBins).toPng());

  const p = data.predictions;
  if (p !== undefined) write('predictions.png', predictionsImage(p.first, p.mistakes, p.height, p.width).toPng());
  return written;
}
