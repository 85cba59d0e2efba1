// A JSON body that carries `__proto__` or `constructor.prototype` is valid JSON that the parser refuses on purpose
// (prototype poisoning): the 400 must say so, not claim the body is not JSON.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

describe('prototype-poisoning keys in a JSON body', () => {
  it('when a body holds __proto__ or constructor.prototype, then 400 validation_failed naming the key, and nothing is created', async () => {
    const player = await t.player();
    for (const body of ['{"name":"Bob","__proto__":{"admin":true}}', '{"name":"Bob","constructor":{"prototype":{"admin":true}}}']) {
      const response = await t.request('POST', '/user/characters', { token: player.token, body });
      expect(response.status, body).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.body.code).toBe('validation_failed');
      expect(response.body.detail, body).toMatch(/__proto__|constructor\.prototype/);
      expect(response.body.detail).not.toMatch(/not valid JSON/);
    }
    expect((await t.request('GET', '/user/characters', { token: player.token })).body.items).toEqual([]);
  });

  it('when a body is truly not JSON, then the 400 still says so', async () => {
    const player = await t.player();
    const response = await t.request('POST', '/user/characters', { token: player.token, body: '{"name":' });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('validation_failed');
    expect(response.body.detail).toMatch(/not valid JSON/);
  });
});
