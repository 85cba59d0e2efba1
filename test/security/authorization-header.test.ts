// The Authorization header as a hostile or unusual client sends it: twice, with a token as large as the HTTP
// server accepts. A request must name exactly one identity; a genuine token is not refused for its size alone.
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/platform/auth.js';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

/** Sends one raw HTTP/1.1 request and reads the answer until the server closes the connection. */
function raw(lines: string[]): Promise<{ status: number; headers: string; body: any }> {
  const { hostname, port } = new URL(t.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(`${[...lines, 'Host: x', 'Connection: close'].join('\r\n')}\r\n\r\n`));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = Buffer.concat(chunks).toString('utf8').split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = undefined;
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers: headerLines.join('\n').toLowerCase(), body: parsed });
    });
  });
}

const usersNamed = async (ids: string[]) =>
  (await t.runtime.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE id = ANY($1::uuid[])', [ids])).rows[0]!.n;

describe('two Authorization headers', () => {
  it('when a request carries two Authorization headers naming different players, then 401 unauthorized and neither player is provisioned', async () => {
    const first = await t.player();
    const second = await t.player();
    const response = await raw(['GET /user/wallet HTTP/1.1', `Authorization: Bearer ${first.token}`, `Authorization: Bearer ${second.token}`]);
    expect(response.status).toBe(401);
    expect(response.headers).toMatch(/content-type: application\/problem\+json/);
    expect(response.body.code).toBe('unauthorized');
    expect(await usersNamed([first.id, second.id])).toBe(0);
  });

  it('when a player token and an admin token arrive together, then the admin route is 401, not served to whichever header came first', async () => {
    const player = await t.player();
    const response = await raw(['GET /admin/orders HTTP/1.1', `Authorization: Bearer ${t.adminToken}`, `Authorization: Bearer ${player.token}`]);
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('unauthorized');
  });

  it('when the same token is sent twice, then it is still ambiguous and 401; with one header the same request is served', async () => {
    const player = await t.player();
    expect((await raw(['GET /user/wallet HTTP/1.1', `Authorization: Bearer ${player.token}`, `authorization: Bearer ${player.token}`])).status).toBe(401);
    const single = await raw(['GET /user/wallet HTTP/1.1', `Authorization: Bearer ${player.token}`]);
    expect(single.status).toBe(200);
    expect(single.body).toEqual({ balance: 0, currency: 'gems' });
  });
});

describe('large genuine tokens', () => {
  it('when a valid token carries a 10 KB email claim, then the request is served and the unstorable email is not stored', async () => {
    const id = randomUUID();
    const token = await signToken(TEST_JWT_SECRET, { sub: id, email: `${'a'.repeat(10_000)}@players.test`, name: 'Long Mail' });
    expect(token.length).toBeGreaterThan(8192);
    const response = await t.request('GET', '/user/wallet', { token });
    expect(response.status, response.text).toBe(200);
    const { rows } = await t.runtime.deps.db.query('SELECT email, name FROM users WHERE id = $1', [id]);
    expect(rows).toEqual([{ email: null, name: 'Long Mail' }]);
  });

  it('when a token is large but forged, then it is still 401', async () => {
    const token = await signToken('another-secret-another-secret-another', { sub: randomUUID(), email: `${'a'.repeat(10_000)}@players.test` });
    const response = await t.request('GET', '/user/wallet', { token });
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('unauthorized');
  });
});
