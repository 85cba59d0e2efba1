// The operator's knobs that size the service's hold on PostgreSQL: parsed strictly, and actually applied.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/platform/db.js';
import { TEST_DATABASE_URL } from '../support/env.js';

describe('DB_POOL_SIZE', () => {
  it('when unset, then each process keeps up to 20 connections', () => {
    expect(loadConfig({}).dbPoolSize).toBe(20);
  });

  it('when set, then the primary pool is that large', async () => {
    const config = loadConfig({ DB_POOL_SIZE: '7' });
    expect(config.dbPoolSize).toBe(7);
    const db = await openDatabase({ url: TEST_DATABASE_URL, poolSize: config.dbPoolSize });
    try {
      expect((db.pool as unknown as { options: { max: number } }).options.max).toBe(7);
    } finally {
      await db.close();
    }
  });

  it.each(['0', '-3', '2.5', 'many'])('when it is %s, then the service refuses to start with a clear message', (value) => {
    expect(() => loadConfig({ DB_POOL_SIZE: value })).toThrow(ConfigError);
    expect(() => loadConfig({ DB_POOL_SIZE: value })).toThrow(/DB_POOL_SIZE must be an integer >= 1/);
  });
});

describe('secrets left on their published development values', () => {
  it('when the webhook secrets are unset, then they are named among the development secrets the start warns about, as JWT_SECRET is', () => {
    expect(loadConfig({}).developmentSecrets).toEqual(['JWT_SECRET', 'PAYMENTS_WEBHOOK_SECRET', 'SHOPIFY_WEBHOOK_SECRET']);
    expect(loadConfig({ JWT_SECRET: 'a-real-secret', PAYMENTS_WEBHOOK_SECRET: 'p', SHOPIFY_WEBHOOK_SECRET: 's' }).developmentSecrets).toEqual([]);
  });

  it('when a real Shopify is configured without its access token, then the token is named too; the built-in simulator needs none', () => {
    const secrets = { JWT_SECRET: 'j', PAYMENTS_WEBHOOK_SECRET: 'p', SHOPIFY_WEBHOOK_SECRET: 's' };
    expect(loadConfig({ ...secrets, SHOPIFY_ADMIN_URL: 'https://shop.example' }).developmentSecrets).toEqual(['SHOPIFY_ACCESS_TOKEN']);
    expect(loadConfig({ ...secrets, SHOPIFY_ADMIN_URL: 'https://shop.example', SHOPIFY_ACCESS_TOKEN: 'shpat_real' }).developmentSecrets).toEqual([]);
  });
});

describe('WORKERS=only (npm run worker)', () => {
  it('when there is no DATABASE_URL, then the worker refuses to start: the embedded database is private to its process', () => {
    expect(() => loadConfig({ WORKERS: 'only' })).toThrow(/WORKERS=only needs DATABASE_URL/);
    expect(loadConfig({ WORKERS: 'only', DATABASE_URL: 'postgres://127.0.0.1/x' }).workers).toBe('only');
  });
});
