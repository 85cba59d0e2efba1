// TokenVerifier remembers tokens it has verified (a player sends the same one with every request). The cache must
// never change an answer: an expired token stops working at the same instant as without it, and only the exact
// string that passed verification is remembered.
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { signToken, TokenVerifier } from '../../src/platform/auth.js';

const SECRET = 'token-cache-test-secret';
// auth.ts gives exp no leeway (RFC 7519 § 4.1.4: not accepted on or after it); nbf keeps a 5 s one.
const NBF_TOLERANCE_MS = 5_000;

afterEach(() => vi.useRealTimers());

// Only Date is faked: jose and the cache read the clock through it; WebCrypto's promises keep running.
const clockAt = (ms: number) => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(ms);
};

describe('verified-token cache', () => {
  it('when a cached token reaches exp, then it is refused as expired from that millisecond on (no leeway)', async () => {
    const verifier = new TokenVerifier(SECRET);
    const sub = randomUUID();
    const token = await signToken(SECRET, { sub }, '10s');
    const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number;

    expect((await verifier.verify(`Bearer ${token}`)).userId).toBe(sub); // verified, now cached
    clockAt(exp * 1000 - 1);
    expect((await verifier.verify(`Bearer ${token}`)).userId).toBe(sub);
    clockAt(exp * 1000);
    await expect(verifier.verify(`Bearer ${token}`)).rejects.toMatchObject({ code: 'unauthorized', message: 'token expired' });
  });

  it('when a token is expired, then a verifier without it cached refuses it at the same millisecond, with the same answer', async () => {
    const token = await signToken(SECRET, { sub: randomUUID() }, '10s');
    const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number;
    const fresh = new TokenVerifier(SECRET);
    clockAt(exp * 1000 - 1);
    await expect(fresh.verify(`Bearer ${token}`)).resolves.toMatchObject({ role: 'player' });
    clockAt(exp * 1000);
    await expect(new TokenVerifier(SECRET).verify(`Bearer ${token}`)).rejects.toMatchObject({ code: 'unauthorized', message: 'token expired' });
    clockAt(exp * 1000 + 1000);
    await expect(new TokenVerifier(SECRET).verify(`Bearer ${token}`)).rejects.toMatchObject({ code: 'unauthorized', message: 'token expired' });
  });

  it('when a token is not valid before a moment a few seconds ahead (an identity provider whose clock runs ahead), then the nbf leeway still accepts it', async () => {
    const nbf = Math.floor(Date.now() / 1000) + 10;
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(randomUUID()).setNotBefore(nbf).setExpirationTime(nbf + 600).sign(new TextEncoder().encode(SECRET));
    clockAt(nbf * 1000 - NBF_TOLERANCE_MS + 1000);
    await expect(new TokenVerifier(SECRET).verify(`Bearer ${token}`)).resolves.toMatchObject({ role: 'player' });
    clockAt(nbf * 1000 - NBF_TOLERANCE_MS - 1000);
    await expect(new TokenVerifier(SECRET).verify(`Bearer ${token}`)).rejects.toMatchObject({ code: 'unauthorized', message: 'invalid token' });
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
