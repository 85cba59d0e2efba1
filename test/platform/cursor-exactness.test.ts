// Every list takes back only the exact cursor it handed out. Node's base64 decoder skips characters outside the
// alphabet, padding and blanks, and stops at a trailing partial byte, so a tampered cursor used to read as the real
// one and answer 200. The catalog's lists (storefront, games, admin items and listings) are checked here; the
// player's and the operators' order lists have their own tests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createGame, createItem, createListing } from '../catalog/fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  await createGame(t);
  await createGame(t);
  for (let i = 0; i < 2; i++) {
    const item = await createItem(t, { name: `Cursor Skin ${i}` });
    await createListing(t, { title: `Cursor Offer ${i}`, price: 5 + i, items: [{ itemId: item.id, quantity: 1 }] });
  }
});
afterAll(async () => t?.close());

function tampered(cursor: string): string[] {
  const middle = Math.floor(cursor.length / 2);
  return [
    `${cursor.slice(0, middle)}!${cursor.slice(middle)}`, // a character outside the alphabet
    `${cursor}==`, // padding
    `${cursor.slice(0, middle)} ${cursor.slice(middle)}`, // a blank
    `${cursor}x`, // a trailing partial byte
  ];
}

describe('a tampered cursor', () => {
  for (const [path, token] of [['/store/items', undefined], ['/games', undefined], ['/admin/items', 'admin'], ['/admin/listings', 'admin']] as const) {
    it(`when ${path} is sent its own cursor with a character added, padding, a blank or a trailing character, then it is 400 validation_failed; the cursor itself still pages`, async () => {
      const auth = token ? { token: t.adminToken } : {};
      const first = await t.request('GET', `${path}?limit=1`, auth);
      expect(first.status, first.text).toBe(200);
      const cursor: string = first.body.nextCursor;
      expect(cursor).toEqual(expect.any(String));
      const next = await t.request('GET', `${path}?limit=1&cursor=${encodeURIComponent(cursor)}`, auth);
      expect(next.status, next.text).toBe(200);
      for (const bad of tampered(cursor)) {
        const response = await t.request('GET', `${path}?limit=1&cursor=${encodeURIComponent(bad)}`, auth);
        expect(response.status, `${path} cursor ${JSON.stringify(bad)}: ${response.text}`).toBe(400);
        expect(response.body.code).toBe('validation_failed');
      }
    });
  }
});
