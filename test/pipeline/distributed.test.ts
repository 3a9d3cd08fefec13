/**
 * Sweeps through BullMQ on a real Redis over a real connection: two worker processes give the
 * local results; a worker SIGKILLed mid-job loses nothing; a coordinator stopped and started
 * again goes on; a private redis-server restarted empty mid-sweep loses no point; a malformed or
 * foreign job is refused with its reason; a job completed without a result is not recorded. Each
 * test uses its own queue prefix.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadMnist } from '../../src/data/mnist.js';
import { InterruptedError } from '../../src/errors.js';
import { checkJobData, coordinateSweep, parseQueueUrl, QUEUE_NAME } from '../../src/pipeline/distributed.js';
import { dataChecksum, loadSweep, runSweep, sweepPoints, type SweepPointResult } from '../../src/pipeline/sweep.js';
import { version } from '../../src/util/version.js';
import { scenarioJson } from '../../src/pipeline/scenario.js';
import { freePort, hasRedisServer, startRedisServer, testRedis, type TestRedis } from '../helpers/redis.js';
import { repoRoot } from '../helpers.js';

const mnist = loadMnist();
const tmp = (name: string): string => mkdtempSync(join(tmpdir(), `evspike-${name}-`));
let prefixSerial = 0;
const usedPrefixes: string[] = [];
const newPrefix = (): string => {
  const prefix = `evspike-test-${process.pid}-${Date.now()}-${prefixSerial++}`;
  usedPrefixes.push(prefix);
  return prefix;
};
const FAST = { lockDuration: 1500, stalledInterval: 500, pollInterval: 150 };

function sweepFile(dir: string, extract = 300): string {
  const file = join(dir, 'q.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'q',
      scenario: 'mnist-quick',
      set: ['limits.train=40', `limits.extract=${extract}`, 'limits.test=100', 'network.layers[0].kernelSize=5', 'network.layers[0].padding=2'],
      axes: [{ path: 'network.layers[0].maps', values: [4, 6], label: 'feature maps' }],
      seeds: [0, 1],
    }),
  );
  return file;
}

/** A `evspike worker` process on `url` with `prefix`; its log lines collected. */
function startWorker(url: string, prefix: string): { child: ChildProcess; log: string[] } {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'evspike.js'), 'worker', '--queue', url, '--prefix', prefix, '--workers', '1', '--lock-duration', String(FAST.lockDuration), '--stalled-interval', String(FAST.stalledInterval)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log: string[] = [];
  child.stderr!.on('data', (d) => log.push(...String(d).split('\n').filter(Boolean)));
  return { child, log };
}

const stop = (w: { child: ChildProcess }): void => void w.child.kill('SIGKILL');
const comparable = (r: Record<string, unknown>): Record<string, unknown> => {
  const { seconds: _s, peakMemoryMB: _m, workers: _w, ...rest } = r;
  return rest;
};
const resultsOf = (dir: string): Map<string, SweepPointResult> =>
  new Map(readdirSync(join(dir, 'runs')).map((f) => [f, JSON.parse(readFileSync(join(dir, 'runs', f), 'utf8')) as SweepPointResult]));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function until(check: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('sweeps through BullMQ on Redis', () => {
  let redis: TestRedis | undefined;
  let local: Map<string, SweepPointResult>;
  const base = tmp('queue');

  beforeAll(async () => {
    redis = await testRedis();
    const sweep = loadSweep(sweepFile(base));
    const out = join(base, 'local');
    await runSweep({ sweep, points: sweepPoints(sweep), data: mnist, outDir: out, workers: 1, version: version() });
    local = resultsOf(out);
  });
  afterAll(async () => {
    // leave nothing behind in a shared Redis
    if (redis !== undefined) {
      for (const prefix of usedPrefixes) {
        const queue = new Queue(QUEUE_NAME, { connection: parseQueueUrl(redis.url), prefix });
        await queue.obliterate({ force: true }).catch(() => {});
        await queue.close().catch(() => {});
      }
    }
    await redis?.stop();
  });

  it('through two worker processes gives exactly the local results, each recorded once', async (ctx) => {
    if (redis === undefined) return ctx.skip();
    const prefix = newPrefix();
    const workers = [startWorker(redis.url, prefix), startWorker(redis.url, prefix)];
    try {
      // both waiting for jobs before there are any: a point now runs faster than a worker
      // process starts, so one started late could find the queue already empty
      await until(() => workers.every((w) => w.log.some((l) => /taking jobs/.test(l))));
      const sweep = loadSweep(sweepFile(tmp('q1')));
      const out = join(tmp('q1out'), 'out');
      const r = await coordinateSweep({ sweep, points: sweepPoints(sweep), data: mnist, outDir: out, version: version(), connection: parseQueueUrl(redis.url), prefix, timing: FAST });
      expect(r).toMatchObject({ recorded: 4, skipped: 0, failed: [] });
      expect(r.latencyMs).toHaveLength(4);
      const got = resultsOf(out);
      expect([...got.keys()].sort()).toEqual([...local.keys()].sort());
      for (const [file, point] of got) expect(comparable(point.result)).toEqual(comparable(local.get(file)!.result));
      // both workers took jobs
      expect(workers.every((w) => w.log.some((l) => / start /.test(l)))).toBe(true);
      // coordinating again records nothing new: every point is there
      expect(await coordinateSweep({ sweep, points: sweepPoints(sweep), data: mnist, outDir: out, version: version(), connection: parseQueueUrl(redis.url), prefix, timing: FAST })).toMatchObject({ recorded: 0, skipped: 4, failed: [] });
    } finally {
      workers.forEach(stop);
    }
  });

  it('a worker SIGKILLed mid-job loses nothing: the stalled job is taken again', async (ctx) => {
    if (redis === undefined) return ctx.skip();
    const prefix = newPrefix();
    const sweep = loadSweep(sweepFile(tmp('q2'), 3000)); // points of ~1 s, to be killed in
    const out = join(tmp('q2out'), 'out');
    const first = startWorker(redis.url, prefix);
    let second: { child: ChildProcess; log: string[] } | undefined;
    try {
      const done = coordinateSweep({ sweep, points: sweepPoints(sweep), data: mnist, outDir: out, version: version(), connection: parseQueueUrl(redis.url), prefix, timing: FAST });
      await until(() => first.log.some((l) => / start /.test(l)));
      first.child.kill('SIGKILL');
      const killedIn = first.log.find((l) => / start /.test(l))!.split(' start ')[1];
      second = startWorker(redis.url, prefix);
      const r = await done;
      expect(r.recorded).toBe(4);
      expect(r.failed).toEqual([]);
      // the job the killed worker held was run again, to the end, by the other one (its log
      // line may come a moment after the coordinator heard of the completion)
      await until(() => second!.log.some((l) => l.includes(`done ${killedIn}`)), 10_000);
      expect(readdirSync(join(out, 'runs'))).toHaveLength(4);
    } finally {
      stop(first);
      if (second) stop(second);
    }
  });

  it('a coordinator stopped and started again goes on', async (ctx) => {
    if (redis === undefined) return ctx.skip();
    const prefix = newPrefix();
    const worker = startWorker(redis.url, prefix);
    try {
      const sweep = loadSweep(sweepFile(tmp('q3')));
      const out = join(tmp('q3out'), 'out');
      const controller = new AbortController();
      const options = { sweep, points: sweepPoints(sweep), data: mnist, outDir: out, version: version(), connection: parseQueueUrl(redis.url), prefix, timing: FAST };
      const error = await coordinateSweep({ ...options, signal: controller.signal, onPoint: () => controller.abort('SIGINT') }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InterruptedError);
      const after = await coordinateSweep(options);
      expect(after.recorded + after.skipped).toBe(4);
      expect(after.skipped).toBeGreaterThanOrEqual(1);
      expect(readdirSync(join(out, 'runs'))).toHaveLength(4);
    } finally {
      stop(worker);
    }
  });

  it('a private redis-server restarted empty mid-sweep loses no point', async (ctx) => {
    if (redis === undefined || !hasRedisServer()) return ctx.skip();
    const port = await freePort();
    let server = await startRedisServer(port);
    const url = `redis://127.0.0.1:${port}`;
    const prefix = newPrefix();
    const worker = startWorker(url, prefix);
    let readded = 0;
    try {
      const sweep = loadSweep(sweepFile(tmp('q4'), 1500));
      const out = join(tmp('q4out'), 'out');
      let restarted = false;
      const done = coordinateSweep({
        sweep,
        points: sweepPoints(sweep),
        data: mnist,
        outDir: out,
        version: version(),
        connection: parseQueueUrl(url),
        prefix,
        timing: FAST,
        onReadded: (n) => (readded += n),
        onPoint: () => {
          if (restarted) return;
          restarted = true;
          server.kill('SIGKILL'); // every job in Redis is lost
          void startRedisServer(port).then((s) => (server = s));
        },
      });
      const r = await done;
      expect(r.failed).toEqual([]);
      expect(readdirSync(join(out, 'runs'))).toHaveLength(4);
      expect(readded).toBeGreaterThan(0);
    } finally {
      stop(worker);
      server.kill('SIGKILL');
    }
  });

  it('a malformed or foreign job is refused with its reason, and nothing runs', async (ctx) => {
    if (redis === undefined) return ctx.skip();
    const checksum = dataChecksum(mnist);
    expect(() => checkJobData({ hello: 1 }, version(), checksum)).toThrow(/refused: not an evspike sweep job/);
    const prefix = newPrefix();
    const queue = new Queue(QUEUE_NAME, { connection: parseQueueUrl(redis.url), prefix });
    const worker = startWorker(redis.url, prefix);
    try {
      const sweep = loadSweep(sweepFile(tmp('q5')));
      const point = sweepPoints(sweep)[0];
      const good = { format: 'evspike-sweep-job', version: 1, evspike: version(), dataChecksum: checksum, sweep: 'q', definitionHash: sweep.definitionHash, point: { id: point.id, part: point.part, run: point.run, values: point.values, labels: point.labels, seed: point.seed, settings: point.settings, scenario: scenarioJson(point.scenario) } };
      expect(checkJobData(good, version(), checksum).point.id).toBe(point.id); // the reference job is valid
      const jobs = await queue.addBulk([
        { name: 'garbage', data: { hello: 'world' } },
        { name: 'foreign', data: { ...good, evspike: '0.0.0-other' } },
        { name: 'other-data', data: { ...good, dataChecksum: 'f'.repeat(64) } },
        { name: 'bad-scenario', data: { ...good, point: { ...good.point, scenario: { network: { timeBins: -1 } } } } },
        { name: 'too-big', data: { ...good, padding: 'x'.repeat(300 * 1024) } },
      ]);
      await until(async () => (await Promise.all(jobs.map((j) => j.getState()))).every((s) => s === 'failed'), 30_000);
      const reasons = await Promise.all(jobs.map(async (j) => (await queue.getJob(j.id!))!.failedReason));
      expect(reasons[0]).toMatch(/refused: not an evspike sweep job/);
      expect(reasons[1]).toMatch(/refused: a job of evspike 0\.0\.0-other, this worker is evspike/);
      expect(reasons[2]).toMatch(/refused: a job on other data/);
      expect(reasons[3]).toMatch(/refused: job scenario: network\.timeBins: expected an integer ≥ 1/);
      expect(reasons[4]).toMatch(/refused: job data of \d+ bytes \(at most 262144\)/);
      expect(worker.log.some((l) => / start /.test(l))).toBe(false);
    } finally {
      stop(worker);
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
    }
  });

  it('a job completed without a result is reported failed, not recorded', async (ctx) => {
    if (redis === undefined) return ctx.skip();
    const prefix = newPrefix();
    // a foreign worker on the queue that completes every job and returns nothing
    const foreign = new Worker(QUEUE_NAME, async () => undefined, { connection: parseQueueUrl(redis.url), prefix });
    try {
      const sweep = loadSweep(sweepFile(tmp('q7')));
      const out = join(tmp('q7out'), 'out');
      const r = await coordinateSweep({ sweep, points: sweepPoints(sweep), data: mnist, outDir: out, version: version(), connection: parseQueueUrl(redis.url), prefix, timing: FAST });
      expect(r.recorded).toBe(0);
      expect(r.failed).toHaveLength(4);
      for (const f of r.failed) expect(f.reason).toBe('completed without a result (returnvalue null)');
      expect(resultsOf(out).size).toBe(0);
    } finally {
      await foreign.close();
    }
  });

  it('reports an unreachable or password-protected Redis in one line, quickly', async (ctx) => {
    if (redis === undefined || !hasRedisServer()) return ctx.skip();
    const dir = tmp('q6');
    const file = sweepFile(dir);
    const closed = await freePort();
    const t0 = Date.now();
    const unreachable = await cli('sweep', file, '--out', join(dir, 'a'), '--queue', `redis://127.0.0.1:${closed}`, '--quiet');
    expect(unreachable.code).toBe(2);
    expect(unreachable.err).toMatch(new RegExp(`^evspike sweep: cannot reach Redis at 127\\.0\\.0\\.1:${closed}`));
    expect(Date.now() - t0).toBeLessThan(8000);
    const port = await freePort();
    const guarded = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', 'secret'], { stdio: 'ignore' });
    try {
      await until(async () => (await cli('sweep', file, '--out', join(dir, 'b'), '--queue', `redis://127.0.0.1:${port}`, '--quiet')).err.includes('refused us'), 10_000);
      const r = await cli('sweep', file, '--out', join(dir, 'b'), '--queue', `redis://127.0.0.1:${port}`, '--quiet');
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/Redis at 127\.0\.0\.1:\d+ refused us: NOAUTH.*give the password in the URL/);
    } finally {
      guarded.kill('SIGKILL');
    }
  });

  it('refuses a bad queue URL naming the flag', () => {
    expect(() => parseQueueUrl('http://x')).toThrow(/--queue: expected a redis:\/\/ or rediss:\/\/ URL/);
    expect(() => parseQueueUrl('redis://h:99999')).toThrow(/--queue/);
    expect(parseQueueUrl('rediss://:s%40cret@example.org:6380/2')).toMatchObject({ host: 'example.org', port: 6380, password: 's@cret', db: 2, tls: {} });
  });
});
