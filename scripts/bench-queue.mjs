// Queue overhead (issue 11): the same sweep points run locally and through BullMQ with one
// local worker process, on the same machine, one after the other; prints both wall times,
// their ratio, and the latency from a job's completion on the worker to its result on disk.
// Usage: node scripts/bench-queue.mjs [SWEEP] [--queue redis://127.0.0.1:6379] [--workers N]
// (npm run build first). The points are runs of a few seconds each, like a real sweep's.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { loadMnist } = await import(join(root, 'dist/data/mnist.js'));
const { loadSweep, runSweep, sweepPoints } = await import(join(root, 'dist/pipeline/sweep.js'));
const { coordinateSweep, parseQueueUrl } = await import(join(root, 'dist/pipeline/distributed.js'));
const { version } = await import(join(root, 'dist/util/version.js'));

const { values, positionals } = parseArgs({ options: { queue: { type: 'string' }, workers: { type: 'string' } }, allowPositionals: true });
const url = values.queue ?? 'redis://127.0.0.1:6379';
const workers = Number(values.workers ?? 2);
const sweep = loadSweep(positionals[0] ?? 'quick');
const points = sweepPoints(sweep);
const data = loadMnist();

const t0 = performance.now();
await runSweep({ sweep, points, data, outDir: join(mkdtempSync(join(tmpdir(), 'bench-local-')), 'out'), workers, version: version() });
const localSeconds = (performance.now() - t0) / 1000;

const prefix = `evspike-bench-${process.pid}`;
const worker = spawn(process.execPath, [join(root, 'bin/evspike.js'), 'worker', '--queue', url, '--prefix', prefix, '--workers', String(workers), '--quiet'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 1500)); // the worker connects (not counted below)
const t1 = performance.now();
const r = await coordinateSweep({ sweep, points, data, outDir: join(mkdtempSync(join(tmpdir(), 'bench-queue-')), 'out'), version: version(), connection: parseQueueUrl(url), prefix });
const queueSeconds = (performance.now() - t1) / 1000;
worker.kill('SIGTERM');
const { Queue } = await import('bullmq');
const q = new Queue('evspike-sweep', { connection: parseQueueUrl(url), prefix });
await q.obliterate({ force: true });
await q.close();

const lat = [...r.latencyMs].sort((a, b) => a - b);
console.log(`points: ${points.length} of sweep ${sweep.name}, ${workers} worker thread(s) per run`);
console.log(`local sweep:                  ${localSeconds.toFixed(2)} s`);
console.log(`through BullMQ, one worker:   ${queueSeconds.toFixed(2)} s`);
console.log(`queue cost:                   ${(100 * (queueSeconds / localSeconds - 1)).toFixed(2)} % of the local wall time`);
console.log(`completion → result on disk:  median ${lat[Math.floor(lat.length / 2)]} ms, max ${lat[lat.length - 1]} ms`);
process.exit(0);
