// The HTTP caching every public read promises (API.md: ETag and Cache-Control, If-None-Match → 304).
import { expect } from 'vitest';
import type { TestApp } from './app.js';

/** Reads `path`, checks its weak ETag and public Cache-Control and that the ETag revalidates to an empty 304; the ETag. */
export async function expectRevalidates(t: TestApp, path: string): Promise<string> {
  const first = await t.request('GET', path);
  expect(first.status).toBe(200);
  const etag = first.headers.get('etag')!;
  expect(etag).toMatch(/^W\/".+"$/);
  expect(first.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
  const again = await t.request('GET', path, { headers: { 'if-none-match': etag } });
  expect(again.status).toBe(304);
  expect(again.text).toBe('');
  expect(again.headers.get('etag')).toBe(etag);
  return etag;
}
