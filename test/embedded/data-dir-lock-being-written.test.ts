// A PGLITE_DATA_DIR lock is created empty (open 'wx') and its pid written by the next call: for that instant another
// opener reads an empty lock. Only the first look waited for the pid; a later look (an opener that had just lost a
// stale-lock takeover, or re-read a lock that vanished) judged the empty lock stale and removed it, and both
// processes opened the directory, the double open the lock exists to prevent. An empty lock is stale only once it
// is old (its opener was killed between the open and the write).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/config.js';
import { openDatabase, PGLITE_LOCK_FILE, type Database } from '../../src/platform/db.js';

let root: string;
let holder: ChildProcess;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'bb-lock-being-written-'));
  // Stands for the other opener: a live process whose pid the lock ends up naming.
  holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
});
afterAll(async () => {
  holder?.kill();
  if (root) await rm(root, { recursive: true, force: true });
});

async function databaseDir(name: string): Promise<string> {
  const dir = path.join(root, name);
  const first = await openDatabase({ pgliteDataDir: dir });
  await first.close();
  return dir;
}

describe('an empty PGLITE_DATA_DIR lock', () => {
  it('when another opener has created it and writes its pid a moment later, then this open waits for the pid and is refused as in use, leaving that lock alone', async () => {
    const dir = await databaseDir('being-written');
    const lock = path.join(dir, PGLITE_LOCK_FILE);
    await writeFile(lock, '');
    // The other opener's write, slower than one 200 ms look (a loaded machine, a slow disk).
    const written = new Promise<void>((resolve) => setTimeout(() => void writeFile(lock, `${holder.pid}\n`).then(resolve), 600));
    let opened: Database | undefined;
    const refused = await openDatabase({ pgliteDataDir: dir }).then((db) => { opened = db; return undefined; }, (error: unknown) => error);
    await written;
    await opened?.close();
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toMatch(new RegExp(`is in use by process ${holder.pid}`));
    expect((await readdir(dir)).filter((name) => name.startsWith(PGLITE_LOCK_FILE))).toEqual([PGLITE_LOCK_FILE]);
  }, 60_000);

  it('when it is old (its opener was killed between the open and the write), then it is taken over and the directory opens', async () => {
    const dir = await databaseDir('left-empty');
    const lock = path.join(dir, PGLITE_LOCK_FILE);
    await writeFile(lock, '');
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(lock, minuteAgo, minuteAgo);
    const db = await openDatabase({ pgliteDataDir: dir });
    await db.close();
    expect((await readdir(dir)).filter((name) => name.startsWith(PGLITE_LOCK_FILE))).toEqual([]);
  }, 60_000);
});

describe('a PGLITE_DATA_DIR lock that cannot be taken in time', () => {
  it('when a takeover of its stale lock was interrupted a moment ago (the taker killed), then the open is refused in one line naming the variable, not with the file system error', async () => {
    const dir = await databaseDir('takeover-interrupted');
    const lock = path.join(dir, PGLITE_LOCK_FILE);
    const dead = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((resolve) => dead.once('exit', resolve));
    await writeFile(lock, `${dead.pid}\n`);
    await writeFile(`${lock}.takeover`, '');
    let opened: Database | undefined;
    const refused = await openDatabase({ pgliteDataDir: dir }).then((db) => { opened = db; return undefined; }, (error: unknown) => error);
    await opened?.close();
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toMatch(/^PGLITE_DATA_DIR: /);
  }, 60_000);
});
