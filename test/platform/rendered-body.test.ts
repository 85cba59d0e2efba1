// Cached answers rendered once: gzip negotiation, Vary, and one weak ETag for both encodings, checked on the raw
// bytes (node:http does not decode, unlike fetch) for the storefront page and a player's inventory.
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptsGzip } from '../../src/platform/http/rendered-body.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { createItem, createListing } from '../catalog/fixtures.js';
import { fixtures } from '../inventory/fixtures.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
  // Enough listings that the default page is well over the 1 KB below which nothing is compressed.
  for (let i = 0; i < 12; i++) {
    const item = await createItem(t, { name: `Gzip Skin ${i}` });
    await createListing(t, { title: `Gzip Offer ${i} with a long enough title`, price: 10 + i, items: [{ itemId: item.id, quantity: 1 }] });
  }
});
afterAll(async () => t?.close());

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  bytes: Buffer;
}

function rawGet(path: string, headers: Record<string, string>): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${t.baseUrl}${path}`, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, bytes: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

describe('cached answers and Accept-Encoding', () => {
  it('when a client accepts gzip, then the page is gzipped, decodes to the exact identity body, and both share one weak ETag', async () => {
    const plain = await rawGet('/store/items', { 'accept-encoding': 'identity' });
    const zipped = await rawGet('/store/items', { 'accept-encoding': 'gzip, deflate, br' });
    expect(plain.status).toBe(200);
    expect(zipped.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(zipped.headers['content-encoding']).toBe('gzip');
    for (const r of [plain, zipped]) expect(r.headers.vary).toMatch(/accept-encoding/i);
    expect(JSON.parse(plain.bytes.toString('utf8')).items.length).toBeGreaterThanOrEqual(12);
    expect(plain.bytes.length).toBeGreaterThan(1024);
    expect(zipped.bytes.length).toBeLessThan(plain.bytes.length / 2);
    expect(gunzipSync(zipped.bytes).equals(plain.bytes)).toBe(true);
    expect(zipped.headers.etag).toBe(plain.headers.etag);
    expect(Number(zipped.headers['content-length'])).toBe(zipped.bytes.length);

    const revalidated = await rawGet('/store/items', { 'accept-encoding': 'gzip', 'if-none-match': zipped.headers.etag! });
    expect(revalidated.status).toBe(304);
    expect(revalidated.bytes.length).toBe(0);
  });

  it('when a client sends no Accept-Encoding or refuses gzip with q=0, then the body is not compressed', async () => {
    for (const header of [undefined, 'gzip;q=0', 'br', '*;q=0', 'gzip;q=0, *']) {
      const response = await rawGet('/store/items', header === undefined ? {} : { 'accept-encoding': header });
      expect(response.headers['content-encoding'], header).toBeUndefined();
      expect(() => JSON.parse(response.bytes.toString('utf8')), header).not.toThrow();
    }
  });

  it('when a small answer is requested, then it is sent as is even to a gzip client', async () => {
    const response = await rawGet('/store/items?limit=1&fields=id', { 'accept-encoding': 'gzip' });
    expect(response.status).toBe(200);
    expect(response.bytes.length).toBeLessThan(1024);
    expect(response.headers['content-encoding']).toBeUndefined();
  });

  it('when a player reads their inventory twice, then the second read with the ETag is 304, and a new item changes the ETag', async () => {
    const f = fixtures(t);
    const player = await t.player();
    const items = await Promise.all(Array.from({ length: 8 }, (_, i) => f.item({ name: `Inventory gzip item ${i}` })));
    await f.grant(player.id, items.map((itemId) => ({ itemId })));
    const auth = { authorization: `Bearer ${player.token}` };

    const first = await rawGet('/user/inventory', { ...auth, 'accept-encoding': 'gzip' });
    expect(first.status).toBe(200);
    expect(first.headers['cache-control']).toBe('private, no-cache');
    expect(first.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(first.bytes).toString('utf8')).items).toHaveLength(8);

    const again = await rawGet('/user/inventory', { ...auth, 'if-none-match': first.headers.etag! });
    expect(again.status).toBe(304);

    await f.grant(player.id, [{ itemId: await f.item({ name: 'One more' }) }]);
    const changed = await rawGet('/user/inventory', { ...auth, 'if-none-match': first.headers.etag! });
    expect(changed.status).toBe(200);
    expect(changed.headers.etag).not.toBe(first.headers.etag);
    expect(JSON.parse(changed.bytes.toString('utf8')).items).toHaveLength(9);

    // Another player's ETag never matches this player's page (the body, not the URL, is what is hashed).
    const other = await t.player();
    const theirs = await rawGet('/user/inventory', { authorization: `Bearer ${other.token}`, 'if-none-match': first.headers.etag! });
    expect(theirs.status).toBe(200);
  });
});

describe('acceptsGzip', () => {
  it.each([
    [undefined, false],
    ['gzip', true],
    ['GZIP', true],
    ['deflate, gzip;q=0.5', true],
    ['gzip;q=0', false],
    ['gzip; q=0.0', false],
    ['identity', false],
    ['*', true],
    ['*;q=0', false],
    ['gzip;q=0, *', false],
    ['x-gzip', true],
    ['br, deflate', false],
  ])('Accept-Encoding %s → %s', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
    expect(acceptsGzip(header)).toBe(expected);
  });

  it('answers the same for a header after a flood of distinct ones has emptied its memory', () => {
    for (let i = 0; i < 1000; i += 1) expect(acceptsGzip(i % 2 === 0 ? `gzip;q=0.${i + 1}` : `br;v=${i}`)).toBe(i % 2 === 0);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('deflate, gzip;q=0.5')).toBe(true);
  });
});
