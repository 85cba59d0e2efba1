// OWASP API2:2023 Broken Authentication. Tokens are HS256 JWTs; every way of getting one wrong answers 401
// problem+json `unauthorized`, on a player route, an admin route and a service route alike, and creates nothing.
import { createHmac, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from '../support/app.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function handMade(header: object, payload: object, secret: string | null): string {
  const unsigned = `${b64url(header)}.${b64url(payload)}`;
  if (secret === null) return `${unsigned}.`;
  return `${unsigned}.${createHmac(header && (header as { alg?: string }).alg === 'HS512' ? 'sha512' : 'sha256', secret).update(unsigned).digest('base64url')}`;
}

async function sign(claims: Record<string, unknown>, options: { secret?: string; exp?: number; sub?: string | null } = {}): Promise<string> {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt().setExpirationTime(options.exp ?? now() + 600);
  if (options.sub !== null) jwt = jwt.setSubject(options.sub ?? randomUUID());
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}

async function badTokens(): Promise<Array<[string, string]>> {
  const valid = await sign({ role: 'admin' });
  const [header, payload] = valid.split('.');
  const sub = randomUUID();
  return [
    ['expired an hour ago', await sign({ role: 'admin' }, { exp: now() - 3600 })],
    ['expired a second ago (no leeway on exp)', await sign({ role: 'admin' }, { exp: now() - 1 })],
    ['expiring this very second', await sign({ role: 'admin' }, { exp: now() })],
    ['signed with another secret', await sign({ role: 'admin' }, { secret: 'not-the-secret-at-all-not-the-secret' })],
    ['payload swapped after signing (role escalated)', `${header}.${b64url({ sub, role: 'admin', exp: now() + 600 })}.${valid.split('.')[2]}`],
    ['signature flipped', `${header}.${payload}.${valid.split('.')[2]!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}`],
    ['alg none, no signature', handMade({ alg: 'none', typ: 'JWT' }, { sub, role: 'admin', exp: now() + 600 }, null)],
    ['alg NONE with a signature', handMade({ alg: 'NONE', typ: 'JWT' }, { sub, role: 'admin', exp: now() + 600 }, TEST_JWT_SECRET)],
    ['HS512 with the right secret (algorithm not pinned)', handMade({ alg: 'HS512', typ: 'JWT' }, { sub, role: 'admin', exp: now() + 600 }, TEST_JWT_SECRET)],
    ['no sub claim', await sign({ role: 'admin' }, { sub: null })],
    ['sub not a UUID', await sign({ role: 'admin' }, { sub: 'admin' })],
    ['sub is SQL', await sign({ role: 'admin' }, { sub: "' OR 1=1 --" })],
    ['unknown role', await sign({ role: 'superuser' })],
    ['role not a string', await sign({ role: ['admin'] })],
    ['not a JWT', 'definitely-not-a-jwt'],
    ['two segments', `${header}.${payload}`],
    ['8 KB of garbage', 'a'.repeat(9000)],
  ];
}

const ROUTES: Array<[string, string, unknown?]> = [
  ['GET', '/user/wallet'],
  ['GET', '/admin/orders'],
  ['POST', '/service/grants', { userId: randomUUID(), gems: 1000000, reason: 'free money' }],
];

describe('API2 authentication', () => {
  it('when a token is expired, forged, unsigned, signed with another secret or algorithm, or carries a bad sub or role, then every route answers 401', async () => {
    for (const [why, token] of await badTokens()) {
      for (const [method, path, body] of ROUTES) {
        const response = await t.request(method, path, { token, body, headers: { 'idempotency-key': randomUUID() } });
        expect(response.status, `${why} on ${method} ${path}: ${response.text}`).toBe(401);
        expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(response.body.code).toBe('unauthorized');
      }
    }
    const { rows } = await t.runtime.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM grants');
    expect(rows[0]!.n).toBe(0);
  });

  it('when the Authorization header is missing or not a bearer token, then 401', async () => {
    const token = await sign({ role: 'player' });
    for (const authorization of [undefined, '', 'Bearer', 'Bearer ', `Basic ${token}`, `Token ${token}`, `Bearer ${token} extra`, `${token}`]) {
      const response = await t.request('GET', '/user/wallet', { headers: authorization === undefined ? {} : { authorization } });
      expect(response.status, `Authorization: ${authorization}`).toBe(401);
      expect(response.body.code).toBe('unauthorized');
    }
  });

  it('when a valid player token has no role claim, then it is a player: it reads its wallet and is refused admin routes', async () => {
    const token = await sign({});
    expect((await t.request('GET', '/user/wallet', { token })).status).toBe(200);
    const admin = await t.request('GET', '/admin/orders', { token });
    expect(admin.status).toBe(403);
    expect(admin.body.code).toBe('forbidden');
  });

  it('when a valid token carries an email or name with a NUL character, then the request succeeds and the claim is not stored', async () => {
    const sub = randomUUID();
    const token = await sign({ email: 'a\u0000b@players.test', name: 'N\u0000' }, { sub });
    const response = await t.request('GET', '/user/wallet', { token });
    expect(response.status).toBe(200);
    const { rows } = await t.runtime.deps.db.query('SELECT email, name FROM users WHERE id = $1', [sub]);
    expect(rows).toEqual([{ email: null, name: null }]);
  });

  it('when a rejected token is used, then the user it names is not provisioned', async () => {
    const sub = randomUUID();
    await t.request('GET', '/user/wallet', { token: await sign({ role: 'player' }, { sub, secret: 'wrong-secret-wrong-secret-wrong' }) });
    await t.request('GET', '/user/wallet', { token: await sign({ role: 'player' }, { sub, exp: now() - 60 }) });
    const { rows } = await t.runtime.deps.db.query('SELECT 1 FROM users WHERE id = $1', [sub]);
    expect(rows).toEqual([]);
  });
});
