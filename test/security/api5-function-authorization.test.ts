// OWASP API5:2023 Broken Function Level Authorization. The list of admin and service routes is read from the
// service's own OpenAPI document, so a new admin route is covered the day it is added: a player token gets 403,
// no token 401, whatever the body (the role is checked before the body is validated, so probing bodies teaches
// an outsider nothing).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { fillPath, loadRoutes, type RouteSpec } from '../support/fuzz.js';

let t: TestApp;
let privileged: RouteSpec[];

beforeAll(async () => {
  t = await startTestApp();
  privileged = (await loadRoutes(t)).filter((route) => route.path.startsWith('/admin/') || route.path.startsWith('/service/'));
});
afterAll(async () => t?.close());

const bodyFor = (route: RouteSpec) => (['POST', 'PUT', 'PATCH'].includes(route.method) ? {} : undefined);

describe('API5 function-level authorization', () => {
  it('when the OpenAPI document is read, then it lists the admin and service routes this test guards', () => {
    const names = privileged.map((route) => `${route.method} ${route.path}`);
    for (const expected of ['POST /service/grants', 'POST /service/loadouts', 'POST /admin/orders/{id}/refund', 'POST /admin/users/{userId}/wallet/adjustments', 'POST /admin/items/{id}/vouchers', 'POST /admin/fulfillments/{id}/retry', 'POST /admin/listings']) {
      expect(names).toContain(expected);
    }
  });

  it('when a player calls any admin or service route, then 403 forbidden', async () => {
    const player = await t.player();
    const failures: string[] = [];
    for (const route of privileged) {
      const response = await t.request(route.method, fillPath(route.path, {}), { token: player.token, body: bodyFor(route), headers: { 'idempotency-key': 'x' } });
      if (response.status !== 403 || response.body?.code !== 'forbidden') failures.push(`${route.method} ${route.path} → ${response.status} ${response.body?.code}`);
    }
    expect(failures).toEqual([]);
  });

  it('when nobody is signed in, then every admin and service route answers 401', async () => {
    const failures: string[] = [];
    for (const route of privileged) {
      const response = await t.request(route.method, fillPath(route.path, {}), { body: bodyFor(route) });
      if (response.status !== 401 || response.body?.code !== 'unauthorized') failures.push(`${route.method} ${route.path} → ${response.status} ${response.body?.code}`);
    }
    expect(failures).toEqual([]);
  });

  it('when a service token calls an admin route or an admin token a service route, then 403', async () => {
    const failures: string[] = [];
    for (const route of privileged) {
      const token = route.path.startsWith('/admin/') ? t.serviceToken : t.adminToken;
      const response = await t.request(route.method, fillPath(route.path, {}), { token, body: bodyFor(route), headers: { 'idempotency-key': 'x' } });
      if (response.status !== 403) failures.push(`${route.method} ${route.path} → ${response.status} ${response.body?.code}`);
    }
    expect(failures).toEqual([]);
  });

  it('when an admin or service token calls a player route, then 403 (they have no wallet or inventory of their own)', async () => {
    for (const [method, path] of [['GET', '/user/wallet'], ['GET', '/user/inventory'], ['GET', '/user/purchases']] as const) {
      expect((await t.request(method, path, { token: t.adminToken })).status).toBe(403);
      expect((await t.request(method, path, { token: t.serviceToken })).status).toBe(403);
    }
  });
});
