// SIGTERM while `npm start` with PGLITE_DATA_DIR is still starting (migrating, seeding): the README promises exit 0
// "at any moment, during the start too", and it did exit 0, but left battlebucks.lock naming its pid behind. The next
// start takes a dead pid's lock over, yet once the pid is reused by another program (a long-lived machine, a busy
// container host) the directory is refused as "in use" until someone deletes the file by hand. A process that exits
// on its own (a signal during the start, a refusal to start) must leave the directory unlocked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGLITE_LOCK_FILE } from '../../src/platform/db.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bb-stop-during-start-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const exists = (file: string) => access(file).then(() => true, () => false);

describe('npm start stopped during its start on PGLITE_DATA_DIR', () => {
  it('when SIGTERM arrives once the data directory is locked and before it serves, then it exits 0 and the lock is gone', async () => {
    const dataDir = path.join(dir, 'data');
    const lock = path.join(dataDir, PGLITE_LOCK_FILE);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', PGLITE_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal }));
    });
    try {
      const deadline = Date.now() + 60_000;
      while (!(await exists(lock))) {
        if (Date.now() > deadline) throw new Error('the lock file never appeared');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(stdout).not.toMatch(/Server listening/); // it was stopped during the start, as intended
      expect(await exists(lock)).toBe(false);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 90_000);
});
