// The processes the benchmark starts (the service, the bare route, pgbench): each is tracked from spawn to exit,
// and every one still running is stopped when the benchmark ends, fails or is interrupted. The Node children also
// exit on their own when their IPC channel closes, which covers the benchmark being killed with SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';

const running = new Set<ChildProcess>();
let installed = false;

export interface Child {
  name: string;
  pid: number;
  process: ChildProcess;
  /** The last lines the child printed (stdout and stderr), for error messages. */
  tail(): string;
  /** SIGTERM, then SIGKILL after graceMs; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

export function installCleanup(log: (line: string) => void): void {
  if (installed) return;
  installed = true;
  // Last resort: synchronous, so it runs even on process.exit() from anywhere.
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      log(`\n${signal}: stopping ${running.size} child process(es)`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => stopProcess(child, 3_000)));
}

async function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export function startChild(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, options: { ipc?: boolean; logFile?: string } = {}): Child {
  const child = spawn(command, args, {
    env,
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  running.add(child);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 60) lines.splice(0, lines.length - 60);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  if (options.logFile) {
    const file = createWriteStream(options.logFile);
    child.stdout?.pipe(file, { end: false });
    child.stderr?.pipe(file, { end: false });
    child.once('exit', () => file.end());
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    });
  });
  return {
    name,
    pid: child.pid,
    process: child,
    tail: () => lines.join('\n'),
    stop: (graceMs = 10_000) => stopProcess(child, graceMs),
    exited,
  };
}

/** Runs a command to completion and returns its stdout; throws with its output when it fails. */
export async function runToEnd(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const child = startChild(name, command, args, env);
  let stdout = '';
  child.process.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  const code = await child.exited;
  if (code !== 0) throw new Error(`${name} exited with ${code}:\n${child.tail()}`);
  return stdout;
}

/** Waits for a Node child's `{ type: 'listening', port }` message. */
export function waitForListening(child: Child, timeoutMs = 120_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${child.name} did not start within ${timeoutMs / 1000} s:\n${child.tail()}`)), timeoutMs);
    child.process.on('message', (message: { type?: string; port?: number }) => {
      if (message?.type === 'listening' && typeof message.port === 'number') {
        clearTimeout(timer);
        resolve(message.port);
      }
    });
    void child.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${child.name} exited with ${code} before listening:\n${child.tail()}`));
    });
  });
}

/** Sends a message to a Node child and waits for the reply of the given type. */
export function request<T>(child: Child, message: object, replyType: string, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${child.name} did not answer ${replyType}`)), timeoutMs);
    const onMessage = (reply: { type?: string }) => {
      if (reply?.type !== replyType) return;
      clearTimeout(timer);
      child.process.off('message', onMessage);
      resolve(reply as T);
    };
    child.process.on('message', onMessage);
    child.process.send(message);
  });
}
