// The user record follows the newest token's email/name (API.md: "the identity provider owns email and name"), with
// several instances on one database, each remembering what it stored (users.service.ts), and older tokens of the
// same player still in use. Claims are ordered by the token's `iat` (users.claims_issued_at).
import { SignJWT } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from '../support/app.js';
import { upsertUserWithWallet } from '../../src/modules/users/users.repository.js';

let a: TestApp;
let b: TestApp;
beforeAll(async () => {
  a = await startTestApp();
  b = await startTestApp({ databaseUrl: a.config.databaseUrl });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

const now = () => Math.floor(Date.now() / 1000);

/** A player token issued `ageS` seconds ago (no `iat` at all when ageS is null), valid for another hour. */
function tokenIssued(sub: string, ageS: number | null, claims: { email?: string; name?: string }): Promise<string> {
  const jwt = new SignJWT({ role: 'player', ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(sub);
  if (ageS !== null) jwt.setIssuedAt(now() - ageS);
  return jwt.setExpirationTime(now() + 3600).sign(new TextEncoder().encode(TEST_JWT_SECRET));
}

const userRow = async (id: string) =>
  (
    await a.runtime.deps.db.query<{ email: string | null; name: string | null; xmin: string; issued: number | null }>(
      'SELECT email, name, xmin::text, extract(epoch FROM claims_issued_at)::float8 AS issued FROM users WHERE id = $1',
      [id],
    )
  ).rows[0];

async function wallet(app: TestApp, token: string): Promise<void> {
  const response = await app.request('GET', '/user/wallet', { token });
  expect(response.status).toBe(200);
}

describe('claims across two instances', () => {
  it('when an older token with the old email reaches the other instance, then the newer token\'s email stays stored', async () => {
    const id = crypto.randomUUID();
    const older = await tokenIssued(id, 600, { email: 'old@players.test', name: 'Old' });
    const newer = await tokenIssued(id, 60, { email: 'new@players.test', name: 'New' });

    await wallet(a, newer); // A stores the new email and remembers it
    await wallet(b, older); // B has no memo: the old token must not write the old email back
    await wallet(a, newer); // A's memo matches: it writes nothing
    expect(await userRow(id)).toMatchObject({ email: 'new@players.test', name: 'New' });
  });

  it('when the email changes back and a token from in between is still in use, then the newest token\'s email stays stored', async () => {
    const id = crypto.randomUUID();
    const first = await tokenIssued(id, 900, { email: 'first@players.test' });
    const between = await tokenIssued(id, 600, { email: 'between@players.test' });
    const latest = await tokenIssued(id, 60, { email: 'first@players.test' });

    await wallet(a, first);
    await wallet(a, latest); // same claims as stored, but newer: its issue time is recorded
    await wallet(b, between); // older than the latest token: changes nothing
    await wallet(a, latest);
    expect((await userRow(id))?.email).toBe('first@players.test');
  });

  it('when a newer token reaches the other instance, then its claims replace the older ones (and the older token does not bring them back)', async () => {
    const id = crypto.randomUUID();
    const older = await tokenIssued(id, 600, { email: 'old@players.test' });
    const newer = await tokenIssued(id, 60, { email: 'new@players.test' });

    await wallet(a, older);
    await wallet(b, newer);
    expect((await userRow(id))?.email).toBe('new@players.test');
    await wallet(a, older);
    await wallet(b, older);
    expect((await userRow(id))?.email).toBe('new@players.test');
  });
});

describe('claims ordered by issue time in the database', () => {
  it('when a newer token\'s write holds the row and an older one waits for it, then the newer claims stay (either commit order)', async () => {
    for (const newerFirst of [true, false]) {
      const id = crypto.randomUUID();
      const issued = now() - 1000;
      await upsertUserWithWallet(a.runtime.deps.db, { id, email: 'start@players.test', name: null, iat: issued });
      const holder = new pg.Client({ connectionString: a.config.databaseUrl });
      await holder.connect();
      try {
        const first = newerFirst ? { email: 'newer@players.test', iat: issued + 200 } : { email: 'older@players.test', iat: issued + 100 };
        const second = newerFirst ? { email: 'older@players.test', iat: issued + 100 } : { email: 'newer@players.test', iat: issued + 200 };
        await holder.query('BEGIN');
        await upsertUserWithWallet(holder, { id, name: null, ...first });
        // The second write waits on the first's row lock, then re-reads the row the first committed.
        const waiting = upsertUserWithWallet(a.runtime.deps.db, { id, name: null, ...second });
        await new Promise((resolve) => setTimeout(resolve, 300));
        await holder.query('COMMIT');
        await waiting;
      } finally {
        await holder.end();
      }
      expect(await userRow(id)).toMatchObject({ email: 'newer@players.test', issued: issued + 200 });
    }
  });

  it('when the claims and the issue time are unchanged, or the token is older, then provisioning writes nothing', async () => {
    const id = crypto.randomUUID();
    const issued = now() - 1000;
    const claims = { id, email: 'same@players.test', name: 'Same' };
    await upsertUserWithWallet(a.runtime.deps.db, { ...claims, iat: issued });
    const stored = await userRow(id);
    await upsertUserWithWallet(a.runtime.deps.db, { ...claims, iat: issued });
    await upsertUserWithWallet(a.runtime.deps.db, { ...claims, email: 'older@players.test', iat: issued - 1 });
    await upsertUserWithWallet(a.runtime.deps.db, { ...claims, email: 'unordered@players.test' });
    expect(await userRow(id)).toEqual(stored);
    // A newer token with the same claims records its issue time once.
    await upsertUserWithWallet(a.runtime.deps.db, { ...claims, iat: issued + 10 });
    const bumped = await userRow(id);
    expect(bumped).toMatchObject({ email: 'same@players.test', issued: issued + 10 });
    expect(bumped?.xmin).not.toBe(stored?.xmin);
    await upsertUserWithWallet(a.runtime.deps.db, { ...claims, iat: issued + 10 });
    expect((await userRow(id))?.xmin).toBe(bumped?.xmin);
  });

  it('when tokens carry no iat, then they follow each other as before until a token with iat has written', async () => {
    const id = crypto.randomUUID();
    await wallet(a, await tokenIssued(id, null, { email: 'one@players.test' }));
    await wallet(b, await tokenIssued(id, null, { email: 'two@players.test' }));
    expect(await userRow(id)).toMatchObject({ email: 'two@players.test', issued: null });
    await wallet(a, await tokenIssued(id, 600, { email: 'ordered@players.test' }));
    expect((await userRow(id))?.email).toBe('ordered@players.test');
    await wallet(b, await tokenIssued(id, null, { email: 'three@players.test' }));
    expect((await userRow(id))?.email).toBe('ordered@players.test');
  });

  it('when a grant created the user bare, then the first token fills the profile whatever its issue time', async () => {
    const id = crypto.randomUUID();
    const grant = await a.request('POST', '/service/grants', {
      token: a.serviceToken,
      headers: { 'idempotency-key': crypto.randomUUID() },
      body: { userId: id, gems: 5, reason: 'bare user' },
    });
    expect(grant.status).toBe(201);
    await wallet(b, await tokenIssued(id, 3000, { email: 'late@players.test', name: 'Late' }));
    expect(await userRow(id)).toMatchObject({ email: 'late@players.test', name: 'Late' });
  });

  it('when a token\'s iat is before 1970, then it is served and orders nothing (no 500)', async () => {
    const id = crypto.randomUUID();
    const token = await new SignJWT({ role: 'player', email: 'ancient@players.test' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(id)
      .setIssuedAt(-1e12)
      .setExpirationTime(now() + 3600)
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    await wallet(a, token);
    expect(await userRow(id)).toMatchObject({ email: 'ancient@players.test', issued: null });
  });
});
