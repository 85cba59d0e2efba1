import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createItem, createListing, db, fundedPlayer, key } from './fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const buy = (token: string, body: unknown) => t.request('POST', '/store/purchases', { token, headers: key(), body });

describe('GET /user/purchases', () => {
  it('when a player has orders, then they come newest first with lines and fulfillment status, page by page', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 100 });
    const listing = await createListing(t, { price: 1, items: [{ itemId: potion, quantity: 2 }] });
    const player = await fundedPlayer(t, 10);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await buy(player.token, { listingId: listing })).body.id);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await t.request('GET', `/user/purchases?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: player.token });
      expect(page.status).toBe(200);
      for (const order of page.body.items) {
        expect(order).toMatchObject({ status: 'completed', listingId: listing, totalPrice: 1 });
        expect(order.lines).toEqual([expect.objectContaining({ itemId: potion, quantity: 2, deliveryType: 'inventory', fulfillment: expect.objectContaining({ status: 'delivered' }) })]);
      }
      seen.push(...page.body.items.map((o: any) => o.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());

    const stranger = await t.player();
    expect((await t.request('GET', '/user/purchases', { token: stranger.token })).body).toEqual({ items: [], nextCursor: null });
    expect((await t.request('GET', '/user/purchases?cursor=garbage', { token: player.token })).status).toBe(400);
  });

  it('when a cursor is tampered with (a stray character, padding, a trailing character), then 400 for the player and operator order lists and the fulfillment list, not the page of the real cursor', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 100 });
    const listing = await createListing(t, { price: 1, items: [{ itemId: potion }] });
    const player = await fundedPlayer(t, 10);
    for (let i = 0; i < 3; i++) await buy(player.token, { listingId: listing });
    const lists = [
      { path: '/user/purchases', token: player.token },
      { path: '/admin/orders', token: t.adminToken },
      { path: '/admin/fulfillments', token: t.adminToken },
    ];
    for (const { path, token } of lists) {
      const first = await t.request('GET', `${path}?limit=1`, { token });
      const cursor = first.body.nextCursor as string;
      expect((await t.request('GET', `${path}?limit=1&cursor=${cursor}`, { token })).status).toBe(200);
      const middle = cursor.length >> 1;
      for (const tampered of [`${cursor.slice(0, middle)}!${cursor.slice(middle)}`, `${cursor}==`, `${cursor}x`, `${cursor.slice(0, middle)}.${cursor.slice(middle)}`]) {
        const response = await t.request('GET', `${path}?limit=1&cursor=${encodeURIComponent(tampered)}`, { token });
        expect(response.status, `${path} ${tampered}`).toBe(400);
        expect(response.body.code).toBe('validation_failed');
      }
    }
  });
});

describe('GET /user/purchases/:id', () => {
  it('when a bundle is bought, then its lines read back in the listing\'s order, as the purchase answered them', async () => {
    const items: string[] = [];
    for (let i = 0; i < 6; i++) items.push(await createItem(t, { consumable: true, maxStack: 100 }));
    const listing = await createListing(t, { price: 1, items: items.map((itemId, i) => ({ itemId, quantity: i + 1 })) });
    const player = await fundedPlayer(t, 10);
    const bought = await buy(player.token, { listingId: listing });
    expect(bought.status).toBe(201);
    expect(bought.body.lines.map((l: any) => l.itemId)).toEqual(items);
    const lineIds = bought.body.lines.map((l: any) => l.id);
    const fulfillmentIds = bought.body.lines.map((l: any) => l.fulfillment.id);

    const detail = await t.request('GET', `/user/purchases/${bought.body.id}`, { token: player.token });
    expect(detail.body.lines.map((l: any) => l.id)).toEqual(lineIds);
    expect(detail.body.lines.map((l: any) => l.fulfillment.id)).toEqual(fulfillmentIds);
    const list = await t.request('GET', '/user/purchases', { token: player.token });
    expect(list.body.items[0].lines.map((l: any) => l.id)).toEqual(lineIds);
    const refunded = await t.request('POST', `/admin/orders/${bought.body.id}/refund`, { token: t.adminToken, headers: key() });
    expect(refunded.status).toBe(200);
    expect(refunded.body.lines.map((l: any) => l.id)).toEqual(lineIds);
  });

  it('when the owner asks for an email order, then the fulfillment history and the voucher code are shown', async () => {
    const voucher = await createItem(t, { kind: 'voucher', consumable: true, deliveryType: 'email' });
    await db(t).query(`INSERT INTO voucher_codes (item_id, code) VALUES ($1, 'STEAM-AAAA-1111')`, [voucher]);
    const listing = await createListing(t, { price: 5, items: [{ itemId: voucher }] });
    const player = await fundedPlayer(t, 5);
    const order = await buy(player.token, { listingId: listing });
    expect(order.status).toBe(201);

    const detail = await t.request('GET', `/user/purchases/${order.body.id}`, { token: player.token });
    expect(detail.status).toBe(200);
    const line = detail.body.lines[0];
    expect(line).toMatchObject({ itemId: voucher, deliveryType: 'email', code: 'STEAM-AAAA-1111' });
    expect(line.fulfillment).toMatchObject({ id: order.body.lines[0].fulfillment.id, status: 'pending', trackingNumber: null, code: 'STEAM-AAAA-1111' });
    expect(line.fulfillment.events).toEqual([{ status: 'pending', at: expect.any(String), detail: expect.any(String) }]);

    // Codes are for the owner's eyes: the list view does not carry them.
    const list = await t.request('GET', '/user/purchases', { token: player.token });
    expect(JSON.stringify(list.body)).not.toContain('STEAM-AAAA-1111');
  });

  it('when an order has lines, then the order itself carries their history in time order and its parcel\'s tracking', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 100 });
    const voucher = await createItem(t, { kind: 'voucher', consumable: true, deliveryType: 'email' });
    await db(t).query(`INSERT INTO voucher_codes (item_id, code) VALUES ($1, $2)`, [voucher, `CODE-${randomUUID()}`]);
    const listing = await createListing(t, { price: 5, items: [{ itemId: potion }, { itemId: voucher }] });
    const player = await fundedPlayer(t, 5);
    const order = await buy(player.token, { listingId: listing });
    expect(order.status).toBe(201);
    const emailLine = order.body.lines.find((l: any) => l.deliveryType === 'email');
    await db(t).query(
      `UPDATE fulfillments SET status = 'shipped', tracking_number = '1Z999', tracking_url = 'https://track.example/1Z999' WHERE id = $1`,
      [emailLine.fulfillment.id],
    );

    const detail = (await t.request('GET', `/user/purchases/${order.body.id}`, { token: player.token })).body;
    const perLine = detail.lines.flatMap((line: any) => line.fulfillment.events.map((e: any) => ({ ...e, lineId: line.id, fulfillmentId: line.fulfillment.id })));
    expect(detail.events).toHaveLength(2);
    expect(detail.events).toEqual(expect.arrayContaining(perLine));
    expect(detail.events.map((e: any) => e.at)).toEqual([...detail.events.map((e: any) => e.at)].sort());
    expect(detail).toMatchObject({ trackingNumber: '1Z999', trackingUrl: 'https://track.example/1Z999' });
  });

  it('when a line was dead-lettered, then its owner sees that delivery failed, in words meant for players', async () => {
    const voucher = await createItem(t, { kind: 'voucher', consumable: true, deliveryType: 'email' });
    await db(t).query(`INSERT INTO voucher_codes (item_id, code) VALUES ($1, $2)`, [voucher, `CODE-${randomUUID()}`]);
    const listing = await createListing(t, { price: 5, items: [{ itemId: voucher }] });
    const player = await fundedPlayer(t, 5);
    const order = await buy(player.token, { listingId: listing });
    await db(t).query(`UPDATE fulfillments SET status = 'failed', last_error = 'smtp.internal.example:25 451 4.3.0 queue full' WHERE id = $1`, [order.body.lines[0].fulfillment.id]);

    const detail = (await t.request('GET', `/user/purchases/${order.body.id}`, { token: player.token })).body;
    expect(detail.lines[0].fulfillment).toMatchObject({ status: 'failed', error: expect.stringContaining('delivery failed') });
    expect(JSON.stringify(detail)).not.toContain('smtp.internal.example');
    expect(detail).toMatchObject({ trackingNumber: null, trackingUrl: null });
  });

  it("when another player asks for someone else's order, then 404 as if it did not exist", async () => {
    const potion = await createItem(t, { consumable: true });
    const listing = await createListing(t, { price: 1, items: [{ itemId: potion }] });
    const owner = await fundedPlayer(t, 1);
    const order = await buy(owner.token, { listingId: listing });
    const thief = await t.player();
    const response = await t.request('GET', `/user/purchases/${order.body.id}`, { token: thief.token });
    expect(response.status).toBe(404);
    expect(response.body.code).toBe('not_found');
    expect(JSON.stringify(response.body)).not.toContain(owner.id);
    expect((await t.request('GET', `/user/purchases/${randomUUID()}`, { token: thief.token })).status).toBe(404);
    expect((await t.request('GET', '/user/purchases/1%20OR%201=1', { token: thief.token })).status).toBe(400);
  });

  it('when the voucher pool is empty, then the purchase is 409 out_of_stock and nothing is charged', async () => {
    const voucher = await createItem(t, { kind: 'voucher', consumable: true, deliveryType: 'email' });
    const listing = await createListing(t, { price: 5, items: [{ itemId: voucher }] });
    const player = await fundedPlayer(t, 5);
    const response = await buy(player.token, { listingId: listing });
    expect(response.status).toBe(409);
    expect(response.body.code).toBe('out_of_stock');
    expect((await t.request('GET', '/user/wallet', { token: player.token })).body.balance).toBe(5);
  });
});
