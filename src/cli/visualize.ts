/** `evspike visualize`: the figures of a checkpoint (Vega-Lite spec, SVG and PNG each). */
import { loadDataset } from '../data/datasets.js';
import { OptionError } from '../errors.js';
import { readCheckpoint } from '../pipeline/checkpoint.js';
import { parseIntegerFlag } from '../util/validate.js';
import { helpText, parseCommand, stringFlag, usageLine, type CommandSpec } from './args.js';
import { DATA_FLAG } from './flags.js';

export const VISUALIZE_SPEC: CommandSpec = {
  name: 'visualize',
  summary:
    'Draw the figures of a checkpoint (learned kernels, weight histograms, convergence curve, a spike raster, predictions with the first mistakes), each as a Vega-Lite spec (.vl.json), SVG and PNG.',
  flags: {
    checkpoint: { type: 'string', value: 'DIR', help: 'The checkpoint folder.', required: true },
    out: { type: 'string', value: 'DIR', help: 'The folder to write the pictures into (created if needed).', required: true },
    samples: { type: 'string', value: 'N', help: 'Test images drawn in predictions.png (1 … 150).', default: '50' },
    errors: { type: 'string', value: 'M', help: 'The first misclassified test images, drawn beside them in predictions.png (0 … 50).', default: '20' },
    'raster-sample': { type: 'string', value: 'I', help: 'Index of the test image whose spikes raster.png draws.', default: '0' },
    data: DATA_FLAG,
  },
};
const VISUALIZE_USAGE = usageLine(VISUALIZE_SPEC);

export async function visualizeCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseCommand(argv, VISUALIZE_SPEC);
  if (values.help) {
    out(helpText(VISUALIZE_SPEC));
    return 0;
  }
  const dir = stringFlag(values, 'checkpoint');
  const outDir = stringFlag(values, 'out');
  if (dir === undefined) throw new OptionError('--checkpoint', undefined, `a checkpoint folder: ${VISUALIZE_USAGE}`);
  if (outDir === undefined) throw new OptionError('--out', undefined, `an output folder: ${VISUALIZE_USAGE}`);
  const samples = parseIntegerFlag('--samples', stringFlag(values, 'samples'), 50, { min: 1, max: 150 });
  const checkpoint = readCheckpoint(dir);
  const data = loadDataset(checkpoint.scenario.dataset, stringFlag(values, 'data'));
  const rasterSample = parseIntegerFlag('--raster-sample', stringFlag(values, 'raster-sample'), 0, { min: 0, max: data.test.count - 1 });
  const errors = parseIntegerFlag('--errors', stringFlag(values, 'errors'), 20, { min: 0, max: 50 });
  const { visualizeCheckpoint } = await import('../pipeline/pictures.js'); // vega and resvg load only here
  for (const file of await visualizeCheckpoint(checkpoint, data.test, outDir, { samples, errors, rasterSample })) out(`wrote ${file}`);
  return 0;
}
