// POST /store/purchases from many players at once, each request a new purchase (a fresh Idempotency-Key).
import { closedLoop } from '../load/autocannon.js';
import type { Scenario } from './types.js';

export const purchases: Scenario = {
  name: 'purchases',
  title: 'POST /store/purchases, many players in parallel',
  what: 'Each request is a new purchase (unique Idempotency-Key) of one unit of an unlimited consumable listing, by the next of BENCH_ACTIVE_USERS players in turn, so no two requests in flight share a wallet and none fails for stock, funds or ownership. Each is the full transaction: key claimed, listing read, wallet debited through the ledger, order and line written, item granted to the inventory, fulfillment recorded, response stored; then the player\'s inventory cache is invalidated.',
  target: { kind: 'ratio', ceiling: 'pgbench', atLeast: 1 / 3, text: '≥ 1/3 of pgbench TPS' },
  ceiling: 'pgbench',
  run: (ctx, durationS) => {
    let next = 0;
    const body = JSON.stringify({ listingId: ctx.fixtures.purchaseListingId, quantity: 1 });
    return closedLoop({
      url: ctx.service.baseUrl,
      connections: ctx.config.connections,
      durationS,
      request: () => {
        next = (next % ctx.config.activeUsers) + 1;
        return {
          method: 'POST',
          path: '/store/purchases',
          headers: { authorization: `Bearer ${ctx.token(next)}`, 'idempotency-key': ctx.idempotencyKey(), 'content-type': 'application/json' },
          body,
        };
      },
    });
  },
};
