// `npm run ledger:verify` on the embedded store: an operator who ran `npm start` with PGLITE_DATA_DIR audits that
// directory once the service is stopped. It used to demand DATABASE_URL and could not look at it at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verifyTool } from './verify-ledger-process.js';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { createRuntime } from '../../src/runtime.js';
import { signToken } from '../../src/platform/auth.js';
import { openDatabase } from '../../src/platform/db.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bb-verify-'));
  const runtime = await createRuntime(
    loadConfig({ PGLITE_DATA_DIR: dir, LOG_LEVEL: 'silent', WORKERS: 'false', RATE_LIMIT_ENABLED: 'false', SEED_DEMO: 'false' }),
    { logger: pino({ level: 'silent' }) },
  );
  try {
    const service = await signToken(runtime.config.jwtSecret, { sub: randomUUID(), role: 'service' }, '1h');
    const granted = await runtime.app.inject({
      method: 'POST', url: '/service/grants',
      headers: { authorization: `Bearer ${service}`, 'idempotency-key': 'verify-tool' },
      payload: { userId: randomUUID(), gems: 700, reason: 'ledger tool test' },
    });
    expect(granted.statusCode).toBe(201);
  } finally {
    await runtime.close();
  }
}, 120_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('npm run ledger:verify on PGLITE_DATA_DIR', () => {
  it('when the stopped service left a sound ledger, then it exits 0 and counts the transfer; when a balance is tampered with, then it exits 1 naming the violation', async () => {
    const sound = verifyTool({ PGLITE_DATA_DIR: dir });
    expect(sound.stderr).toBe('');
    expect(sound.status).toBe(0);
    expect(sound.stdout).toMatch(/ledger: OK \(1 transfers, 1 wallets\)/);

    const db = await openDatabase({ pgliteDataDir: dir });
    try {
      await db.query(`UPDATE ledger_accounts SET balance = balance + 1 WHERE user_id IS NOT NULL`);
    } finally {
      await db.close();
    }
    const tampered = verifyTool({ PGLITE_DATA_DIR: dir });
    expect(tampered.status).toBe(1);
    expect(tampered.stderr).toMatch(/ledger: \d+ violation\(s\) found/);
  }, 120_000);

  it('when neither DATABASE_URL nor PGLITE_DATA_DIR is set, then it exits 2 and names both', () => {
    const result = verifyTool({});
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/DATABASE_URL.*PGLITE_DATA_DIR/);
  });
});
