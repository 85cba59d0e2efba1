// PGLITE_DATA_DIR naming a directory that holds other files and no database (`PGLITE_DATA_DIR=.` in the repository,
// `$HOME`, a project folder): PGlite's initdb ignores "exists but is not empty", so the service used to start and
// scatter a PostgreSQL cluster (base/, global/, pg_wal/, postgresql.conf … 24 entries) among the user's files.
// PostgreSQL's own initdb refuses such a directory; so must the service, with one line naming the variable and
// nothing written. An empty directory, one holding only dotfiles or a volume's lost+found, and an existing embedded
// database still open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/platform/db.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'bb-datadir-foreign-'));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('PGLITE_DATA_DIR holding files that are not a database', () => {
  it('when the directory holds a user\'s files, then the open is refused naming the variable, and nothing is written there', async () => {
    const project = path.join(root, 'project');
    await mkdir(path.join(project, 'src'), { recursive: true });
    await writeFile(path.join(project, 'README.md'), '# my project\n');
    const opened = await openDatabase({ pgliteDataDir: project }).then(
      async (db) => { await db.close(); return undefined; },
      (error: unknown) => error as Error,
    );
    expect(opened?.message).toMatch(/PGLITE_DATA_DIR: .*project.* holds other files and no embedded database/);
    expect((await readdir(project)).sort()).toEqual(['README.md', 'src']);
  }, 60_000);

  it('when npm start is pointed at it, then it exits 1 with one line on stderr', async () => {
    const project = path.join(root, 'project2');
    await mkdir(project);
    await writeFile(path.join(project, 'notes.txt'), 'keep me\n');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', PGLITE_DATA_DIR: project },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
    // The old code started and served: stop it rather than leave it running.
    const timer = setTimeout(() => child.kill('SIGTERM'), 30_000);
    const code = await exited.finally(() => clearTimeout(timer));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^battlebucks-store: cannot start: PGLITE_DATA_DIR: .*project2.* holds other files and no embedded database/m);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(await readdir(project)).toEqual(['notes.txt']);
  }, 60_000);

  it('when the directory is empty or holds only dotfiles and lost+found, then a database is created there and reopens', async () => {
    const volume = path.join(root, 'volume');
    await mkdir(path.join(volume, 'lost+found'), { recursive: true });
    await writeFile(path.join(volume, '.gitkeep'), '');
    const db = await openDatabase({ pgliteDataDir: volume });
    try {
      await db.query('CREATE TABLE kept (v int)');
      await db.query('INSERT INTO kept VALUES (7)');
    } finally {
      await db.close();
    }
    const again = await openDatabase({ pgliteDataDir: volume });
    try {
      expect((await again.query<{ v: number }>('SELECT v FROM kept')).rows).toEqual([{ v: 7 }]);
    } finally {
      await again.close();
    }
  }, 60_000);
});
