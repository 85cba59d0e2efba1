// OWASP API7:2023 Server Side Request Forgery. The service calls out to exactly one place, Shopify, at a base URL
// that comes from configuration (SHOPIFY_ADMIN_URL) — never from a request. These tests hold that line: no input
// names a URL, and the only outgoing fetch in the code is the Shopify client's.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { loadRoutes } from '../support/fuzz.js';
import { loadConfig } from '../../src/config.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((entry) => (entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : Promise.resolve(entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []))));
  return nested.flat();
}

const URL_LIKE = /url|uri|href|link|callback|webhook|endpoint|host|domain|redirect/i;

describe('API7 server-side request forgery', () => {
  it('when the OpenAPI document is read, then no parameter or body field takes a URL', async () => {
    const spec = (await t.request('GET', '/openapi.json')).body;
    const offenders: string[] = [];
    for (const route of await loadRoutes(t)) {
      for (const name of [...route.pathParams, ...route.queryParams]) if (URL_LIKE.test(name)) offenders.push(`${route.method} ${route.path} ${name}`);
      for (const [name, schema] of Object.entries<any>(route.body?.properties ?? {})) {
        if (URL_LIKE.test(name) || schema?.format === 'uri' || schema?.format === 'url') offenders.push(`${route.method} ${route.path} body.${name}`);
      }
    }
    expect(offenders).toEqual([]);
    expect(JSON.stringify(spec)).not.toMatch(/"format":"uri"/);
  });

  it('when the source is read, then the only outgoing HTTP call is the Shopify client, built from configuration', async () => {
    const root = join(process.cwd(), 'src');
    const callers: string[] = [];
    for (const file of await sourceFiles(root)) {
      const text = await readFile(file, 'utf8');
      if (/\bfetch\(|\bhttp\.request\(|\bhttps\.request\(|from 'undici'|from 'axios'|from 'got'/.test(text)) callers.push(file.slice(root.length + 1));
    }
    expect(callers).toEqual(['modules/fulfillment/shopify/client.ts']);
    const client = await readFile(join(root, 'modules/fulfillment/shopify/client.ts'), 'utf8');
    // The URL is the configured endpoint's base plus a constant path: nothing from an order or a request.
    expect(client).toMatch(/fetch\(`\$\{baseUrl\}\/admin\/api\/\$\{SHOPIFY_API_VERSION\}\/graphql\.json`/);
  });

  it('when SHOPIFY_ADMIN_URL is set, then it is the base URL used; a trailing slash is trimmed and nothing else can change it', () => {
    const config = loadConfig({ SHOPIFY_ADMIN_URL: 'https://battlebucks.myshopify.com/' });
    expect(config.shopifyAdminUrl).toBe('https://battlebucks.myshopify.com');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('when a player puts URLs into the fields that do reach Shopify (the shipping address), then they are data, not destinations', async () => {
    const player = await t.player();
    const response = await t.request('POST', '/store/purchases', {
      token: player.token,
      headers: { 'idempotency-key': 'ssrf-probe' },
      body: { listingId: '00000000-0000-4000-8000-000000000000', quantity: 1, shippingAddress: { name: 'http://169.254.169.254/latest/meta-data/', address1: 'file:///etc/passwd', city: 'gopher://127.0.0.1:6379/_FLUSHALL', zip: '1', country: 'US' } },
    });
    // The listing does not exist: the address is validated as text and never dereferenced.
    expect(response.status).toBe(404);
  });
});
