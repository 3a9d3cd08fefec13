/**
 * `evspike worker --queue URL`: take sweep points from BullMQ on Redis and run them with this
 * machine's cores, until Ctrl-C or SIGTERM (a job in progress is then abandoned: its lock
 * expires and another worker takes it).
 */
import { loadDataset } from '../data/datasets.js';
import { OptionError } from '../errors.js';
import { defaultWorkers } from '../pipeline/run.js';
import { parseIntegerFlag } from '../util/validate.js';
import { version } from '../util/version.js';
import { helpText, parseCommand, stringFlag, type CommandSpec } from './args.js';
import { DATA_FLAG, QUIET_FLAG, WORKERS_FLAG } from './flags.js';
import { exitCodeOf } from './signals.js';

export const WORKER_SPEC: CommandSpec = {
  name: 'worker',
  summary: 'Take sweep points from BullMQ on Redis and run them with this machine\'s cores, one point at a time, until Ctrl-C or SIGTERM; start one on every machine of a cluster.',
  flags: {
    queue: { type: 'string', value: 'URL', help: 'The Redis of the queue: redis://[:password@]host:port[/db], rediss:// for TLS.', required: true },
    prefix: { type: 'string', value: 'NAME', help: 'The BullMQ key prefix of the queue (the coordinator\'s).', default: 'evspike' },
    workers: WORKERS_FLAG,
    'lock-duration': { type: 'string', value: 'MS', help: "A job's lock, renewed every half of it; a worker killed mid-job loses its job after it (and the stalled check).", default: '60000' },
    'stalled-interval': { type: 'string', value: 'MS', help: 'How often this worker looks for jobs whose lock expired.', default: '15000' },
    data: DATA_FLAG,
    quiet: QUIET_FLAG,
  },
};

export async function workerCommand(argv: string[], out: (line: string) => void, err: (line: string) => void): Promise<number> {
  const { values } = parseCommand(argv, WORKER_SPEC);
  if (values.help) {
    out(helpText(WORKER_SPEC));
    return 0;
  }
  const url = stringFlag(values, 'queue');
  if (url === undefined) throw new OptionError('--queue', undefined, 'the Redis URL of the queue, like redis://127.0.0.1:6379');
  const { parseQueueUrl, startSweepWorker } = await import('../pipeline/distributed.js');
  const connection = parseQueueUrl(url);
  const workers = parseIntegerFlag('--workers', stringFlag(values, 'workers'), defaultWorkers(), { min: 1, max: 256 });
  const lockDuration = parseIntegerFlag('--lock-duration', stringFlag(values, 'lock-duration'), 60_000, { min: 500 });
  const stalledInterval = parseIntegerFlag('--stalled-interval', stringFlag(values, 'stalled-interval'), 15_000, { min: 100 });
  const data = loadDataset('mnist', stringFlag(values, 'data'));
  const quiet = Boolean(values.quiet);
  const worker = await startSweepWorker({
    connection,
    prefix: stringFlag(values, 'prefix') ?? 'evspike',
    data,
    version: version(),
    workers,
    timing: { lockDuration, stalledInterval },
    onJob: (event, id, detail) => {
      if (!quiet) err(`${new Date().toISOString()} ${event} ${id}${detail === undefined ? '' : `: ${detail}`}`);
    },
  });
  if (!quiet) err(`evspike worker: taking jobs from ${connection.host}:${connection.port} (prefix ${stringFlag(values, 'prefix') ?? 'evspike'}), ${workers} thread(s) per run; Ctrl-C stops`);
  const code = await new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => resolve(exitCodeOf(signal));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await worker.close(true).catch(() => {});
  return code;
}
