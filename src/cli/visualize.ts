/** `evspike visualize --checkpoint DIR --out DIR [--samples N] [--raster-sample I]` */
import { loadMnist } from '../data/mnist.js';
import { OptionError } from '../errors.js';
import { readCheckpoint } from '../pipeline/checkpoint.js';
import { parseIntegerFlag } from '../util/validate.js';
import { visualizeCheckpoint } from '../viz/visualize.js';
import { parseCommand, stringFlag } from './args.js';

export const VISUALIZE_USAGE = 'evspike visualize --checkpoint DIR --out DIR [--samples N] [--raster-sample I] [--data DIR]';

export function visualizeCommand(argv: string[], out: (line: string) => void): number {
  const { values } = parseCommand(
    argv,
    { checkpoint: { type: 'string' }, out: { type: 'string' }, samples: { type: 'string' }, 'raster-sample': { type: 'string' }, data: { type: 'string' } },
    0,
    VISUALIZE_USAGE,
  );
  if (values.help) {
    out(VISUALIZE_USAGE);
    return 0;
  }
  const dir = stringFlag(values, 'checkpoint');
  const outDir = stringFlag(values, 'out');
  if (dir === undefined) throw new OptionError('--checkpoint', undefined, `a checkpoint folder: ${VISUALIZE_USAGE}`);
  if (outDir === undefined) throw new OptionError('--out', undefined, `an output folder: ${VISUALIZE_USAGE}`);
  const samples = parseIntegerFlag('--samples', stringFlag(values, 'samples'), 50, { min: 1, max: 150 });
  const checkpoint = readCheckpoint(dir);
  const data = loadMnist(stringFlag(values, 'data'));
  const rasterSample = parseIntegerFlag('--raster-sample', stringFlag(values, 'raster-sample'), 0, { min: 0, max: data.test.count - 1 });
  for (const file of visualizeCheckpoint(checkpoint, data.test, outDir, { samples, rasterSample })) out(`wrote ${file}`);
  return 0;
}
