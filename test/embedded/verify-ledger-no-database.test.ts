// `npm run ledger:verify` with a PGLITE_DATA_DIR that holds no embedded database (a typo, the wrong directory): the
// read-only audit used to create a brand-new empty PostgreSQL cluster at that path and then fail with a stack trace
// ('relation "ledger_transfers" does not exist'), leaving the stray cluster behind. It must say what is wrong in one
// line, exit 2 and write nothing. A directory the running service holds is refused in one line too, not a stack trace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verifyTool } from './verify-ledger-process.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'bb-verify-nodb-'));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('npm run ledger:verify on a PGLITE_DATA_DIR without a database', () => {
  it('when the directory does not exist, then it exits 2 with one line naming PGLITE_DATA_DIR and creates nothing', () => {
    const missing = path.join(root, 'typo', 'data');
    const result = verifyTool({ PGLITE_DATA_DIR: missing });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/PGLITE_DATA_DIR: .*typo.* holds no embedded database/);
    expect(existsSync(path.join(root, 'typo'))).toBe(false);
  }, 60_000);

  it('when the directory is empty, then it exits 2 and leaves it empty', async () => {
    const empty = path.join(root, 'empty');
    await mkdir(empty);
    const result = verifyTool({ PGLITE_DATA_DIR: empty });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/holds no embedded database/);
    expect(await readdir(empty)).toEqual([]);
  }, 60_000);

  it('when a running service holds the directory, then it exits 2 with the one-line refusal, no stack trace', async () => {
    const held = path.join(root, 'held');
    await mkdir(held);
    await writeFile(path.join(held, 'PG_VERSION'), '17\n');
    await writeFile(path.join(held, 'battlebucks.lock'), `${process.pid}\n`); // this test's process: alive
    const result = verifyTool({ PGLITE_DATA_DIR: held });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/is in use by process/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
