import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { expectRevalidates } from '../support/conditional-get.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const admin = () => ({ token: t.adminToken });

describe('games', () => {
  it('when an admin creates games with slots, then GET /games pages through every game exactly once', async () => {
    const slugs = ['alpha-arena', 'beta-brawl', 'gamma-grid', 'delta-drift', 'epsilon-ops'];
    for (const slug of slugs) {
      const created = await t.request('POST', '/admin/games', { ...admin(), body: { slug, name: slug.toUpperCase(), slots: ['weapon_skin', 'emote'] } });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ slug, slots: ['weapon_skin', 'emote'] });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: Array<{ slug: string }>; nextCursor: string | null } } = await t.request('GET', `/games?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((game) => game.slug));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual([...slugs].sort());
  });

  it('when a slug is taken, then 409 conflict; when slots or slug are malformed, then 400', async () => {
    expect((await t.request('POST', '/admin/games', { ...admin(), body: { slug: 'alpha-arena', name: 'Again', slots: [] } })).body.code).toBe('conflict');
    for (const body of [{ slug: 'Bad Slug', name: 'x', slots: [] }, { slug: 'ok-slug', name: 'x', slots: ['Not A Slot'] }, { slug: 'ok-slug', name: '', slots: [] }, { slug: 'ok-slug', name: ' \t\n ', slots: [] }, { slug: 'ok-slug', name: 'x', slots: [], price: 5 }]) {
      const response = await t.request('POST', '/admin/games', { ...admin(), body });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
  });

  it('when an admin renames a game and replaces its slots, then the public list shows it on the next request', async () => {
    const created = await t.request('POST', '/admin/games', { ...admin(), body: { slug: 'zeta-zone', name: 'Zeta', slots: ['emote'] } });
    await t.request('GET', '/games?limit=100'); // warm the cache
    const updated = await t.request('PATCH', `/admin/games/${created.body.id}`, { ...admin(), body: { name: 'Zeta Zone', slots: ['emote', 'banner'] } });
    expect(updated.status).toBe(200);
    const listed = (await t.request('GET', '/games?limit=100')).body.items.find((game: { id: string }) => game.id === created.body.id);
    expect(listed).toMatchObject({ name: 'Zeta Zone', slots: ['emote', 'banner'] });
  });

  it('when a cursor is garbage or the limit is out of range, then 400', async () => {
    for (const query of ['cursor=not-a-cursor', 'limit=0', 'limit=101', 'limit=abc', 'unknown=1']) {
      expect((await t.request('GET', `/games?${query}`)).status).toBe(400);
    }
  });

  it('when a game is unknown, then 404 on read, update and delete', async () => {
    const id = crypto.randomUUID();
    expect((await t.request('GET', `/admin/games/${id}`, admin())).status).toBe(404);
    expect((await t.request('PATCH', `/admin/games/${id}`, { ...admin(), body: { name: 'x' } })).status).toBe(404);
    expect((await t.request('DELETE', `/admin/games/${id}`, admin())).status).toBe(404);
  });

  it('when a game is patched without slots, then its slots are kept (a rename never drops them)', async () => {
    const created = await t.request('POST', '/admin/games', { ...admin(), body: { slug: 'eta-keep', name: 'Eta', slots: ['weapon_skin', 'emote'] } });
    expect(created.status).toBe(201);
    const item = await t.request('POST', '/admin/items', {
      ...admin(),
      body: { sku: 'eta-keep-skin', name: 'Eta Skin', kind: 'game_skin', gameId: created.body.id, slot: 'emote', deliveryType: 'inventory' },
    });
    expect(item.status, item.text).toBe(201);
    const renamed = await t.request('PATCH', `/admin/games/${created.body.id}`, { ...admin(), body: { name: 'Eta Renamed' } });
    expect(renamed.status, renamed.text).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Eta Renamed', slots: ['weapon_skin', 'emote'] });
    const reslugged = await t.request('PATCH', `/admin/games/${created.body.id}`, { ...admin(), body: { slug: 'eta-keep-2' } });
    expect(reslugged.body).toMatchObject({ slug: 'eta-keep-2', slots: ['weapon_skin', 'emote'] });
    expect((await t.request('GET', `/admin/games/${created.body.id}`, admin())).body.slots).toEqual(['weapon_skin', 'emote']);
  });

  it('when game names mix accents, fullwidth and emoji characters, then paging one by one still returns every game exactly once', async () => {
    const names = ['\u{1F600} Smile Arena', '\uFF01 Fullwidth Fight', '\u00E9clair Clash', 'Zulu Zone'];
    for (const [index, name] of names.entries()) {
      expect((await t.request('POST', '/admin/games', { ...admin(), body: { slug: `unicode-${index}`, name, slots: [] } })).status).toBe(201);
    }
    const all = (await t.request('GET', '/games?limit=100')).body.items.map((game: { id: string }) => game.id);
    for (const path of ['/games', '/admin/games']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; body: { items: Array<{ id: string }>; nextCursor: string | null } } =
          await t.request('GET', `${path}?limit=1${cursor ? `&cursor=${cursor}` : ''}`, admin());
        expect(page.status).toBe(200);
        seen.push(...page.body.items.map((game) => game.id));
        cursor = page.body.nextCursor;
      } while (cursor && seen.length <= all.length);
      expect(seen).toEqual(all);
    }
  });

  it('when a game name is long and non-ASCII, then the cursor after it still pages (it is not refused as too long)', async () => {
    const names = ['\u6f22'.repeat(200), '\u{1F3AE}'.repeat(200), `x${'\u0001'.repeat(199)}`];
    for (const [index, name] of names.entries()) {
      const created = await t.request('POST', '/admin/games', { ...admin(), body: { slug: `long-name-${index}`, name, slots: [] } });
      expect(created.status, created.text).toBe(201);
    }
    const all = (await t.request('GET', '/games?limit=100')).body.items.map((game: { id: string }) => game.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; text: string; body: { items: Array<{ id: string }>; nextCursor: string | null } } =
        await t.request('GET', `/games?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status, page.text).toBe(200);
      seen.push(...page.body.items.map((game) => game.id));
      cursor = page.body.nextCursor;
    } while (cursor && seen.length <= all.length);
    expect(seen).toEqual(all);
  });

  it('when GET /games is asked again with its ETag, then 304 without a body; after an admin change, 200 with a new ETag', async () => {
    const created = await t.request('POST', '/admin/games', { ...admin(), body: { slug: 'etag-arena', name: 'Etag Arena', slots: ['emote'] } });
    expect(created.status).toBe(201);
    for (const path of ['/games', '/games?limit=1&fields=slug']) {
      await expectRevalidates(t, path);
      expect((await t.request('GET', path, { headers: { 'if-none-match': '"stale"' } })).status).toBe(200);
    }
    const before = (await t.request('GET', '/games?limit=100')).headers.get('etag')!;
    expect((await t.request('PATCH', `/admin/games/${created.body.id}`, { ...admin(), body: { slots: ['emote', 'banner'] } })).status).toBe(200);
    const after = await t.request('GET', '/games?limit=100', { headers: { 'if-none-match': before } });
    expect(after.status).toBe(200);
    expect(after.body.items.find((game: { id: string }) => game.id === created.body.id).slots).toEqual(['emote', 'banner']);
    expect(after.headers.get('etag')).not.toBe(before);
  });
  it('when a game is named in a platform item\'s compatible games, then DELETE answers 409 and the item stays restricted to it', async () => {
    const only = await t.request('POST', '/admin/games', { ...admin(), body: { slug: 'compat-only', name: 'Compat Only', slots: [] } });
    const other = await t.request('POST', '/admin/games', { ...admin(), body: { slug: 'compat-other', name: 'Compat Other', slots: [] } });
    const avatar = await t.request('POST', '/admin/items', {
      ...admin(),
      body: { sku: 'compat-avatar', name: 'Compat Avatar', kind: 'platform_skin', deliveryType: 'inventory', compatibleGameIds: [only.body.id] },
    });
    expect(avatar.status, avatar.text).toBe(201);

    const refused = await t.request('DELETE', `/admin/games/${only.body.id}`, admin());
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.code).toBe('conflict');
    // Deleting it used to cascade the compatibility row away, and an empty list means "every game".
    expect((await t.request('GET', `/admin/items/${avatar.body.id}`, admin())).body.compatibleGameIds).toEqual([only.body.id]);
    expect((await t.request('GET', `/admin/games/${only.body.id}`, admin())).status).toBe(200);

    // Once no item names it, the game can go; a game nothing refers to is deleted as before.
    const moved = await t.request('PATCH', `/admin/items/${avatar.body.id}`, { ...admin(), body: { compatibleGameIds: [other.body.id] } });
    expect(moved.status, moved.text).toBe(200);
    expect((await t.request('DELETE', `/admin/games/${only.body.id}`, admin())).status).toBe(204);
    expect((await t.request('DELETE', `/admin/games/${other.body.id}`, admin())).status).toBe(409);
  });
});
