import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { balanceOf, count, createItem, db, expectLedgerConsistent, fundedPlayer, key } from '../purchases/fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

describe('POST /service/grants', () => {
  it('when a service grants gems and items to a user who never logged in, then the user exists, is credited, owns the items', async () => {
    const userId = randomUUID();
    const itemId = await createItem(t, { consumable: true, maxStack: 50 });
    const response = await t.request('POST', '/service/grants', {
      token: t.serviceToken,
      headers: key(),
      body: { userId, gems: 250, items: [{ itemId, quantity: 3 }], reason: 'tournament #12 winner' },
    });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ userId, gems: 250, items: [{ itemId, quantity: 3 }], reason: 'tournament #12 winner', campaignId: null, balanceAfter: 250 });
    expect(await balanceOf(t, userId)).toBe(250);
    expect(await count(t, 'inventory_items WHERE user_id = $1 AND item_id = $2 AND quantity = 3', [userId, itemId])).toBe(1);
    await expectLedgerConsistent(t);
  });

  it('when a grant names a campaign, then the gems come from the promotions account', async () => {
    const { rows } = await db(t).query<{ id: string }>(`INSERT INTO reward_campaigns (slug, name, kind) VALUES ('spring', 'Spring', 'promotion') RETURNING id`);
    const campaignId = rows[0]!.id;
    const userId = randomUUID();
    const response = await t.request('POST', '/service/grants', { token: t.serviceToken, headers: key(), body: { userId, gems: 40, reason: 'spring promo', campaignId } });
    expect(response.status).toBe(201);
    expect(response.body.campaignId).toBe(campaignId);
    const report = await t.runtime.services.wallet.verifyLedger();
    expect(report.systemBalances.promotions).toBeLessThanOrEqual(-40);
  });

  it('when a grant names the player in upper case, then the items show in their (already cached) inventory at once', async () => {
    const player = await t.player();
    const itemId = await createItem(t, { consumable: true, maxStack: 50 });
    const before = await t.request('GET', '/user/inventory', { token: player.token });
    expect(before.body.items).toEqual([]);
    const response = await t.request('POST', '/service/grants', {
      token: t.serviceToken, headers: key(), body: { userId: player.id.toUpperCase(), items: [{ itemId, quantity: 2 }], reason: 'shouted id' },
    });
    expect(response.status).toBe(201);
    expect(response.body.userId).toBe(player.id);
    const after = await t.request('GET', '/user/inventory', { token: player.token });
    expect(after.body.items.map((i: any) => [i.itemId, i.quantity])).toEqual([[itemId, 2]]);
  });

  it('when a grant spells its item and campaign ids in upper case, then they are the same item and campaign (not 404), merged into one line', async () => {
    const player = await t.player();
    const itemId = await createItem(t, { consumable: true, maxStack: 50 });
    const { rows } = await db(t).query<{ id: string }>(`INSERT INTO reward_campaigns (slug, name, kind) VALUES ('shouted-${randomUUID().slice(0, 8)}', 'Shouted', 'promotion') RETURNING id`);
    const campaignId = rows[0]!.id;
    const response = await t.request('POST', '/service/grants', {
      token: t.serviceToken,
      headers: key(),
      body: { userId: player.id, gems: 7, items: [{ itemId: itemId.toUpperCase(), quantity: 2 }, { itemId, quantity: 1 }], reason: 'shouted ids', campaignId: campaignId.toUpperCase() },
    });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    expect(response.body).toMatchObject({ items: [{ itemId, quantity: 3 }], campaignId, balanceAfter: 7 });
    expect(await count(t, 'inventory_items WHERE user_id = $1 AND item_id = $2 AND quantity = 3', [player.id, itemId])).toBe(1);
    expect(await count(t, 'grants WHERE user_id = $1 AND campaign_id = $2', [player.id, campaignId])).toBe(1);
    await expectLedgerConsistent(t);
  });

  it('when the same key is sent twice, then the second is a replay and the user is credited once', async () => {
    const userId = randomUUID();
    const headers = key();
    const body = { userId, gems: 10, reason: 'daily login' };
    const first = await t.request('POST', '/service/grants', { token: t.serviceToken, headers, body });
    const second = await t.request('POST', '/service/grants', { token: t.serviceToken, headers, body });
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body).toEqual(first.body);
    expect(await balanceOf(t, userId)).toBe(10);
    const reused = await t.request('POST', '/service/grants', { token: t.serviceToken, headers, body: { ...body, gems: 11 } });
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('idempotency_key_reused');
  });

  it('when the retry of a grant spells its user, item and campaign ids in capitals or sends campaignId null for absent, then it is a replay, not 422', async () => {
    const userId = randomUUID();
    const itemId = await createItem(t, { consumable: true, maxStack: 50 });
    const headers = key();
    const first = await t.request('POST', '/service/grants', { token: t.serviceToken, headers, body: { userId, gems: 4, items: [{ itemId, quantity: 2 }], reason: 'retry' } });
    expect(first.status).toBe(201);
    const retry = await t.request('POST', '/service/grants', {
      token: t.serviceToken,
      headers,
      body: { userId: userId.toUpperCase(), gems: 4, items: [{ itemId: itemId.toUpperCase(), quantity: 2 }], reason: 'retry', campaignId: null },
    });
    expect(retry.status, JSON.stringify(retry.body)).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(await balanceOf(t, userId)).toBe(4);
    expect(await count(t, 'inventory_items WHERE user_id = $1 AND item_id = $2 AND quantity = 2', [userId, itemId])).toBe(1);
  });

  it('when the item or campaign is unknown, then 404 and nothing is granted', async () => {
    const userId = randomUUID();
    const unknownItem = await t.request('POST', '/service/grants', {
      token: t.serviceToken, headers: key(), body: { userId, gems: 5, items: [{ itemId: randomUUID(), quantity: 1 }], reason: 'x' },
    });
    expect(unknownItem.status).toBe(404);
    const unknownCampaign = await t.request('POST', '/service/grants', { token: t.serviceToken, headers: key(), body: { userId, gems: 5, reason: 'x', campaignId: randomUUID() } });
    expect(unknownCampaign.status).toBe(404);
    expect(await count(t, 'grants WHERE user_id = $1', [userId])).toBe(0);
    expect(await balanceOf(t, userId)).toBe(0);
  });

  it('when a grant names an item delivered by email, Shopify or as an effect, then 409 not_available and nothing is granted', async () => {
    const userId = randomUUID();
    const skin = await createItem(t);
    const undeliverable = [
      await createItem(t, { kind: 'gem_pack', consumable: true, deliveryType: 'functional', effect: { gems: 500 } }),
      await createItem(t, { kind: 'voucher', deliveryType: 'email' }),
      await createItem(t, { kind: 'merch', deliveryType: 'shopify' }),
    ];
    for (const itemId of undeliverable) {
      const response = await t.request('POST', '/service/grants', {
        token: t.serviceToken, headers: key(), body: { userId, gems: 5, items: [{ itemId: skin, quantity: 1 }, { itemId, quantity: 1 }], reason: 'collab' },
      });
      expect(response.status).toBe(409);
      expect(response.body).toMatchObject({ code: 'not_available', itemId });
    }
    expect(await count(t, 'grants WHERE user_id = $1', [userId])).toBe(0);
    expect(await count(t, 'inventory_items WHERE user_id = $1', [userId])).toBe(0);
    expect(await balanceOf(t, userId)).toBe(0);
  });

  it('when the body is hostile (no gems nor items, negative, fractional, huge, missing key, wrong role), then 4xx and nothing changes', async () => {
    const userId = randomUUID();
    const bad = [{ userId, reason: 'x' }, { userId, gems: 0, items: [], reason: 'x' }, { userId, gems: -5, reason: 'x' }, { userId, gems: 1.5, reason: 'x' },
      { userId, gems: 1e15, reason: 'x' }, { userId, gems: 'lots', reason: 'x' }, { userId: 'nope', gems: 5, reason: 'x' }, { userId, gems: 5, reason: '' }, { userId, gems: 5, reason: '   ' }, { userId, gems: 5, reason: '\u200b' },
      { userId, gems: 5, reason: 'x', extra: true }];
    for (const body of bad) {
      const response = await t.request('POST', '/service/grants', { token: t.serviceToken, headers: key(), body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    const noKey = await t.request('POST', '/service/grants', { token: t.serviceToken, body: { userId, gems: 5, reason: 'x' } });
    expect(noKey.status).toBe(400);
    const player = await t.player();
    const asPlayer = await t.request('POST', '/service/grants', { token: player.token, headers: key(), body: { userId: player.id, gems: 5, reason: 'x' } });
    expect(asPlayer.status).toBe(403);
    expect(await count(t, 'grants WHERE user_id = ANY($1)', [[userId, player.id]])).toBe(0);
  });
});

describe('GET /user/wallet and /user/wallet/transactions', () => {
  it('when a player has movements, then the balance and a newest-first, cursor-paginated history with signed amounts come back', async () => {
    const player = await fundedPlayer(t, 100);
    const debit = await t.request('POST', `/admin/users/${player.id}/wallet/adjustments`, { token: t.adminToken, headers: key(), body: { amount: -30, reason: 'chargeback' } });
    expect(debit.status).toBe(201);
    await t.request('POST', `/admin/users/${player.id}/wallet/adjustments`, { token: t.adminToken, headers: key(), body: { amount: 5, reason: 'goodwill' } });

    const wallet = await t.request('GET', '/user/wallet', { token: player.token });
    expect(wallet.body).toEqual({ balance: 75, currency: 'gems' });

    const page1 = await t.request('GET', '/user/wallet/transactions?limit=2', { token: player.token });
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((i: any) => [i.amount, i.balanceAfter, i.reason])).toEqual([[5, 75, 'adjustment'], [-30, 70, 'adjustment']]);
    expect(page1.body.nextCursor).toEqual(expect.any(String));
    const page2 = await t.request('GET', `/user/wallet/transactions?limit=2&cursor=${page1.body.nextCursor}`, { token: player.token });
    expect(page2.body.items.map((i: any) => [i.amount, i.balanceAfter, i.reason])).toEqual([[100, 100, 'grant']]);
    expect(page2.body.items[0].reference).toEqual(expect.any(String));
    expect(page2.body.nextCursor).toBeNull();
  });

  it("when an operator adjusts the wallet or refunds an order, then the player's history shows the reason, never the operator's id", async () => {
    const player = await fundedPlayer(t, 50);
    const adminId = randomUUID();
    const admin = await t.token('admin', adminId);
    const adjusted = await t.request('POST', `/admin/users/${player.id}/wallet/adjustments`, { token: admin, headers: key(), body: { amount: 5, reason: 'goodwill' } });
    expect(adjusted.status).toBe(201);
    const potion = await createItem(t, { consumable: true, maxStack: 10 });
    const { rows } = await db(t).query<{ id: string }>(
      `WITH l AS (INSERT INTO listings (title, price, delivery_type, consumable) VALUES ('Potion', 4, 'inventory', true) RETURNING id),
            li AS (INSERT INTO listing_items (listing_id, item_id, quantity) SELECT l.id, $1, 1 FROM l)
       SELECT id FROM l`,
      [potion],
    );
    const order = await t.request('POST', '/store/purchases', { token: player.token, headers: key(), body: { listingId: rows[0]!.id } });
    expect(order.status).toBe(201);
    expect((await t.request('POST', `/admin/orders/${order.body.id}/refund`, { token: admin, headers: key(), body: { reason: 'wrong item' } })).status).toBe(200);

    const history = await t.request('GET', '/user/wallet/transactions', { token: player.token });
    expect(history.text).not.toContain(adminId);
    const memos = Object.fromEntries(history.body.items.map((e: any) => [e.reason, e.memo]));
    expect(memos).toMatchObject({ adjustment: 'goodwill', refund: 'wrong item' });
    // the ledger keeps who did it, for operators
    expect(await count(t, `ledger_transfers WHERE reference_id = $1 AND memo LIKE '%' || $2 || '%'`, [order.body.id, adminId])).toBe(1);
  });

  it('when the cursor is garbage or the limit out of range, then 400', async () => {
    const player = await t.player();
    for (const query of ['cursor=%%%', 'cursor=bm9wZQ', 'limit=0', 'limit=101', 'limit=abc']) {
      const response = await t.request('GET', `/user/wallet/transactions?${query}`, { token: player.token });
      expect(response.status, query).toBe(400);
    }
  });

  it('when a real cursor is tampered with in ways a lenient base64 decoder ignores (a stray character, padding, a blank), then 400', async () => {
    const player = await t.player();
    for (const gems of [1, 2]) {
      expect((await t.request('POST', '/service/grants', { token: t.serviceToken, headers: key(), body: { userId: player.id, gems, reason: 'page' } })).status).toBe(201);
    }
    const cursor = (await t.request('GET', '/user/wallet/transactions?limit=1', { token: player.token })).body.nextCursor as string;
    expect(cursor).toBeTruthy();
    for (const tampered of [`${cursor.slice(0, 2)}!${cursor.slice(2)}`, `${cursor}==`, `${cursor}x`, `${cursor.slice(0, 3)} ${cursor.slice(3)}`]) {
      const response = await t.request('GET', `/user/wallet/transactions?limit=1&cursor=${encodeURIComponent(tampered)}`, { token: player.token });
      expect(response.status, tampered).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    expect((await t.request('GET', `/user/wallet/transactions?limit=1&cursor=${cursor}`, { token: player.token })).status).toBe(200);
  });

  it('when a well-formed cursor names an entry id the list never hands out (zero or negative), then 400, not an empty page', async () => {
    const player = await fundedPlayer(t, 5);
    for (const forged of [[0], [-1], [-9007199254740991]]) {
      const cursor = Buffer.from(JSON.stringify(forged)).toString('base64url');
      const response = await t.request('GET', `/user/wallet/transactions?cursor=${cursor}`, { token: player.token });
      expect(response.status, JSON.stringify(forged)).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
  });

  it('when a new player asks, then the balance is 0 and the history empty', async () => {
    const player = await t.player();
    expect((await t.request('GET', '/user/wallet', { token: player.token })).body).toEqual({ balance: 0, currency: 'gems' });
    expect((await t.request('GET', '/user/wallet/transactions', { token: player.token })).body).toEqual({ items: [], nextCursor: null });
  });
});

describe('POST /admin/users/:userId/wallet/adjustments', () => {
  it('when a negative adjustment exceeds the balance, then 409 insufficient_funds and the balance is unchanged', async () => {
    const player = await fundedPlayer(t, 20);
    const response = await t.request('POST', `/admin/users/${player.id}/wallet/adjustments`, { token: t.adminToken, headers: key(), body: { amount: -21, reason: 'too much' } });
    expect(response.status).toBe(409);
    expect(response.body.code).toBe('insufficient_funds');
    expect(await balanceOf(t, player.id)).toBe(20);
  });

  it('when the user is unknown, then 404; when the amount is zero or fractional or the reason blank, then 400', async () => {
    for (const amount of [-5, 5]) {
      const response = await t.request('POST', `/admin/users/${randomUUID()}/wallet/adjustments`, { token: t.adminToken, headers: key(), body: { amount, reason: 'x' } });
      expect(response.status).toBe(404);
    }
    const player = await fundedPlayer(t, 1);
    for (const amount of [0, 1.5, '1e3x', 1e12]) {
      const response = await t.request('POST', `/admin/users/${player.id}/wallet/adjustments`, { token: t.adminToken, headers: key(), body: { amount, reason: 'x' } });
      expect(response.status, String(amount)).toBe(400);
    }
    for (const reason of ['', '   ', '\t\n']) {
      const response = await t.request('POST', `/admin/users/${player.id}/wallet/adjustments`, { token: t.adminToken, headers: key(), body: { amount: 5, reason } });
      expect(response.status, JSON.stringify(reason)).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    expect(await balanceOf(t, player.id)).toBe(1);
    await expectLedgerConsistent(t);
  });

  it('when 20 parallel debits of 10 hit a wallet of 100, then exactly 10 succeed and the balance is 0', async () => {
    const player = await fundedPlayer(t, 100);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => t.request('POST', `/admin/users/${player.id}/wallet/adjustments`, { token: t.adminToken, headers: key(), body: { amount: -10, reason: 'race' } })),
    );
    expect(responses.filter((r) => r.status === 201)).toHaveLength(10);
    expect(responses.filter((r) => r.status === 409 && r.body.code === 'insufficient_funds')).toHaveLength(10);
    expect(await balanceOf(t, player.id)).toBe(0);
    await expectLedgerConsistent(t);
  });

  it('when the retry of an adjustment spells the user id in the path in capitals, then it is a replay of the same request, not 422', async () => {
    const player = await fundedPlayer(t, 5);
    const headers = key();
    const first = await t.request('POST', `/admin/users/${player.id}/wallet/adjustments`, { token: t.adminToken, headers, body: { amount: 7, reason: 'bonus' } });
    expect(first.status).toBe(201);
    const retry = await t.request('POST', `/admin/users/${player.id.toUpperCase()}/wallet/adjustments`, { token: t.adminToken, headers, body: { amount: 7, reason: 'bonus' } });
    expect(retry.status, retry.text).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(await balanceOf(t, player.id)).toBe(12);
  });
});

describe('OpenAPI', () => {
  it('then every wallet and purchase route is documented with its request and response schemas', async () => {
    const { body } = await t.request('GET', '/openapi.json');
    for (const [path, method] of [
      ['/user/wallet', 'get'], ['/user/wallet/transactions', 'get'], ['/service/grants', 'post'], ['/webhooks/payments', 'post'],
      ['/admin/users/{userId}/wallet/adjustments', 'post'], ['/store/purchases', 'post'], ['/user/purchases', 'get'],
      ['/user/purchases/{id}', 'get'], ['/admin/orders', 'get'], ['/admin/orders/{id}/refund', 'post'],
    ] as const) {
      const operation = body.paths[path]?.[method];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(expect.arrayContaining([method === 'post' && !path.includes('refund') && path !== '/webhooks/payments' ? '201' : '200']));
    }
  });

  it('then the top-up webhook documents the 409 it answers when the wallet cannot take the credit (limit_reached)', async () => {
    const { body } = await t.request('GET', '/openapi.json');
    expect(Object.keys(body.paths['/webhooks/payments'].post.responses)).toContain('409');
  });
});

describe('GET /user/wallet/transactions', () => {
  it('when a transfer that began first waits on the wallet for one that began later, then the list stays newest first by createdAt too', async () => {
    const player = await fundedPlayer(t, 100);
    const { db: database } = t.runtime.deps;
    const { wallet } = t.runtime.services;
    const debit = (referenceId: string) => ({ userId: player.id, amount: 1, counterparty: 'store_revenue' as const, reason: 'purchase' as const, referenceType: 'test', referenceId });
    await database.withTx(async (first) => {
      await first.query('SELECT 1'); // this transaction has begun: its now() is fixed from here
      await new Promise((resolve) => setTimeout(resolve, 20));
      await database.withTx((second) => wallet.debitUserInTx(second, debit('began-second')));
      await wallet.debitUserInTx(first, debit('began-first'));
    });
    const listed = await t.request('GET', '/user/wallet/transactions?limit=3', { token: player.token });
    expect(listed.status).toBe(200);
    const items = listed.body.items as Array<{ createdAt: string; balanceAfter: number; amount: number }>;
    expect(items.map((item) => item.balanceAfter)).toEqual([98, 99, 100]);
    const times = items.map((item) => Date.parse(item.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });
});

describe('unknown query parameters', () => {
  it('when a wallet, grant, adjustment or campaign route is sent one, then 400 validation_failed and nothing changes', async () => {
    const player = await fundedPlayer(t, 10);
    const wallet = await t.request('GET', '/user/wallet?currency=eur', { token: player.token });
    expect(wallet.status).toBe(400);
    expect(wallet.body.code).toBe('validation_failed');
    const grant = await t.request('POST', '/service/grants?dryRun=true', { token: t.serviceToken, headers: key(), body: { userId: player.id, gems: 5, reason: 'x' } });
    expect(grant.status).toBe(400);
    const adjustment = await t.request('POST', `/admin/users/${player.id}/wallet/adjustments?force=1`, { token: t.adminToken, headers: key(), body: { amount: 5, reason: 'x' } });
    expect(adjustment.status).toBe(400);
    expect(await balanceOf(t, player.id)).toBe(10);
    const created = await t.request('POST', '/admin/campaigns?x=1', { token: t.adminToken, body: { slug: `q-${randomUUID().slice(0, 8)}`, name: 'Q', kind: 'other' } });
    expect(created.status).toBe(400);
    const { rows } = await db(t).query<{ id: string }>(`INSERT INTO reward_campaigns (slug, name, kind) VALUES ('q-${randomUUID().slice(0, 8)}', 'Q', 'other') RETURNING id`);
    expect((await t.request('GET', `/admin/campaigns/${rows[0]!.id}?expand=grants`, { token: t.adminToken })).status).toBe(400);
    expect((await t.request('PATCH', `/admin/campaigns/${rows[0]!.id}?x=1`, { token: t.adminToken, body: { name: 'R' } })).status).toBe(400);
    expect(await count(t, 'reward_campaigns WHERE id = $1 AND name = $2', [rows[0]!.id, 'Q'])).toBe(1);
  });
});
