// TokenVerifier remembers tokens it has verified (a player sends the same one with every request). The cache must
// never change an answer: an expired token stops working at the same instant as without it, and only the exact
// string that passed verification is remembered.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { signToken, TokenVerifier } from '../../src/platform/auth.js';

const SECRET = 'token-cache-test-secret';
const TOLERANCE_MS = 5_000; // jose's clockTolerance in auth.ts

afterEach(() => vi.useRealTimers());

// Only Date is faked: jose and the cache read the clock through it; WebCrypto's promises keep running.
const clockAt = (ms: number) => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(ms);
};

describe('verified-token cache', () => {
  it('when a cached token reaches exp plus the tolerance, then it is refused as expired from that millisecond on', async () => {
    const verifier = new TokenVerifier(SECRET);
    const sub = randomUUID();
    const token = await signToken(SECRET, { sub }, '10s');
    const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number;

    expect((await verifier.verify(`Bearer ${token}`)).userId).toBe(sub); // verified, now cached
    clockAt(exp * 1000 + TOLERANCE_MS - 1);
    expect((await verifier.verify(`Bearer ${token}`)).userId).toBe(sub);
    clockAt(exp * 1000 + TOLERANCE_MS);
    await expect(verifier.verify(`Bearer ${token}`)).rejects.toMatchObject({ code: 'unauthorized', message: 'token expired' });
  });

  it('when a token is expired, then a verifier without it cached refuses it at the same millisecond, with the same answer', async () => {
    const token = await signToken(SECRET, { sub: randomUUID() }, '10s');
    const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number;
    const fresh = new TokenVerifier(SECRET);
    clockAt(exp * 1000 + TOLERANCE_MS - 1);
    await expect(fresh.verify(`Bearer ${token}`)).resolves.toMatchObject({ role: 'player' });
    clockAt(exp * 1000 + TOLERANCE_MS);
    await expect(new TokenVerifier(SECRET).verify(`Bearer ${token}`)).rejects.toMatchObject({ code: 'unauthorized', message: 'token expired' });
  });

  it('when a genuine token is cached, then the same token with its payload or signature altered is still refused', async () => {
    const verifier = new TokenVerifier(SECRET);
    const token = await signToken(SECRET, { sub: randomUUID() }, '1h');
    await verifier.verify(`Bearer ${token}`);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const escalated = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), role: 'admin' })).toString('base64url');
    await expect(verifier.verify(`Bearer ${header}.${escalated}.${signature}`)).rejects.toMatchObject({ code: 'unauthorized' });
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    await expect(verifier.verify(`Bearer ${header}.${payload}.${flipped}`)).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it('when a token was signed with another secret, then a verifier that cached tokens of its own refuses it', async () => {
    const verifier = new TokenVerifier(SECRET);
    const sub = randomUUID();
    await verifier.verify(`Bearer ${await signToken(SECRET, { sub }, '1h')}`);
    const foreign = await signToken('another-secret', { sub }, '1h');
    await expect(verifier.verify(`Bearer ${foreign}`)).rejects.toMatchObject({ code: 'unauthorized', message: 'invalid token' });
  });
});
