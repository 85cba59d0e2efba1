// The JSON body parser every route shares (src/platform/http/json-body.ts).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../src/platform/http/json-body.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const nested = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);
const itemBody = (attributes: string) =>
  `{"sku":"deep-${randomUUID()}","name":"Deep","kind":"utility","consumable":true,"maxStack":10,"deliveryType":"inventory","attributes":{"a":${attributes}}}`;

async function postRaw(path: string, body: string, token: string): Promise<{ status: number; contentType: string | null; json: any }> {
  const response = await fetch(`${t.baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
  return { status: response.status, contentType: response.headers.get('content-type'), json: await response.json() };
}

describe('JSON bodies', () => {
  it('when a body nests 20,000 levels deep, then 400 validation_failed and nothing is stored (it was a 500: a stack overflow after parsing)', async () => {
    const answer = await postRaw('/admin/items', itemBody(nested(20_000)), t.adminToken);
    expect(answer.status).toBe(400);
    expect(answer.contentType).toContain('application/problem+json');
    expect(answer.json).toMatchObject({ code: 'validation_failed' });
    const { rows } = await t.runtime.deps.db.query(`SELECT 1 FROM item_definitions WHERE name = 'Deep'`);
    expect(rows).toHaveLength(0);
  });

  it(`when a body nests exactly ${MAX_JSON_DEPTH} levels, then the route gets it, and one more level is refused before the route`, async () => {
    // The body itself is level 1, "attributes" level 2, its "a" level 3: the array adds the rest. The item route
    // has its own, lower limit for attributes, so the body that fits is refused by the route, not the parser.
    const fits = await postRaw('/admin/items', itemBody(nested(MAX_JSON_DEPTH - 2)), t.adminToken);
    expect(fits.json.detail).toMatch(/^attributes must nest/);
    const tooDeep = await postRaw('/admin/items', itemBody(nested(MAX_JSON_DEPTH - 1)), t.adminToken);
    expect(tooDeep.status).toBe(400);
    expect(tooDeep.json).toMatchObject({ code: 'validation_failed', detail: `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels` });
  });

  it('when a request carries Content-Type application/json and an empty body, then it is treated as no body, not refused', async () => {
    const player = await t.player();
    const response = await fetch(`${t.baseUrl}/user/characters/${randomUUID()}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${player.token}`, 'content-type': 'application/json' },
    });
    expect(response.status).toBe(404); // the route ran: an unknown character, not a refused body
    expect((await response.json()).code).toBe('not_found');
  });

  it('when a body carries __proto__, then it is still refused as Fastify refuses it', async () => {
    const answer = await postRaw('/admin/items', '{"__proto__":{"admin":true},"sku":"x"}', t.adminToken);
    expect(answer.status).toBe(400);
  });

  it('counts depth without recursion, objects and arrays alike', () => {
    expect(nestsDeeperThan({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(nestsDeeperThan({ a: [{ b: {} }] }, 3)).toBe(true);
    expect(nestsDeeperThan('text', 0)).toBe(false);
    expect(nestsDeeperThan(JSON.parse(nested(100_000)), 64)).toBe(true);
  });
});
