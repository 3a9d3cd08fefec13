/**
 * Sweeps over many machines through BullMQ on Redis. The coordinator adds one job per
 * unfinished point (its id derived from the sweep and the point, so adding twice is harmless)
 * and writes each result as it comes back; `evspike worker` processes on any number of
 * machines take jobs and run them with their own cores. A job carries data only: the resolved
 * scenario, the seed and what identifies the sweep, evspike's version and the data's checksum,
 * which the worker checks (and validates the scenario with the same resolver) before running.
 *
 * Robustness: a worker killed mid-job stops renewing its job's lock, BullMQ's stalled-job check
 * puts the job back, and another worker takes it. The coordinator keeps no state of its own
 * beyond the results folder: restarted, it adds the unfinished points again (ids dedupe them);
 * and it polls, so that a Redis that restarted empty is noticed (points with neither a result
 * nor a job are added again) and a failed job is reported instead of waited for.
 */
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Dataset } from '../data/datasets.js';
import { EvspikeError, InterruptedError, OptionError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { isPlainObject } from '../util/validate.js';
import { resolveScenario } from './scenario.js';
import { dataChecksum, openSweepFolder, pointDone, pointFile, runPoint, type ResolvedSweep, type SweepPointResult, type SweepPointSpec } from './sweep.js';
import { scenarioJson } from './scenario.js';

/** The queue every evspike sweep uses (each deployment separates itself by its prefix). */
export const QUEUE_NAME = 'evspike-sweep';
/** The largest job data accepted, in bytes of JSON (a resolved scenario is a few KB). */
export const MAX_JOB_BYTES = 256 * 1024;

/** Connection options for ioredis from `redis://[:password@]host:port[/db]` or `rediss://…` (TLS). */
export interface RedisConnection {
  host: string;
  port: number;
  password?: string;
  username?: string;
  db: number;
  tls?: Record<string, never>;
  maxRetriesPerRequest: null;
}

/** Parse a `--queue` URL, naming the flag and the value on error. */
export function parseQueueUrl(text: string): RedisConnection {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new OptionError('--queue', text, 'a URL like redis://[:password@]host:port[/db] or rediss://…');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new OptionError('--queue', text, 'a redis:// or rediss:// URL');
  const port = url.port === '' ? 6379 : Number(url.port);
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (url.hostname === '' || !Number.isInteger(port) || port < 1 || port > 65535) throw new OptionError('--queue', text, 'a host and a port in [1, 65535]');
  if (!Number.isInteger(db) || db < 0) throw new OptionError('--queue', text, 'a database number after the slash');
  return {
    host: url.hostname,
    port,
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    db,
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

/**
 * Check that the Redis answers (and accepts our password) before BullMQ is given it: BullMQ's
 * connections retry for ever, so an unreachable or password-protected Redis is reported here,
 * within seconds, as one line.
 */
export async function probeRedis(c: RedisConnection): Promise<void> {
  const client = new Redis({ ...c, lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, enableReadyCheck: false });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    const message = (e as Error).message;
    if (/NOAUTH|WRONGPASS|invalid password/i.test(message)) {
      throw new EvspikeError(`Redis at ${c.host}:${c.port} refused us: ${message.trim()} (give the password in the URL: redis://:PASSWORD@${c.host}:${c.port})`);
    }
    if (c.password !== undefined && /Connection is closed/i.test(message)) {
      throw new EvspikeError(`Redis at ${c.host}:${c.port} closed the connection on our password (a wrong password?)`);
    }
    throw new EvspikeError(`cannot reach Redis at ${c.host}:${c.port}: ${message.trim() || 'no answer'}`);
  } finally {
    client.disconnect();
  }
}

/** What a job carries: data only. */
export interface SweepJobData {
  format: 'evspike-sweep-job';
  version: 1;
  evspike: string;
  dataChecksum: string;
  sweep: string;
  definitionHash: string;
  point: Omit<SweepPointResult, 'format' | 'version' | 'result' | 'evspike' | 'dataChecksum' | 'sweep'>;
}

/** The job id of a point: the sweep's definition and the point (adding it twice adds it once). */
export const jobIdOf = (sweep: ResolvedSweep, point: SweepPointSpec): string => `${sweep.definitionHash.slice(0, 16)}-${point.id}`;

function jobDataOf(sweep: ResolvedSweep, point: SweepPointSpec, version: string, checksum: string): SweepJobData {
  return {
    format: 'evspike-sweep-job',
    version: 1,
    evspike: version,
    dataChecksum: checksum,
    sweep: sweep.name,
    definitionHash: sweep.definitionHash,
    point: { part: point.part, run: point.run, id: point.id, values: [...point.values], labels: [...point.labels], seed: point.seed, settings: [...point.settings], scenario: scenarioJson(point.scenario) },
  };
}

/** Queue timing: lock and stall settings for runs of seconds to minutes. */
export interface QueueTiming {
  /** A job's lock, renewed by its worker every half of it (ms). Default 60,000. */
  lockDuration: number;
  /** How often workers look for jobs whose lock expired (ms). Default 15,000. */
  stalledInterval: number;
  /** How often the coordinator polls the jobs of unfinished points (ms). Default 1,000. */
  pollInterval: number;
}

export const DEFAULT_QUEUE_TIMING: QueueTiming = { lockDuration: 60_000, stalledInterval: 15_000, pollInterval: 1_000 };

export interface CoordinateOptions {
  sweep: ResolvedSweep;
  points: readonly SweepPointSpec[];
  data: Dataset;
  outDir: string;
  version: string;
  connection: RedisConnection;
  prefix: string;
  timing?: Partial<QueueTiming>;
  signal?: AbortSignal;
  /** After each point recorded: points done, total, the point. */
  onPoint?: (done: number, total: number, id: string) => void;
  /** A point whose job failed, with the reason. */
  onFailed?: (id: string, reason: string) => void;
  /** Jobs added again because Redis had lost them. */
  onReadded?: (count: number) => void;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/** Run a sweep through the queue: add the unfinished points' jobs and record results as they complete. */
export async function coordinateSweep(o: CoordinateOptions): Promise<{ recorded: number; skipped: number; failed: { id: string; reason: string }[]; latencyMs: number[] }> {
  const timing = { ...DEFAULT_QUEUE_TIMING, ...o.timing };
  const checksum = dataChecksum(o.data);
  await probeRedis(o.connection);
  openSweepFolder(o.outDir, o.sweep, o.version, checksum);
  const queue = new Queue(QUEUE_NAME, { connection: o.connection, prefix: o.prefix });
  queue.on('error', () => {}); // connection errors surface through the calls below
  // a job's completion wakes the loop at once; the poll is the fallback (lost events, restarts)
  const events = new QueueEvents(QUEUE_NAME, { connection: o.connection, prefix: o.prefix });
  events.on('error', () => {});
  let wake: (() => void) | undefined;
  const wakeUp = (): void => wake?.();
  events.on('completed', wakeUp);
  events.on('failed', wakeUp);
  const latencyMs: number[] = [];
  try {
    await withTimeout(Promise.all([queue.waitUntilReady(), events.waitUntilReady()]), 10_000, `cannot reach Redis at ${o.connection.host}:${o.connection.port}`);
    const pending = new Map<string, SweepPointSpec>();
    let skipped = 0;
    for (const p of o.points) {
      if (pointDone(o.outDir, p.id)) skipped++;
      else pending.set(jobIdOf(o.sweep, p), p);
    }
    const add = async (entries: [string, SweepPointSpec][]): Promise<void> => {
      if (entries.length === 0) return;
      await queue.addBulk(entries.map(([jobId, p]) => ({ name: p.id, data: jobDataOf(o.sweep, p, o.version, checksum), opts: { jobId, removeOnComplete: false, removeOnFail: false } })));
    };
    await add([...pending.entries()]);
    let recorded = 0;
    const failed: { id: string; reason: string }[] = [];
    while (pending.size > 0) {
      if (o.signal?.aborted) throw new InterruptedError(o.signal.reason);
      const missing: [string, SweepPointSpec][] = [];
      for (const [jobId, point] of [...pending.entries()]) {
        // the state first, then the job: a job finishes atomically (set and fields in one
        // script), so a job read after its state says finished holds its result; read the
        // other way round, a job finishing in between is 'completed' with no result yet
        const state = await queue.getJobState(jobId);
        if (state === 'unknown') {
          missing.push([jobId, point]);
          continue;
        }
        if (state !== 'completed' && state !== 'failed') continue;
        const job = await queue.getJob(jobId);
        if (job === undefined || job === null) {
          missing.push([jobId, point]);
          continue;
        }
        const value: unknown = job.returnvalue;
        if (state === 'completed' && (typeof value !== 'object' || value === null)) {
          // a worker of this version always returns the run's summary
          const reason = `completed without a result (returnvalue ${JSON.stringify(value)})`;
          failed.push({ id: point.id, reason });
          o.onFailed?.(point.id, reason);
          pending.delete(jobId);
        } else if (state === 'completed') {
          if (!pointDone(o.outDir, point.id)) {
            const result: SweepPointResult = {
              format: 'evspike-sweep-point',
              version: 1,
              sweep: o.sweep.name,
              ...jobDataOf(o.sweep, point, o.version, checksum).point,
              evspike: o.version,
              dataChecksum: checksum,
              result: value as Record<string, unknown>,
            };
            writeFileAtomic(pointFile(o.outDir, point.id), JSON.stringify(result) + '\n');
            if (job.finishedOn !== undefined) latencyMs.push(Date.now() - job.finishedOn);
            recorded++;
          }
          pending.delete(jobId);
          o.onPoint?.(o.points.length - pending.size - failed.length, o.points.length, point.id);
        } else if (state === 'failed') {
          const reason = job.failedReason ?? 'unknown';
          failed.push({ id: point.id, reason });
          o.onFailed?.(point.id, reason);
          pending.delete(jobId);
        }
      }
      if (missing.length > 0) {
        // Redis lost them (restarted empty, or flushed): add them again
        await add(missing);
        o.onReadded?.(missing.length);
      }
      if (pending.size > 0) {
        await Promise.race([sleep(timing.pollInterval, o.signal), new Promise<void>((resolve) => (wake = resolve))]);
        wake = undefined;
      }
    }
    return { recorded, skipped, failed, latencyMs };
  } finally {
    await events.close().catch(() => {});
    await queue.close().catch(() => {});
  }
}

async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new EvspikeError(message)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (e) {
    if (e instanceof EvspikeError) throw e;
    throw new EvspikeError(`${message}: ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Check a job's data: the right format and size, this evspike and this data, a valid scenario. */
export function checkJobData(data: unknown, version: string, checksum: string): SweepJobData {
  const size = JSON.stringify(data ?? null).length;
  if (size > MAX_JOB_BYTES) throw new Error(`refused: job data of ${size} bytes (at most ${MAX_JOB_BYTES})`);
  if (!isPlainObject(data) || data.format !== 'evspike-sweep-job' || data.version !== 1) throw new Error('refused: not an evspike sweep job (format evspike-sweep-job, version 1)');
  if (data.evspike !== version) throw new Error(`refused: a job of evspike ${String(data.evspike)}, this worker is evspike ${version}`);
  if (data.dataChecksum !== checksum) throw new Error(`refused: a job on other data (checksum ${String(data.dataChecksum).slice(0, 12)}…, this worker's is ${checksum.slice(0, 12)}…)`);
  const point = data.point;
  if (!isPlainObject(point) || typeof point.id !== 'string' || !Number.isInteger(point.seed)) throw new Error('refused: the job has no point (id, seed, scenario)');
  if (point.run !== 'network' && point.run !== 'pixel-svm') throw new Error(`refused: the job runs ${JSON.stringify(point.run)}, not "network" or "pixel-svm"`);
  try {
    resolveScenario(point.scenario, 'job scenario');
  } catch (e) {
    throw new Error(`refused: ${(e as Error).message}`);
  }
  return data as unknown as SweepJobData;
}

export interface WorkerProcessOptions {
  connection: RedisConnection;
  prefix: string;
  data: Dataset;
  version: string;
  /** Worker threads of each run. */
  workers: number;
  timing?: Partial<QueueTiming>;
  /** Told when a job starts and ends (for a log). */
  onJob?: (event: 'start' | 'done' | 'failed', id: string, detail?: string) => void;
}

/** A BullMQ worker that runs the sweep points it takes; `close()` stops it. */
export async function startSweepWorker(o: WorkerProcessOptions): Promise<Worker> {
  const timing = { ...DEFAULT_QUEUE_TIMING, ...o.timing };
  const checksum = dataChecksum(o.data);
  await probeRedis(o.connection);
  const worker = new Worker(
    QUEUE_NAME,
    async (job: Job) => {
      const data = checkJobData(job.data, o.version, checksum);
      o.onJob?.('start', data.point.id);
      const scenario = resolveScenario(data.point.scenario, 'job scenario');
      return runPoint(data.point.run, scenario, o.data, o.workers);
    },
    {
      connection: o.connection,
      prefix: o.prefix,
      concurrency: 1,
      lockDuration: timing.lockDuration,
      stalledInterval: timing.stalledInterval,
      maxStalledCount: 3,
      autorun: true,
    },
  );
  worker.on('completed', (job) => o.onJob?.('done', job.name));
  worker.on('failed', (job, e) => o.onJob?.('failed', job?.name ?? '?', e.message));
  worker.on('error', () => {}); // reconnects on its own; the coordinator notices what is lost
  await withTimeout(worker.waitUntilReady(), 10_000, `cannot reach Redis at ${o.connection.host}:${o.connection.port}`);
  return worker;
}
