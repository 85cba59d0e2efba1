// PGLITE_DATA_DIR: one process at a time. PGlite is PostgreSQL inside the process, with no postmaster.pid to keep a
// second server off the files; two instances on one directory each committed into their own buffers and one lost
// the other's writes. The directory is locked; a lock whose process is gone is taken over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/config.js';
import { openDatabase, PGLITE_LOCK_FILE, type Database } from '../../src/platform/db.js';

let dir: string;
const lockFile = () => path.join(dir, PGLITE_LOCK_FILE);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bb-pglite-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('an embedded data directory', () => {
  it('when it is open, then a second open (this process or another `npm start`) is refused, naming the variable; after close it opens again with the data', async () => {
    const first = await openDatabase({ pgliteDataDir: dir });
    let second: Database | undefined;
    try {
      await first.query('CREATE TABLE kept (n int)');
      await first.query('INSERT INTO kept VALUES (1)');
      expect(await readFile(lockFile(), 'utf8')).toBe(`${process.pid}\n`);
      const refused = await openDatabase({ pgliteDataDir: dir }).then((db) => { second = db; return undefined; }, (error: unknown) => error);
      expect(refused).toBeInstanceOf(ConfigError);
      expect((refused as Error).message).toMatch(/^PGLITE_DATA_DIR: .* is in use by process \d+/);

      // The service itself: exit code 1 and the one-line refusal, before it listens or writes anything.
      const started = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), PGLITE_DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(started.status).toBe(1);
      expect(started.stderr).toMatch(/battlebucks-store: cannot start: PGLITE_DATA_DIR: .* is in use by process/);
    } finally {
      await second?.close();
      await first.close();
    }
    await expect(readFile(lockFile(), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });

    const again = await openDatabase({ pgliteDataDir: dir });
    try {
      expect((await again.query('SELECT n FROM kept')).rows).toEqual([{ n: 1 }]);
    } finally {
      await again.close();
    }
  }, 90_000);

  it('when the lock was left by a process that is gone (kill -9), or names this pid without being ours (a container pid 1 restarted), then it is taken over', async () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    for (const holder of [Number(gone.stdout), process.pid]) {
      await writeFile(lockFile(), `${holder}\n`);
      const db = await openDatabase({ pgliteDataDir: dir });
      try {
        expect(await readFile(lockFile(), 'utf8')).toBe(`${process.pid}\n`);
        expect((await db.query('SELECT n FROM kept')).rows).toEqual([{ n: 1 }]);
      } finally {
        await db.close();
      }
    }
  }, 60_000);
});
