import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { upsertUserWithWallet } from '../../src/modules/users/users.repository.js';
import { createUsersService } from '../../src/modules/users/users.service.js';
import type { Database } from '../../src/platform/db.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const userRow = async (id: string) =>
  (await t.runtime.deps.db.query<{ email: string | null; name: string | null; xmin: string }>('SELECT email, name, xmin::text FROM users WHERE id = $1', [id])).rows[0];
const walletCount = async (id: string) =>
  (await t.runtime.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger_accounts WHERE user_id = $1', [id])).rows[0]!.n;

describe('just-in-time user provisioning', () => {
  it('when twenty first requests of a new player arrive at once, then one user and one wallet exist', async () => {
    const player = await t.player({ name: 'Racer' });
    const responses = await Promise.all(Array.from({ length: 20 }, () => t.request('GET', '/user/wallet', { token: player.token })));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(responses.every((r) => r.body.balance === 0)).toBe(true);
    expect(await walletCount(player.id)).toBe(1);
    expect((await userRow(player.id))?.name).toBe('Racer');
  });

  it('when the token carries a new email or name, then the user record follows it', async () => {
    const player = await t.player({ name: 'Before' });
    await t.request('GET', '/user/wallet', { token: player.token });
    const renamed = await t.token('player', player.id, { email: 'after@players.test', name: 'After' });
    expect((await t.request('GET', '/user/wallet', { token: renamed })).status).toBe(200);
    expect(await userRow(player.id)).toMatchObject({ email: 'after@players.test', name: 'After' });
  });

  it('when the claims have not changed, then provisioning writes nothing (the row version stays the same)', async () => {
    const id = crypto.randomUUID();
    const claims = { id, email: 'same@players.test', name: 'Same' };
    await upsertUserWithWallet(t.runtime.deps.db, claims);
    const before = await userRow(id);
    await upsertUserWithWallet(t.runtime.deps.db, claims);
    expect((await userRow(id))?.xmin).toBe(before?.xmin);
    await upsertUserWithWallet(t.runtime.deps.db, { ...claims, name: 'Changed' });
    expect((await userRow(id))?.xmin).not.toBe(before?.xmin);
    expect(await walletCount(id)).toBe(1);
  });

  it('when a service granted to a user who never logged in, then their first login keeps the wallet and fills the profile', async () => {
    const id = crypto.randomUUID();
    const grant = await t.request('POST', '/service/grants', {
      token: t.serviceToken,
      headers: { 'idempotency-key': crypto.randomUUID() },
      body: { userId: id, gems: 40, reason: 'tournament reward' },
    });
    expect(grant.status).toBe(201);
    const token = await t.token('player', id, { email: 'late@players.test', name: 'Late' });
    expect((await t.request('GET', '/user/wallet', { token })).body.balance).toBe(40);
    expect(await userRow(id)).toMatchObject({ email: 'late@players.test', name: 'Late' });
    expect(await walletCount(id)).toBe(1);
  });

  it('when a grant creates the user at the very moment of their first login, then the profile still follows the token', async () => {
    const id = crypto.randomUUID();
    // The grant's transaction has inserted the bare user (no email, no name) and not committed yet.
    const grant = new pg.Client({ connectionString: t.config.databaseUrl });
    await grant.connect();
    try {
      await grant.query('BEGIN');
      await grant.query('INSERT INTO users (id) VALUES ($1)', [id]);
      await grant.query(`INSERT INTO ledger_accounts (kind, user_id) VALUES ('user_wallet', $1)`, [id]);
      const token = await t.token('player', id, { email: 'racing@players.test', name: 'Racing' });
      const login = t.request('GET', '/user/wallet', { token });
      // The login's insert waits on the grant's row lock; let it get there, then commit the grant.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await grant.query('COMMIT');
      expect((await login).status).toBe(200);
    } finally {
      await grant.end();
    }
    expect(await userRow(id)).toMatchObject({ email: 'racing@players.test', name: 'Racing' });
    expect(await walletCount(id)).toBe(1);
  });
});

describe('provisioning under racing claims', () => {
  it('when two tokens with different claims race and the answers arrive in the other order than the writes, then the next request still writes its claims', async () => {
    // A stand-in database: each upsert lands at `applyAt` ms and answers at `answerAt` ms.
    const stored = new Map<string, string | null>();
    const timings: Array<[number, number]> = [[10, 40], [20, 25]];
    const db = {
      query: async (_sql: string, params: unknown[]) => {
        const [applyAt, answerAt] = timings.shift() ?? [0, 0];
        setTimeout(() => stored.set(params[0] as string, params[1] as string | null), applyAt);
        await new Promise((resolve) => setTimeout(resolve, answerAt));
        return { rows: [{ seen: true }] };
      },
    } as unknown as Database;
    const users = createUsersService(db);
    const id = crypto.randomUUID();
    const as = (email: string) => ({ userId: id, role: 'player' as const, email, name: null });

    // a@ is written first and answered last, b@ written last and answered first: the row holds b@.
    await Promise.all([users.provision(as('a@players.test')), users.provision(as('b@players.test'))]);
    expect(stored.get(id)).toBe('b@players.test');
    await users.provision(as('a@players.test'));
    expect(stored.get(id)).toBe('a@players.test');
  });
});
