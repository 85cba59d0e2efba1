// The service as real child processes, so a test can do to it what production does: SIGKILL (an OOM kill, a
// node vanishing) and SIGTERM (a deploy). A child is `node --import tsx src/main.ts` — the same program as
// `tsx src/main.ts`, but one process: the tsx CLI forks a second node and a SIGKILL to the CLI would orphan the
// server — or, when restarts must be quick, src/main.ts bundled once by esbuild (the transform tsx itself
// applies), which starts about twice as fast on a loaded machine. Children get their own process group and are
// killed as a group, and every child still alive when the harness exits is killed too, so a failing test never
// leaves a server behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServiceBuild {
  /** The bundled entry point: run with `node <entry>`. */
  entry: string;
  dispose(): Promise<void>;
}

/**
 * Bundles src/main.ts (dependencies stay external, resolved from the repo's node_modules). The bundle sits in
 * tools/chaos/.build/<random>/ beside a link to the migrations, which migrate.ts finds next to itself.
 */
export async function buildService(): Promise<ServiceBuild> {
  const { build } = await import('esbuild');
  const dir = join(REPO_ROOT, 'tools', 'chaos', '.build', randomBytes(6).toString('hex'));
  await mkdir(dir, { recursive: true });
  const entry = join(dir, 'main.mjs');
  await build({ entryPoints: [join(REPO_ROOT, 'src', 'main.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: entry, logLevel: 'warning', target: 'node20' });
  await symlink(join(REPO_ROOT, 'src', 'db', 'migrations'), join(dir, 'migrations'));
  return { entry, dispose: () => rm(dir, { recursive: true, force: true }) };
}

export type ServiceRole = 'api' | 'worker';

export interface ServiceProcess {
  readonly name: string;
  readonly role: ServiceRole;
  /** API only: http://127.0.0.1:<port>, the same across restarts. */
  readonly baseUrl: string;
  readonly running: boolean;
  /** Every start, counted from 1. */
  readonly starts: number;
  /** How each run ended: exit code, or the signal that killed it. */
  readonly exits: ReadonlyArray<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Every log line (pino JSON) of every run, in order. */
  readonly logs: readonly string[];
  start(): Promise<void>;
  /** Sends `signal` to the process group and resolves with how the process ended. */
  kill(signal: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when a log line from index `from` on matches (lines already seen count). */
  waitForLog(pattern: RegExp, timeoutMs?: number, from?: number): Promise<string>;
}

const alive = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of alive) killGroup(child, 'SIGKILL');
  });
}

/** Kills every child this process started and has not seen exit (afterAll's last line of defence). */
export async function killAllChildren(): Promise<void> {
  const pending = [...alive].map((child) => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    killGroup(child, 'SIGKILL');
  }));
  await Promise.all(pending);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ServiceOptions {
  name: string;
  role: ServiceRole;
  /** Environment of the child on top of PATH/HOME; PORT and WORKERS are set from role and port. */
  env: Record<string, string>;
  /** API only. */
  port?: number;
  /** An API that also runs the workers (WORKERS=true). */
  workersInApi?: boolean;
  /** A bundle from buildService(); unset: `node --import tsx src/main.ts`. */
  build?: ServiceBuild;
  readyTimeoutMs?: number;
}

export function serviceProcess(options: ServiceOptions): ServiceProcess {
  installExitHook();
  const port = options.port ?? 0;
  const baseUrl = options.role === 'api' ? `http://127.0.0.1:${port}` : '';
  const logs: string[] = [];
  const exits: Array<{ code: number | null; signal: NodeJS.Signals | null }> = [];
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  let child: ChildProcess | undefined;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  let starts = 0;

  const onLine = (line: string) => {
    logs.push(line);
    for (const waiter of waiters) {
      if (waiter.pattern.test(line)) {
        waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  };

  const pipeLines = (stream: NodeJS.ReadableStream | null) => {
    let buffered = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) onLine(line);
    });
  };

  const service: ServiceProcess = {
    name: options.name,
    role: options.role,
    baseUrl,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    get starts() {
      return starts;
    },
    exits,
    logs,

    async start() {
      if (service.running) throw new Error(`${options.name} is already running`);
      starts++;
      const firstLine = logs.length;
      const workers = options.role === 'worker' ? 'only' : options.workersInApi ? 'true' : 'false';
      const args = options.build ? [options.build.entry] : ['--import', 'tsx', 'src/main.ts'];
      const spawned = spawn(process.execPath, args, {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'production', ...options.env, PORT: String(port), HOST: '127.0.0.1', WORKERS: workers },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = spawned;
      alive.add(spawned);
      pipeLines(spawned.stdout);
      pipeLines(spawned.stderr);
      exited = new Promise((resolve) => {
        spawned.once('exit', (code, signal) => {
          alive.delete(spawned);
          exits.push({ code, signal });
          resolve({ code, signal });
        });
      });

      const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
      const failIfExited = () => {
        if (spawned.exitCode !== null || spawned.signalCode !== null) {
          throw new Error(`${options.name} exited during start (${spawned.exitCode ?? spawned.signalCode}):\n${logs.slice(-20).join('\n')}`);
        }
      };
      if (options.role === 'worker') {
        const ready = service.waitForLog(/worker process started/, options.readyTimeoutMs ?? 60_000, firstLine);
        await Promise.race([ready, exited.then(() => failIfExited())]);
        return;
      }
      for (;;) {
        failIfExited();
        const ready = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status === 200, () => false);
        if (ready) return;
        if (Date.now() > deadline) {
          killGroup(spawned, 'SIGKILL');
          throw new Error(`${options.name} was not ready within ${options.readyTimeoutMs ?? 60_000} ms:\n${logs.slice(-20).join('\n')}`);
        }
        await sleep(100);
      }
    },

    async kill(signal, timeoutMs = 45_000) {
      const current = child;
      if (!current || !exited || !service.running) return exits.at(-1) ?? { code: null, signal: null };
      killGroup(current, signal);
      const timer = setTimeout(() => killGroup(current, 'SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },

    waitForLog(pattern, timeoutMs = 30_000, from = 0) {
      const seen = logs.slice(from).find((line) => pattern.test(line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { pattern, resolve: (line: string) => { clearTimeout(timer); resolve(line); } };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`${options.name}: no log line matching ${pattern} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
  return service;
}
