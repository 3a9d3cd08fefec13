/**
 * A real Redis for the queue tests: `REDIS_URL` if set, else 127.0.0.1:6379 if it answers, else
 * a private `redis-server` started on a free loopback port (stopped after). Only when neither
 * exists are the tests skipped, with a notice; `EVSPIKE_REQUIRE_REDIS=1` (set by .ci/run) turns
 * that skip into a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, Socket } from 'node:net';

/** Whether something answers PING at host:port within `ms`. */
export function redisAnswers(host: string, port: number, ms = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export const hasRedisServer = (): boolean => spawnSync('redis-server', ['--version']).status === 0;

/** A private redis-server on `port`, keeping nothing on disk. */
export async function startRedisServer(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if (await redisAnswers('127.0.0.1', port, 200)) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not start on port ${port}`);
}

export interface TestRedis {
  url: string;
  /** Stop what was started for the tests (nothing for a shared Redis). */
  stop(): Promise<void>;
}

/** The Redis the tests use, or undefined (after a notice) when there is none and none may be started. */
export async function testRedis(): Promise<TestRedis | undefined> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => {} };
  if (await redisAnswers('127.0.0.1', 6379)) return { url: 'redis://127.0.0.1:6379', stop: async () => {} };
  if (hasRedisServer()) {
    const port = await freePort();
    const child = await startRedisServer(port);
    return { url: `redis://127.0.0.1:${port}`, stop: async () => void child.kill('SIGTERM') };
  }
  const notice = 'no Redis: REDIS_URL is unset, nothing answers on 127.0.0.1:6379, and there is no redis-server to start';
  if (process.env.EVSPIKE_REQUIRE_REDIS === '1') throw new Error(`${notice} (EVSPIKE_REQUIRE_REDIS=1)`);
  console.warn(`SKIPPING the queue tests: ${notice}`);
  return undefined;
}
