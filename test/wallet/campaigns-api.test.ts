import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { balanceOf, count, createItem, db, key } from '../purchases/fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const HOUR = 3_600_000;
const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
let slugs = 0;
const slug = (prefix = 'c') => `${prefix}-${++slugs}-${randomUUID().slice(0, 8)}`;

async function createCampaign(body: Record<string, unknown> = {}): Promise<any> {
  const response = await t.request('POST', '/admin/campaigns', { token: t.adminToken, body: { slug: slug(), name: 'Campaign', kind: 'promotion', ...body } });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

async function grant(campaignId: string, body: Record<string, unknown> = {}) {
  return t.request('POST', '/service/grants', {
    token: t.serviceToken, headers: key(), body: { userId: randomUUID(), gems: 10, reason: 'campaign reward', campaignId, ...body },
  });
}

describe('POST /admin/campaigns and GET /admin/campaigns/:id', () => {
  it('when an admin creates a campaign, then it is answered, readable by id, and has given nothing out yet', async () => {
    const body = { slug: slug('spring-cup'), name: 'Spring Cup', kind: 'tournament', startsAt: at(-HOUR), endsAt: at(24 * HOUR), attributes: { brand: 'acme', tiers: [1, 2, 3] } };
    const created = await t.request('POST', '/admin/campaigns', { token: t.adminToken, body });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String), slug: body.slug, name: 'Spring Cup', kind: 'tournament', startsAt: body.startsAt, endsAt: body.endsAt,
      attributes: { brand: 'acme', tiers: [1, 2, 3] }, createdAt: expect.any(String),
    });
    const read = await t.request('GET', `/admin/campaigns/${created.body.id}`, { token: t.adminToken });
    expect(read.status).toBe(200);
    expect(read.body).toEqual({ ...created.body, grants: { count: 0, gems: 0, players: 0 } });
  });

  it('when only the required fields are given, then the window is open-ended and attributes are {}', async () => {
    const created = await createCampaign();
    expect(created).toMatchObject({ startsAt: null, endsAt: null, attributes: {} });
  });

  it('when the slug is taken, then 409 conflict and the first campaign is unchanged', async () => {
    const first = await createCampaign({ name: 'First' });
    const again = await t.request('POST', '/admin/campaigns', { token: t.adminToken, body: { slug: first.slug, name: 'Second', kind: 'collab' } });
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
    expect(again.body).toMatchObject({ code: 'conflict', detail: 'a campaign with this slug already exists' });
    expect(await count(t, 'reward_campaigns WHERE slug = $1', [first.slug])).toBe(1);
  });

  it('when the body is hostile, then 400 validation_failed and nothing is stored', async () => {
    const before = await count(t, 'reward_campaigns');
    const ok = { slug: slug(), name: 'X', kind: 'promotion' };
    const manyKeys = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]));
    const bad: Array<[string, unknown]> = [
      ['name is a number', { ...ok, name: 5 }],
      ['kind unknown', { ...ok, kind: 'raffle' }],
      ['attributes a string', { ...ok, attributes: 'x' }],
      ['attributes an array', { ...ok, attributes: [1] }],
      ['startsAt not a timestamp', { ...ok, startsAt: 'tomorrow' }],
      ['startsAt a number', { ...ok, startsAt: 1700000000 }],
      ['uppercase slug', { ...ok, slug: 'Spring' }],
      ['slug with a space', { ...ok, slug: 'spring cup' }],
      ['slug starting with a dash', { ...ok, slug: '-spring' }],
      ['slug of 64 characters', { ...ok, slug: 'a'.repeat(64) }],
      ['empty slug', { ...ok, slug: '' }],
      ['empty name', { ...ok, name: '' }],
      ['name of 201 characters', { ...ok, name: 'n'.repeat(201) }],
      ['NUL in the name', { ...ok, name: 'a\u0000b' }],
      // PostgreSQL would store U+FFFD for it: the name read back would not be the one sent.
      ['lone surrogate in the name', { ...ok, name: 'a\ud800b' }],
      ['endsAt before startsAt', { ...ok, startsAt: at(HOUR), endsAt: at(-HOUR) }],
      ['endsAt equal to startsAt', { ...ok, startsAt: '2030-01-01T00:00:00Z', endsAt: '2030-01-01T00:00:00.000Z' }],
      ['51 attribute keys', { ...ok, attributes: manyKeys }],
      ['attributes over 16 KiB', { ...ok, attributes: { blob: 'x'.repeat(17 * 1024) } }],
      ['NUL inside attributes', { ...ok, attributes: { note: 'a\u0000b' } }],
      ['year 0 timestamp', { ...ok, startsAt: '0000-01-01T00:00:00Z' }],
      ['unknown field', { ...ok, budget: 100 }],
      ['missing kind', { slug: slug(), name: 'X' }],
    ];
    for (const [what, body] of bad) {
      const response = await t.request('POST', '/admin/campaigns', { token: t.adminToken, body });
      expect(response.status, what).toBe(400);
      expect(response.body.code, what).toBe('validation_failed');
    }
    const window = await t.request('POST', '/admin/campaigns', { token: t.adminToken, body: { ...ok, startsAt: at(HOUR), endsAt: at(-HOUR) } });
    expect(window.body.detail).toBe('endsAt must be after startsAt');
    const broken = await t.request('POST', '/admin/campaigns', { token: t.adminToken, body: '{"slug": "x", ' });
    expect(broken.status).toBe(400);
    expect(await count(t, 'reward_campaigns')).toBe(before);
    // A surrogate pair (an emoji) is one character, not a lone surrogate: accepted and read back as sent.
    const emoji = await t.request('POST', '/admin/campaigns', { token: t.adminToken, body: { ...ok, name: 'Cup 🏆' } });
    expect(emoji.status, emoji.text).toBe(201);
    expect((await t.request('GET', `/admin/campaigns/${emoji.body.id}`, { token: t.adminToken })).body.name).toBe('Cup 🏆');
  });

  it('when the id is unknown or not a uuid, then 404 not_found or 400', async () => {
    const unknown = await t.request('GET', `/admin/campaigns/${randomUUID()}`, { token: t.adminToken });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('not_found');
    const malformed = await t.request('GET', '/admin/campaigns/not-a-uuid', { token: t.adminToken });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('validation_failed');
  });

  it('when the window is inverted behind the API (SQL), then the database refuses it too', async () => {
    await expect(db(t).query(
      `INSERT INTO reward_campaigns (slug, name, kind, starts_at, ends_at) VALUES ($1, 'x', 'other', now(), now() - interval '1 day')`, [slug()],
    )).rejects.toMatchObject({ code: '23514', constraint: 'reward_campaign_window' });
  });
});

describe('PATCH /admin/campaigns/:id', () => {
  it('when an admin renames, re-windows and re-attributes a campaign, then slug, kind and createdAt stay', async () => {
    const created = await createCampaign({ kind: 'collab', startsAt: at(-HOUR), endsAt: at(HOUR), attributes: { brand: 'acme' } });
    const patch = { name: 'Acme x BattleBucks', endsAt: null, attributes: { brand: 'acme', season: 2 } };
    const updated = await t.request('PATCH', `/admin/campaigns/${created.id}`, { token: t.adminToken, body: patch });
    expect(updated.status).toBe(200);
    expect(updated.body).toEqual({ ...created, ...patch });
    const read = await t.request('GET', `/admin/campaigns/${created.id}`, { token: t.adminToken });
    expect(read.body).toMatchObject({ ...created, ...patch });
  });

  it('when the patch would invert the window or touch slug or kind, then 400 and the campaign is unchanged', async () => {
    const created = await createCampaign({ startsAt: at(HOUR), endsAt: at(2 * HOUR) });
    const bad: Array<[string, unknown]> = [
      ['endsAt before the stored startsAt', { endsAt: at(-HOUR) }],
      ['startsAt after the stored endsAt', { startsAt: at(3 * HOUR) }],
      ['slug is fixed', { slug: slug() }],
      ['kind is fixed', { kind: 'other' }],
      ['empty patch', {}],
      ['attributes null', { attributes: null }],
      ['name null', { name: null }],
    ];
    for (const [what, body] of bad) {
      const response = await t.request('PATCH', `/admin/campaigns/${created.id}`, { token: t.adminToken, body });
      expect(response.status, what).toBe(400);
      expect(response.body.code, what).toBe('validation_failed');
    }
    const read = await t.request('GET', `/admin/campaigns/${created.id}`, { token: t.adminToken });
    expect(read.body).toMatchObject(created);
  });

  it('when the campaign does not exist, then 404 not_found', async () => {
    const response = await t.request('PATCH', `/admin/campaigns/${randomUUID()}`, { token: t.adminToken, body: { name: 'Ghost' } });
    expect(response.status).toBe(404);
    expect(response.body.code).toBe('not_found');
    const malformed = await t.request('PATCH', '/admin/campaigns/123', { token: t.adminToken, body: { name: 'Ghost' } });
    expect(malformed.status).toBe(400);
  });
});

describe('GET /admin/campaigns', () => {
  it('when an admin walks the list with a cursor, then every campaign comes once, newest first, ties broken by id', async () => {
    // Rows sharing one created_at: only a (created_at, id) keyset walks them without skipping or repeating.
    await db(t).query(
      `INSERT INTO reward_campaigns (slug, name, kind, created_at)
       SELECT 'tie-' || n || '-' || substr(md5(random()::text), 1, 8), 'Tie ' || n, 'other', '2020-01-01T00:00:00.123456Z'
         FROM generate_series(1, 5) AS n`,
    );
    for (let i = 0; i < 4; i++) await createCampaign();
    const all = (await db(t).query<{ id: string }>('SELECT id FROM reward_campaigns')).rows.map((row) => row.id);

    const seen: any[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=3&cursor=${encodeURIComponent(cursor)}` : '?limit=3';
      const page = await t.request('GET', `/admin/campaigns${query}`, { token: t.adminToken });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor && pages < 100);
    expect(seen.map((c) => c.id).sort()).toEqual([...all].sort());
    expect(new Set(seen.map((c) => c.id)).size).toBe(seen.length);
    for (let i = 1; i < seen.length; i++) expect(Date.parse(seen[i - 1].createdAt)).toBeGreaterThanOrEqual(Date.parse(seen[i].createdAt));
  });

  it('when the last page is exactly full, then its nextCursor is null (no cursor to an empty page)', async () => {
    for (let i = 0; i < 3; i++) await createCampaign();
    const total = await count(t, 'reward_campaigns');
    expect(total).toBeLessThanOrEqual(100);
    const whole = await t.request('GET', `/admin/campaigns?limit=${total}`, { token: t.adminToken });
    expect(whole.status).toBe(200);
    expect(whole.body.items).toHaveLength(total);
    expect(whole.body.nextCursor).toBeNull();
    const first = await t.request('GET', `/admin/campaigns?limit=${total - 1}`, { token: t.adminToken });
    expect(first.body.items).toHaveLength(total - 1);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const last = await t.request('GET', `/admin/campaigns?limit=${total - 1}&cursor=${encodeURIComponent(first.body.nextCursor)}`, { token: t.adminToken });
    expect(last.body.items.map((c: { id: string }) => c.id)).toEqual([whole.body.items[total - 1].id]);
    expect(last.body.nextCursor).toBeNull();
  });

  it('when filtered by kind and active, then only matching campaigns are listed', async () => {
    const live = await createCampaign({ kind: 'collab', startsAt: at(-HOUR), endsAt: at(HOUR) });
    const openEnded = await createCampaign({ kind: 'collab' });
    const ended = await createCampaign({ kind: 'collab', startsAt: at(-2 * HOUR), endsAt: at(-HOUR) });
    const future = await createCampaign({ kind: 'collab', startsAt: at(HOUR) });
    const other = await createCampaign({ kind: 'tournament' });
    const ids = async (query: string) => {
      const response = await t.request('GET', `/admin/campaigns?limit=100&${query}`, { token: t.adminToken });
      expect(response.status).toBe(200);
      return new Set(response.body.items.map((c: { id: string }) => c.id));
    };
    const collabs = await ids('kind=collab');
    expect([live, openEnded, ended, future].every((c) => collabs.has(c.id))).toBe(true);
    expect(collabs.has(other.id)).toBe(false);
    const active = await ids('kind=collab&active=true');
    expect([...active].sort()).toEqual(expect.arrayContaining([live.id, openEnded.id]));
    expect(active.has(ended.id) || active.has(future.id)).toBe(false);
    const inactive = await ids('kind=collab&active=false');
    expect(inactive.has(ended.id) && inactive.has(future.id)).toBe(true);
    expect(inactive.has(live.id) || inactive.has(openEnded.id)).toBe(false);
  });

  it('when the query is hostile, then 400 validation_failed', async () => {
    const forged = (values: unknown) => Buffer.from(JSON.stringify(values)).toString('base64url');
    const queries = [
      'kind=raffle', 'active=maybe', 'limit=0', 'limit=101', 'limit=ten', 'cursor=%%%', 'cursor=bm90LWpzb24', 'unknown=1',
      `cursor=${forged(['2024-02-31T00:00:00.000000Z', randomUUID()])}`, `cursor=${forged(['2024-01-01T00:00:00.000000Z', 'not-a-uuid'])}`,
      `cursor=${forged([1, 2])}`,
    ];
    for (const query of queries) {
      const response = await t.request('GET', `/admin/campaigns?${query}`, { token: t.adminToken });
      expect(response.status, query).toBe(400);
      expect(response.body.code, query).toBe('validation_failed');
    }
    // A real cursor with a stray character or padding reads as the same bytes to Node's base64 decoder: still a 400.
    await createCampaign();
    await createCampaign();
    const cursor = (await t.request('GET', '/admin/campaigns?limit=1', { token: t.adminToken })).body.nextCursor as string;
    for (const tampered of [`${cursor.slice(0, 2)}!${cursor.slice(2)}`, `${cursor}==`]) {
      const response = await t.request('GET', `/admin/campaigns?limit=1&cursor=${encodeURIComponent(tampered)}`, { token: t.adminToken });
      expect(response.status, tampered).toBe(400);
    }
    expect((await t.request('GET', `/admin/campaigns?limit=1&cursor=${cursor}`, { token: t.adminToken })).status).toBe(200);
  });
});

describe('who may call the campaign API', () => {
  it('when a player or a service calls it, then 403; without a token, then 401; nothing is created', async () => {
    const campaign = await createCampaign();
    const before = await count(t, 'reward_campaigns');
    const player = await t.player();
    const calls: Array<[string, string, unknown?]> = [
      ['POST', '/admin/campaigns', { slug: slug(), name: 'X', kind: 'other' }],
      ['GET', '/admin/campaigns'],
      ['GET', `/admin/campaigns/${campaign.id}`],
      ['PATCH', `/admin/campaigns/${campaign.id}`, { name: 'Hijacked' }],
    ];
    for (const [method, path, body] of calls) {
      for (const [token, status] of [[player.token, 403], [t.serviceToken, 403], [undefined, 401]] as const) {
        const response = await t.request(method, path, { token, body });
        expect(response.status, `${method} ${path}`).toBe(status);
        expect(response.body.code).toBe(status === 403 ? 'forbidden' : 'unauthorized');
      }
    }
    expect(await count(t, 'reward_campaigns')).toBe(before);
    expect((await t.request('GET', `/admin/campaigns/${campaign.id}`, { token: t.adminToken })).body.name).toBe(campaign.name);
  });
});

describe('grants attributed to a campaign', () => {
  it('when the campaign has not started or has ended, then 409 not_available and nothing is granted', async () => {
    const future = await createCampaign({ startsAt: at(HOUR), endsAt: at(2 * HOUR) });
    const ended = await createCampaign({ startsAt: at(-2 * HOUR), endsAt: at(-HOUR) });
    for (const [campaign, words] of [[future, 'has not started yet'], [ended, 'has ended']] as const) {
      const userId = randomUUID();
      const response = await grant(campaign.id, { userId });
      expect(response.status).toBe(409);
      expect(response.body.code).toBe('not_available');
      expect(response.body.detail).toContain(campaign.slug);
      expect(response.body.detail).toContain(words);
      expect(await count(t, 'grants WHERE campaign_id = $1', [campaign.id])).toBe(0);
      expect(await balanceOf(t, userId)).toBe(0);
    }
  });

  it('when an ended campaign is reopened by a PATCH, then grants follow the stored window', async () => {
    const campaign = await createCampaign({ startsAt: at(-2 * HOUR), endsAt: at(-HOUR) });
    const headers = key();
    const body = { userId: randomUUID(), gems: 10, reason: 'late reward', campaignId: campaign.id };
    const refused = await t.request('POST', '/service/grants', { token: t.serviceToken, headers, body });
    expect(refused.status).toBe(409);
    const reopened = await t.request('PATCH', `/admin/campaigns/${campaign.id}`, { token: t.adminToken, body: { endsAt: at(HOUR) } });
    expect(reopened.status).toBe(200);
    expect((await grant(campaign.id)).status).toBe(201);
    // The refusal was stored with its key: a retry of that request replays it rather than granting late.
    const retried = await t.request('POST', '/service/grants', { token: t.serviceToken, headers, body });
    expect(retried.status).toBe(409);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(await balanceOf(t, body.userId)).toBe(0);
  });

  it('when grants are made within the window, then the campaign detail counts grants, gems and distinct players', async () => {
    const campaign = await createCampaign({ kind: 'tournament', startsAt: at(-HOUR), endsAt: at(HOUR) });
    const itemId = await createItem(t, { consumable: true, maxStack: 50 });
    const [alice, bob] = [randomUUID(), randomUUID()];
    for (const body of [{ userId: alice, gems: 100 }, { userId: alice, gems: 50 }, { userId: bob, gems: 0, items: [{ itemId, quantity: 2 }] }]) {
      const response = await grant(campaign.id, body);
      expect(response.status, response.text).toBe(201);
      expect(response.body.campaignId).toBe(campaign.id);
    }
    await grant(randomUUID()).then((unknown) => expect(unknown.status).toBe(404));
    const detail = await t.request('GET', `/admin/campaigns/${campaign.id}`, { token: t.adminToken });
    expect(detail.body.grants).toEqual({ count: 3, gems: 150, players: 2 });
    expect(await balanceOf(t, alice)).toBe(150);
  });
});

describe('values PostgreSQL cannot store', () => {
  it('when a grant reason or a signed payment event carries U+0000, then 400 validation_failed, not a 500', async () => {
    const userId = randomUUID();
    const reason = await t.request('POST', '/service/grants', { token: t.serviceToken, headers: key(), body: { userId, gems: 5, reason: 'a\u0000b' } });
    expect(reason.status).toBe(400);
    expect(reason.body.code).toBe('validation_failed');
    for (const event of [
      { eventId: `evt_${randomUUID()}`, userId, gems: 5, amountCents: 100, currency: 'USD', note: 'a\u0000b' },
      { eventId: `evt_\u0000${randomUUID()}`, userId, gems: 5, amountCents: 100, currency: 'USD' },
    ]) {
      const body = JSON.stringify(event);
      const signature = createHmac('sha256', t.config.paymentsWebhookSecret).update(body).digest('hex');
      const response = await t.request('POST', '/webhooks/payments', { body, headers: { 'x-signature': signature } });
      expect(response.status, body).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    expect(await balanceOf(t, userId)).toBe(0);
  });
});

describe('campaign windows at the edges of what can be stored', () => {
  it('when a campaign names an instant outside years 1–9999 in UTC, then it is 400 and stored nowhere, and the admin list still answers', async () => {
    const before = await count(t, 'reward_campaigns');
    // Year 10000 in UTC through its offset, or through PostgreSQL rounding the fraction; year 0 through its offset.
    for (const instant of ['9999-12-31T23:59:59-14:00', '9999-12-31T23:59:59.9999999Z', '0001-01-01T00:00:00+01:00']) {
      const response = await t.request('POST', '/admin/campaigns', { token: t.adminToken, body: { slug: slug(), name: 'Edge', kind: 'promotion', endsAt: instant } });
      expect(response.status, instant).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    expect(await count(t, 'reward_campaigns')).toBe(before);
    expect((await t.request('GET', '/admin/campaigns', { token: t.adminToken })).status).toBe(200);
  });

  it('when a campaign names the last storable second or the Unix epoch itself, then it is accepted and read back as sent', async () => {
    const late = await createCampaign({ startsAt: '1970-01-01T00:00:00Z', endsAt: '9999-12-31T23:59:59Z' });
    expect(late.startsAt).toBe('1970-01-01T00:00:00.000Z');
    expect(late.endsAt).toBe('9999-12-31T23:59:59.000Z');
    expect((await t.request('GET', '/admin/campaigns', { token: t.adminToken })).status).toBe(200);
  });
});
