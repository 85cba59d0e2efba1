import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { expectRevalidates } from '../support/conditional-get.js';
import { createGame, createItem, createListing } from './fixtures.js';
import * as shop from '../purchases/fixtures.js';
import { startLateAnnouncements, type LateAnnouncements } from '../support/redis-late-announcements.js';

let t: TestApp;
let itemId: string;

beforeAll(async () => {
  t = await startTestApp();
  itemId = (await createItem(t, { name: 'Cached Skin' })).id;
});
afterAll(async () => t?.close());

const until = async (check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
};

describe('storefront HTTP caching', () => {
  it('when If-None-Match carries the current ETag, then 304 without a body; after a change, 200 with a new ETag', async () => {
    const listing = await createListing(t, { title: 'Etag Offer', price: 10, items: [{ itemId, quantity: 1 }] });
    for (const path of ['/store/items?limit=5', `/store/items/${listing.id}`]) {
      const etag = await expectRevalidates(t, path);
      const listed = await t.request('GET', path, { headers: { 'if-none-match': `"other", ${etag.slice(2)}` } });
      expect(listed.status).toBe(304);
      expect((await t.request('GET', path, { headers: { 'if-none-match': '"stale"' } })).status).toBe(200);
    }
    const before = (await t.request('GET', `/store/items/${listing.id}`)).headers.get('etag')!;
    await t.request('PATCH', `/admin/listings/${listing.id}`, { token: t.adminToken, body: { price: 11 } });
    const after = await t.request('GET', `/store/items/${listing.id}`, { headers: { 'if-none-match': before } });
    expect(after.status).toBe(200);
    expect(after.body.price).toBe(11);
    expect(after.headers.get('etag')).not.toBe(before);
  });

  it('when an admin changes a price, deactivates a listing or renames an item, then the very next request shows it', async () => {
    const listing = await createListing(t, { title: 'Fresh Offer', price: 100, items: [{ itemId, quantity: 1 }] });
    const pageHas = async (check: (l: any) => boolean) => (await t.request('GET', '/store/items?limit=100')).body.items.some(check);
    expect(await pageHas((l) => l.id === listing.id && l.price === 100)).toBe(true);
    expect((await t.request('GET', `/store/items/${listing.id}`)).body.price).toBe(100);

    await t.request('PATCH', `/admin/listings/${listing.id}`, { token: t.adminToken, body: { price: 80 } });
    expect(await pageHas((l) => l.id === listing.id && l.price === 80)).toBe(true);
    expect((await t.request('GET', `/store/items/${listing.id}`)).body.price).toBe(80);

    await t.request('PATCH', `/admin/items/${itemId}`, { token: t.adminToken, body: { name: 'Renamed Skin' } });
    expect((await t.request('GET', `/store/items/${listing.id}`)).body.items[0].name).toBe('Renamed Skin');

    await t.request('PATCH', `/admin/listings/${listing.id}`, { token: t.adminToken, body: { active: false } });
    expect(await pageHas((l) => l.id === listing.id)).toBe(false);
    expect((await t.request('GET', `/store/items/${listing.id}`)).status).toBe(404);
  });

  it('when a cached listing reaches its start and end times, then it appears and disappears on time without an admin write', async () => {
    const now = Date.now();
    const listing = await createListing(t, {
      title: 'Flash Sale', price: 5, items: [{ itemId, quantity: 1 }],
      startsAt: new Date(now + 1200).toISOString(), endsAt: new Date(now + 2700).toISOString(),
    });
    const listed = async () => (await t.request('GET', '/store/items?limit=100&sort=newest')).body.items.some((l: any) => l.id === listing.id);
    expect(await listed()).toBe(false); // cached now, while the sale has not started
    expect((await t.request('GET', `/store/items/${listing.id}`)).status).toBe(404);
    // The entries above are cached far longer than the 1.5 s sale, so only the time-window key can show it.
    expect(await until(listed, 5000)).toBe(true);
    expect((await t.request('GET', `/store/items/${listing.id}`)).status).toBe(200);
    expect(await until(async () => !(await listed()), 5000)).toBe(true);
    expect((await t.request('GET', `/store/items/${listing.id}`)).status).toBe(404);
  });

  it('when a page is read at an instant before the schedule it consults was filled, then it is not cached for the window after a start', async () => {
    // A request takes its clock reading first and consults the cached schedule of boundaries afterwards. The
    // schedule may have been filled after that reading: by this request's own fill (a Redis round trip and a query
    // later), by a concurrent request, or on another instance whose clock runs ahead. Such a schedule lacks the
    // boundaries between the reading and its fill, so the page built for the reading (before a sale starts) was
    // filed under the window after the start and served there for a page TTL: the sale stayed invisible. The jumps
    // of the clock below stand for that gap, made seconds wide so that the test does not depend on timing.
    const start = Date.now() + 60_000;
    const title = `Skewed Sale ${randomUUID()}`;
    const listing = await createListing(t, { title, price: 7, items: [{ itemId, quantity: 1 }], startsAt: new Date(start).toISOString() });
    const onPage = async () => (await t.request('GET', `/store/items?q=${encodeURIComponent(title)}`)).body.items.map((l: { id: string }) => l.id);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(start + 3_000);
      expect((await t.request('GET', `/store/items/${listing.id}`)).status).toBe(200); // fills the schedule after the start
      vi.setSystemTime(start - 3_000);
      expect(await onPage()).toEqual([]); // not on sale at this reading
      vi.setSystemTime(start + 10);
      expect(await onPage()).toEqual([listing.id]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('when a game is created or changed, then the storefront keeps serving (games do not alter listings)', async () => {
    const game = await createGame(t, ['emote']);
    expect((await t.request('GET', '/store/items')).status).toBe(200);
    expect((await t.request('PATCH', `/admin/games/${game.id}`, { token: t.adminToken, body: { name: 'Renamed' } })).status).toBe(200);
    expect((await t.request('GET', '/store/items')).status).toBe(200);
  });
});

describe('two instances sharing Redis', () => {
  let a: TestApp;
  let b: TestApp;
  // Redis delivers each announcement as late as it may (after the writer has its answer, before Redis reads its next
  // command): the case where b used to serve the old entry to a request sent after a's response.
  let redis: LateAnnouncements;
  beforeAll(async () => {
    redis = await startLateAnnouncements();
    a = await startTestApp({ redis: true, env: { REDIS_URL: redis.url } });
    b = await startTestApp({ redis: true, databaseUrl: a.config.databaseUrl, env: { REDIS_URL: redis.url } });
    redis.holdMessages();
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await redis?.close();
  });

  it('when an admin writes through one instance, then the other serves the change on the very next request', async () => {
    const item = await createItem(a, { name: 'Shared Skin' });
    const listing = await createListing(a, { title: 'Shared Offer', price: 300, items: [{ itemId: item.id, quantity: 1 }] });
    const priceOn = async (app: TestApp) => (await app.request('GET', `/store/items/${listing.id}`)).body?.price;
    const pagePriceOn = async (app: TestApp) => (await app.request('GET', '/store/items?limit=100')).body.items.find((l: any) => l.id === listing.id)?.price;
    expect(await priceOn(b)).toBe(300); // warms b's cache
    expect(await pagePriceOn(b)).toBe(300);

    expect((await a.request('PATCH', `/admin/listings/${listing.id}`, { token: a.adminToken, body: { price: 250 } })).status).toBe(200);
    // a's response left once Redis had delivered the version bump to b's subscriber, so b's very next request shows it.
    expect(await priceOn(b)).toBe(250);
    expect(await pagePriceOn(b)).toBe(250);

    expect((await a.request('DELETE', `/admin/listings/${listing.id}`, { token: a.adminToken })).status).toBe(204);
    expect((await b.request('GET', `/store/items/${listing.id}`)).status).toBe(404);
  });

  it('when a limited listing is bought and the order refunded, then its stockRemaining shows each change at once, on the page and alone', async () => {
    const potion = await shop.createItem(t, { consumable: true });
    const title = `Limited ${randomUUID()}`;
    const listing = (await createListing(t, { title, price: 5, stock: 5, items: [{ itemId: potion, quantity: 1 }] })).id as string;
    const shown = async () => ({
      alone: (await t.request('GET', `/store/items/${listing}`)).body.stockRemaining,
      onPage: (await t.request('GET', `/store/items?q=${encodeURIComponent(title)}`)).body.items.find((l: { id: string }) => l.id === listing)?.stockRemaining,
    });
    expect(await shown()).toEqual({ alone: 5, onPage: 5 }); // both now cached
    const player = await shop.fundedPlayer(t, 100);
    const bought = await t.request('POST', '/store/purchases', { token: player.token, headers: shop.key(), body: { listingId: listing, quantity: 2 } });
    expect(bought.status).toBe(201);
    expect(await shown()).toEqual({ alone: 3, onPage: 3 });

    const refunded = await t.request('POST', `/admin/orders/${bought.body.id}/refund`, { token: t.adminToken, headers: shop.key(), body: {} });
    expect(refunded.status).toBe(200);
    expect(await shown()).toEqual({ alone: 5, onPage: 5 });
  });

  it('when the last voucher code of a listing is bought, then the storefront shows it out of stock at once', async () => {
    const voucher = await shop.createItem(t, { kind: 'voucher', deliveryType: 'email' });
    const listing = await shop.createListing(t, { price: 5, items: [{ itemId: voucher }] });
    expect((await t.request('POST', `/admin/items/${voucher}/vouchers`, { token: t.adminToken, body: { codes: ['LAST-ONE'] } })).status).toBe(200);
    expect((await t.request('GET', `/store/items/${listing}`)).body.stockRemaining).toBe(1);
    const player = await shop.fundedPlayer(t, 100);
    const bought = await t.request('POST', '/store/purchases', { token: player.token, headers: shop.key(), body: { listingId: listing } });
    expect(bought.status).toBe(201);
    expect((await t.request('GET', `/store/items/${listing}`)).body.stockRemaining).toBe(0);
  });

  it('when an unlimited listing is bought, then the storefront cache is left alone (no rebuild per purchase)', async () => {
    const potion = await shop.createItem(t, { consumable: true });
    const listing = await shop.createListing(t, { price: 5, items: [{ itemId: potion }] });
    const first = await t.request('GET', `/store/items/${listing}`);
    const player = await shop.fundedPlayer(t, 100);
    expect((await t.request('POST', '/store/purchases', { token: player.token, headers: shop.key(), body: { listingId: listing } })).status).toBe(201);
    // Rendered once per fill: the very same ETag and body bytes mean the cached entry was served, not rebuilt.
    const again = await t.request('GET', `/store/items/${listing}`);
    expect(again.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(again.text).toBe(first.text);
  });
});

describe('a new database behind a Redis that outlived the old one', () => {
  it('when the service starts on a fresh database with the same Redis, then /games and the storefront show nothing of the old database', async () => {
    const prefix = `bb-reset-${randomUUID()}`;
    const old = await startTestApp({ redis: true, env: { REDIS_KEY_PREFIX: prefix } });
    let gameId: string;
    let listingId: string;
    try {
      gameId = (await createGame(old)).id;
      const item = await createItem(old, { name: 'Old Database Skin' });
      listingId = (await createListing(old, { title: 'Old Database Offer', items: [{ itemId: item.id, quantity: 1 }] })).id;
      // Read after the last write, so these pages are what the old database left in Redis.
      expect((await old.request('GET', '/games?limit=100')).body.items.map((game: { id: string }) => game.id)).toContain(gameId);
      expect((await old.request('GET', '/store/items?limit=100')).body.items.map((listing: { id: string }) => listing.id)).toContain(listingId);
      expect((await old.request('GET', `/store/items/${listingId}`)).status).toBe(200);
    } finally {
      await old.close();
    }

    const fresh = await startTestApp({ redis: true, env: { REDIS_KEY_PREFIX: prefix } });
    try {
      expect((await fresh.request('GET', '/games?limit=100')).body).toEqual({ items: [], nextCursor: null });
      expect((await fresh.request('GET', '/admin/games?limit=100', { token: fresh.adminToken })).body).toEqual({ items: [], nextCursor: null });
      expect((await fresh.request('GET', '/store/items?limit=100')).body).toEqual({ items: [], nextCursor: null });
      expect((await fresh.request('GET', `/store/items/${listingId}`)).status).toBe(404);
    } finally {
      await fresh.close();
    }
  });
});
