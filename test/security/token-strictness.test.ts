// Tokens that differ from a genuine one, or carry claims a genuine one would not, answer 401 and provision nobody:
// a signature re-spelled without changing its bytes (base64url's spare bits, padding), a null role, an `iat` from
// the future. Found by the authorization audit of 2026-11-25.
import { createHmac, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const now = () => Math.floor(Date.now() / 1000);
const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
function handMade(payload: object): string {
  const unsigned = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(payload)}`;
  return `${unsigned}.${createHmac('sha256', TEST_JWT_SECRET).update(unsigned).digest('base64url')}`;
}
const sign = (sub: string) =>
  new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(sub).setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode(TEST_JWT_SECRET));
const provisioned = async (sub: string) => (await t.runtime.deps.db.query('SELECT 1 FROM users WHERE id = $1', [sub])).rowCount;

async function expectRefused(token: string, why: string) {
  const response = await t.request('GET', '/user/wallet', { token });
  expect(response.status, `${why}: ${response.text}`).toBe(401);
  expect(response.body.code).toBe('unauthorized');
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
}

describe('token strictness', () => {
  it('when a genuine signature is re-spelled (its last character\'s spare bits changed, or padding added), then 401 and nobody is provisioned', async () => {
    const sub = randomUUID();
    const genuine = await sign(sub);
    const last = ALPHABET.indexOf(genuine.at(-1)!);
    // 32 signature bytes take 43 characters: the last carries 2 bits that decode to nothing.
    for (const [why, token] of [
      ['spare bit 1 set', genuine.slice(0, -1) + ALPHABET[last ^ 1]],
      ['spare bit 2 set', genuine.slice(0, -1) + ALPHABET[last ^ 2]],
      ['padding appended', `${genuine}=`],
    ] as const) {
      await expectRefused(token, why);
    }
    expect(await provisioned(sub)).toBe(0);
    expect((await t.request('GET', '/user/wallet', { token: genuine })).status).toBe(200);
  });

  it('when the role claim is null, then 401 (only a missing role means player)', async () => {
    const sub = randomUUID();
    await expectRefused(handMade({ sub, role: null, exp: now() + 600 }), 'role null');
    expect(await provisioned(sub)).toBe(0);
  });

  it('when iat lies beyond the clock leeway in the future, then 401; a few seconds ahead is served', async () => {
    const sub = randomUUID();
    await expectRefused(handMade({ sub, iat: now() + 3600, exp: now() + 7200 }), 'iat an hour ahead');
    await expectRefused(handMade({ sub, iat: now() + 60, exp: now() + 600 }), 'iat a minute ahead');
    await expectRefused(handMade({ sub, iat: 'yesterday', exp: now() + 600 }), 'iat not a number');
    expect(await provisioned(sub)).toBe(0);
    expect((await t.request('GET', '/user/wallet', { token: handMade({ sub, iat: now() + 2, exp: now() + 600 }) })).status).toBe(200);
  });
});
