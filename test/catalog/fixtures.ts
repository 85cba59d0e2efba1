// Builders for catalog tests: everything goes through the admin HTTP API, as an operator would do it.
import { expect } from 'vitest';
import type { TestApp } from '../support/app.js';

let counter = 0;
export const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

export async function createGame(t: TestApp, slots: string[] = ['weapon_skin', 'emote']): Promise<{ id: string; slug: string; slots: string[] }> {
  const response = await t.request('POST', '/admin/games', { token: t.adminToken, body: { slug: unique('game'), name: 'A Game', slots } });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

export async function createItem(t: TestApp, body: Record<string, unknown>): Promise<any> {
  const response = await t.request('POST', '/admin/items', { token: t.adminToken, body: { sku: unique('sku'), name: 'An Item', kind: 'platform_skin', deliveryType: 'inventory', ...body } });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

export async function createListing(t: TestApp, body: Record<string, unknown>): Promise<any> {
  const response = await t.request('POST', '/admin/listings', { token: t.adminToken, body: { title: 'A Listing', price: 100, ...body } });
  expect(response.status, response.text).toBe(201);
  return response.body;
}
