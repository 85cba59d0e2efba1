// Shopify's Retry-After is honoured, but never beyond the one-hour cap of the backoff (docs/fulfillment.md § The
// queue): a Retry-After of 100,000 s (a broken proxy, a misread header) parked a paid parcel for 28 hours, its line
// `pending` with nothing for an operator to see or retry.
import { describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import type { ShopifySimulator } from '../../tools/shopify-simulator/simulator.js';
import { buyMerch, useShopifyStack, waitFor } from './fixtures.js';

const TOKEN = 'shpat_retry_after_cap';
let t: TestApp;
let sim: ShopifySimulator;
useShopifyStack({ accessToken: TOKEN, webhookSecret: 'retry-after-cap-secret', env: { JOB_MAX_ATTEMPTS: '5' } }, (stack) => ({ t, sim } = stack));

describe('Retry-After', () => {
  it('when Shopify asks to wait longer than an hour, then the next attempt is scheduled within the hour', async () => {
    sim.injectFaults({ throttled: { count: 1, retryAfterSeconds: 100_000 } });
    const { fulfillmentId } = await buyMerch(t);
    await waitFor(async () => {
      const detail = await t.request('GET', `/admin/fulfillments/${fulfillmentId}`, { token: t.adminToken });
      return (detail.body.events as Array<{ detail: string }>).some((event) => /retrying in/.test(event.detail));
    }, 'the failed first attempt');
    const { rows: [next] } = await t.runtime.deps.db.query<{ seconds: number }>(
      `SELECT extract(epoch FROM max(start_after) - now())::float8 AS seconds FROM pgboss.job
        WHERE name = 'fulfillment-deliver' AND data->>'fulfillmentId' = $1`,
      [fulfillmentId],
    );
    expect(next!.seconds).toBeGreaterThan(60 * 60 - 120);
    expect(next!.seconds).toBeLessThanOrEqual(60 * 60);
    const detail = await t.request('GET', `/admin/fulfillments/${fulfillmentId}`, { token: t.adminToken });
    expect(detail.body.events.at(-1).detail).toMatch(/Shopify answered 429; retrying in (3600 s|60 min|1 h)/);
  });
});
