// The mixed workload: what a crowd of players does at once — mostly browsing the store, checking inventory and
// wallet, now and then buying. Two ways to drive it with 10,000 connections:
//   paced  — 10,000 users, each with its own keep-alive connection and a think time between requests (the target);
//   closed — 10,000 autocannon connections firing back to back: the capacity under that mix, with latency that is
//            by construction about connections ÷ throughput (informational).
import { closedLoop } from '../load/autocannon.js';
import { pacedUsers, type PacedRequest } from '../load/paced-users.js';
import type { BenchContext, Scenario } from './types.js';
import { everyPlayerOnce } from './players.js';

const pick = <T>(values: readonly T[]): T => values[Math.floor(Math.random() * values.length)]!;

/** Share of requests per kind, in percent. */
export const MIX = [
  { weight: 50, kind: 'storefront page' },
  { weight: 10, kind: 'one listing' },
  { weight: 20, kind: 'inventory' },
  { weight: 8, kind: 'wallet' },
  { weight: 4, kind: 'order history' },
  { weight: 3, kind: 'characters' },
  { weight: 5, kind: 'purchase' },
] as const;

export function mixedRequest(ctx: BenchContext, user: number): PacedRequest {
  const auth = { authorization: `Bearer ${ctx.token(user)}` };
  let roll = Math.random() * 100;
  let kind: (typeof MIX)[number]['kind'] = 'storefront page';
  for (const entry of MIX) {
    if (roll < entry.weight) {
      kind = entry.kind;
      break;
    }
    roll -= entry.weight;
  }
  return { kind, ...requestOf(ctx, kind, auth) };
}

function requestOf(ctx: BenchContext, kind: (typeof MIX)[number]['kind'], auth: Record<string, string>): PacedRequest {
  switch (kind) {
    case 'storefront page':
      return { method: 'GET', path: pick(ctx.popularPages) };
    case 'one listing':
      return { method: 'GET', path: `/store/items/${pick(ctx.fixtures.listingIds)}` };
    case 'inventory':
      return { method: 'GET', path: '/user/inventory', headers: auth };
    case 'wallet':
      return { method: 'GET', path: '/user/wallet', headers: auth };
    case 'order history':
      return { method: 'GET', path: '/user/purchases', headers: auth };
    case 'characters':
      return { method: 'GET', path: '/user/characters', headers: auth };
    case 'purchase':
      return {
        method: 'POST',
        path: '/store/purchases',
        headers: { ...auth, 'idempotency-key': ctx.idempotencyKey(), 'content-type': 'application/json' },
        body: JSON.stringify({ listingId: ctx.fixtures.purchaseListingId, quantity: 1 }),
      };
  }
}

const MIX_TEXT = MIX.map((entry) => `${entry.weight}% ${entry.kind}`).join(', ');

export const mixedPaced: Scenario = {
  name: 'mixed-paced',
  title: 'Mixed workload, 10,000 concurrent users (paced)',
  what: `BENCH_MIXED_USERS returning players (each has made a request before, so none is provisioned now), each on its own keep-alive connection, send a request, read the answer, pause for an exponential think time (mean BENCH_MIXED_THINK_MS) and repeat: ${MIX_TEXT}. Users connect spread over BENCH_MIXED_RAMP_S (10,000 connections in a few seconds would overflow the listen backlog while the service is busy, and no crowd arrives that way); only requests sent once all have started are measured, each followed to its end. Errors are any non-2xx answer, socket error or 10 s timeout.`,
  target: { kind: 'latency', p99BelowMs: 500, noErrors: true, text: 'no errors, p99 < 500 ms' },
  // Returning players: each has been seen by this process before (just-in-time provisioning done), as in steady
  // state. Without it, the first requests of thousands of new players are provisioning writes that queue up
  // past the ramp and hold their users out of the measured window.
  prepare: async (ctx) => {
    await everyPlayerOnce(ctx, ctx.config.mixedUsers, '/user/wallet');
  },
  warmupS: 0,
  run: (ctx, durationS) =>
    pacedUsers({
      host: ctx.service.host,
      port: ctx.service.port,
      users: ctx.config.mixedUsers,
      thinkMs: ctx.config.mixedThinkMs,
      rampS: Math.max(ctx.config.mixedRampS, ctx.config.mixedThinkMs / 1000),
      durationS,
      next: (user) => mixedRequest(ctx, user + 1),
    }),
};

export const mixedClosed: Scenario = {
  name: 'mixed-closed',
  title: 'Mixed workload, 10,000 connections back to back (capacity)',
  what: `The same mix from BENCH_MIXED_USERS autocannon connections with no pause: the service's throughput for this mix. Latency here is queueing by construction (≈ connections ÷ throughput) and has no target; socket errors and timeouts still count.`,
  // The paced run just before warmed everything; another 10,000 connections only to throw away would also hold
  // 10,000 more local ports in TIME_WAIT.
  warmupS: 0,
  run: (ctx, durationS) => {
    let next = 0;
    return closedLoop({
      url: ctx.service.baseUrl,
      connections: ctx.config.mixedUsers,
      durationS,
      request: () => {
        next = (next % ctx.config.mixedUsers) + 1;
        return mixedRequest(ctx, next);
      },
    });
  },
};
