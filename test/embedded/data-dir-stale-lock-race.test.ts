// Two starts at once on a PGLITE_DATA_DIR whose lock was left by a process that is gone (kill -9, a crash, then a
// supervisor and an operator both starting the service): each read the stale pid, and the slower one's unlink of
// "the stale lock" removed the lock the faster one had just written, so both opened the directory — the double open
// the lock exists to prevent (what one process committed the other overwrote). Found black-box: 1 in 10 pairs of
// processes started at the same instant both opened. Exactly one may open; the others are refused naming the holder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, PGLITE_LOCK_FILE, type Database } from '../../src/platform/db.js';

let root: string;
let deadPid: number;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'bb-stale-lock-race-'));
  deadPid = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('a stale PGLITE_DATA_DIR lock taken over by several opens at once', () => {
  it('when four opens race for a directory whose lock names a dead process, then exactly one opens and the rest are refused as in use', async () => {
    for (let trial = 0; trial < 5; trial++) {
      const dir = path.join(root, `trial-${trial}`);
      // A first open creates the database, as the crashed service had.
      const first = await openDatabase({ pgliteDataDir: dir });
      await first.close();
      await writeFile(path.join(dir, PGLITE_LOCK_FILE), `${deadPid}\n`);
      const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => openDatabase({ pgliteDataDir: dir })));
      const opened = outcomes.filter((outcome): outcome is PromiseFulfilledResult<Database> => outcome.status === 'fulfilled').map((outcome) => outcome.value);
      const refused = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      for (const db of opened) await db.close();
      expect(opened, `trial ${trial}`).toHaveLength(1);
      for (const refusal of refused) expect((refusal.reason as Error).message).toMatch(/is in use by process/);
      expect((await readdir(dir)).filter((name) => name.startsWith(PGLITE_LOCK_FILE))).toEqual([]);
    }
  }, 120_000);
});
