// A private redis-server on a free port, for outage tests: it can be killed and restarted at will without
// touching the machine's shared Redis on 6379.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './processes.js';

export interface PrivateRedis {
  readonly url: string;
  readonly running: boolean;
  /** SIGKILL: the server vanishes mid-conversation. */
  kill(): Promise<void>;
  start(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const redis: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return alive();
    },
    async start() {
      if (alive()) return;
      const spawned = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = spawned;
      await new Promise<void>((resolve, reject) => {
        let output = '';
        const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 10_000);
        spawned.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (/Ready to accept connections/i.test(output)) {
            clearTimeout(timer);
            resolve();
          }
        });
        spawned.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`redis-server exited (${code}): ${output}`));
        });
      });
    },
    async kill() {
      const current = child;
      if (!current || !alive()) return;
      await new Promise<void>((resolve) => {
        current.once('exit', () => resolve());
        current.kill('SIGKILL');
      });
    },
  };
  await redis.start();
  return redis;
}
