// What a scenario does before it is measured so that its players are "returning": each of the first `players`
// seeded players sends one request (just-in-time provisioning done, per-player caches filled), as at the start
// of their sessions. The load ends after exactly one request per player; the duration only bounds it.
import { closedLoop } from '../load/autocannon.js';
import type { BenchContext } from './types.js';

export function everyPlayerOnce(ctx: BenchContext, players: number, path: string): Promise<unknown> {
  let next = 0;
  return closedLoop({
    url: ctx.service.baseUrl,
    connections: Math.min(ctx.config.connections, players),
    durationS: 900,
    amount: players,
    request: () => ({ path, headers: { authorization: `Bearer ${ctx.token((next = (next % players) + 1))}` } }),
  });
}
