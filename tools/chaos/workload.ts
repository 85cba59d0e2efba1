// Simulated players (and the game server and operator acting on them) for the bank test. Each runs a random mix
// of purchases, top-ups, grants, uses, equips, refunds and reads until the deadline, and remembers what the
// service acknowledged: those acknowledgements are what the invariants hold the database to afterwards.
// A request that got no answer (the API was killed, a timeout) is retried with the same Idempotency-Key, as a
// well-behaved client does; one that never gets a definitive answer is kept as "unresolved".
import { randomUUID } from 'node:crypto';
import { call, signedPayment, sleep, type Reply } from './client.js';
import { SHIPPING_ADDRESS, type ChaosCatalog } from './catalog.js';

export interface Player {
  id: string;
  token: string;
}

export interface Observations {
  /** Operations started, by kind. */
  ops: Record<string, number>;
  /** Answers by `kind status`. */
  answers: Record<string, number>;
  noAnswer: number;
  retriesSameKey: number;
  /** Any 5xx other than 503 (a 503 is an honest "retry later" during an outage). */
  serverErrors: Array<{ what: string; status: number; body: unknown }>;
  /** Acknowledged orders (201, first answer or replay). */
  orders: Map<string, { userId: string; key: string; listingId: string; quantity: number; totalPrice: number }>;
  /** `userId key` → every order id an answer for that key named. */
  ordersByKey: Map<string, Set<string>>;
  /** A replay that did not repeat the first answer. */
  replayMismatches: Array<{ key: string; first: unknown; replay: unknown }>;
  topUps: Map<string, { userId: string; gems: number }>;
  grants: Map<string, { userId: string; gems: number }>;
  refunds: Set<string>;
  /**
   * Idempotent requests that got no definitive answer within the retry window (typically a claim left
   * in_progress by a killed process: it is taken over after STALE_CLAIM_SECONDS). `retry` asks once more with the
   * same key and records the answer; it resolves to true once the answer is definitive.
   */
  unresolved: Array<{ what: string; key: string; userId: string; retry: () => Promise<boolean> }>;
}

export function newObservations(): Observations {
  return {
    ops: {},
    answers: {},
    noAnswer: 0,
    retriesSameKey: 0,
    serverErrors: [],
    orders: new Map(),
    ordersByKey: new Map(),
    replayMismatches: [],
    topUps: new Map(),
    grants: new Map(),
    refunds: new Set(),
    unresolved: [],
  };
}

export interface WorkloadContext {
  baseUrl: () => string;
  catalog: ChaosCatalog;
  serviceToken: string;
  adminToken: string;
  paymentsSecret: string;
  observations: Observations;
  random: () => number;
  /** How long one idempotent request keeps retrying its key (must outlast an API restart). */
  retryWindowMs: number;
}

/** Mulberry32: a seeded PRNG, so a run's choices can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

// Answers that say nothing about whether the work happened: ask again with the same key.
function isIndefinite(reply: Reply): boolean {
  return reply.status === 0 || reply.status === 502 || reply.status === 503 || reply.status === 504 || (reply.status === 409 && reply.body?.code === 'idempotency_in_progress');
}

function note(ctx: WorkloadContext, what: string, reply: Reply): void {
  const { observations } = ctx;
  if (reply.status === 0) observations.noAnswer++;
  else observations.answers[`${what} ${reply.status}`] = (observations.answers[`${what} ${reply.status}`] ?? 0) + 1;
  if (reply.status >= 500 && reply.status !== 503) observations.serverErrors.push({ what, status: reply.status, body: reply.body });
}

/**
 * Sends one idempotent request until a definitive answer or the retry window closes; same key every time.
 * `onDefinitive` records the answer (now, or when a later retry of an unresolved request gets one).
 */
async function untilDefinitive(ctx: WorkloadContext, what: string, userId: string, key: string, send: () => Promise<Reply>, onDefinitive: (reply: Reply) => Promise<void> = async () => undefined): Promise<Reply | undefined> {
  const deadline = Date.now() + ctx.retryWindowMs;
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) ctx.observations.retriesSameKey++;
    const reply = await send();
    note(ctx, what, reply);
    if (!isIndefinite(reply)) {
      await onDefinitive(reply);
      return reply;
    }
    if (Date.now() > deadline) {
      const retry = async () => {
        const again = await send();
        note(ctx, what, again);
        if (isIndefinite(again)) return false;
        await onDefinitive(again);
        return true;
      };
      ctx.observations.unresolved.push({ what, key, userId, retry });
      return undefined;
    }
    await sleep(150 + Math.floor(ctx.random() * 350));
  }
}

export async function purchase(ctx: WorkloadContext, player: Player, listingId: string, quantity: number, extra: Record<string, unknown> = {}): Promise<Reply | undefined> {
  const key = randomUUID();
  const body = { listingId, quantity, ...extra };
  const send = () => call(ctx.baseUrl(), 'POST', '/store/purchases', { token: player.token, body, headers: { 'idempotency-key': key } });
  const reply = await untilDefinitive(ctx, 'purchase', player.id, key, send, async (answer) => {
    if (answer.status === 201) record(ctx, player, key, answer.body);
  });
  if (reply?.status !== 201) return reply;
  // A client that lost the first answer asks again: it must get the same order, marked as a replay.
  if (ctx.random() < 0.25) {
    const again = await send();
    note(ctx, 'purchase-replay', again);
    if (again.status === 201) {
      record(ctx, player, key, again.body);
      if (again.body?.id !== reply.body.id || again.headers?.get('idempotent-replayed') !== 'true') {
        ctx.observations.replayMismatches.push({ key, first: reply.body, replay: again.body });
      }
    } else if (!isIndefinite(again)) {
      ctx.observations.replayMismatches.push({ key, first: reply.body, replay: { status: again.status, body: again.body } });
    }
  }
  return reply;
}

function record(ctx: WorkloadContext, player: Player, key: string, order: { id: string; listingId: string; quantity: number; totalPrice: number }): void {
  ctx.observations.orders.set(order.id, { userId: player.id, key, listingId: order.listingId, quantity: order.quantity, totalPrice: order.totalPrice });
  const byKey = `${player.id} ${key}`;
  const ids = ctx.observations.ordersByKey.get(byKey) ?? new Set<string>();
  ids.add(order.id);
  ctx.observations.ordersByKey.set(byKey, ids);
}

async function topUp(ctx: WorkloadContext, player: Player): Promise<void> {
  const event = { eventId: `evt_${randomUUID()}`, userId: player.id, gems: 50 + Math.floor(ctx.random() * 200), amountCents: 499, currency: 'USD' };
  const signed = signedPayment(ctx.paymentsSecret, event);
  const send = () => call(ctx.baseUrl(), 'POST', '/webhooks/payments', { rawBody: signed.rawBody, headers: signed.headers });
  // The provider delivers at least once: sometimes twice on purpose.
  const deliveries = ctx.random() < 0.3 ? 2 : 1;
  for (let i = 0; i < deliveries; i++) {
    await untilDefinitive(ctx, 'topup', player.id, event.eventId, send, async (reply) => {
      if (reply.status === 200) ctx.observations.topUps.set(event.eventId, { userId: player.id, gems: event.gems });
    });
  }
}

async function grant(ctx: WorkloadContext, player: Player): Promise<void> {
  const key = randomUUID();
  const body = { userId: player.id, gems: 20 + Math.floor(ctx.random() * 100), reason: 'tournament reward' };
  await untilDefinitive(ctx, 'grant', player.id, key, () =>
    call(ctx.baseUrl(), 'POST', '/service/grants', { token: ctx.serviceToken, body, headers: { 'idempotency-key': key } }), async (reply) => {
    if (reply.status === 201) ctx.observations.grants.set(reply.body.id, { userId: player.id, gems: body.gems });
  });
}

async function useConsumable(ctx: WorkloadContext, player: Player): Promise<void> {
  const inventory = await call(ctx.baseUrl(), 'GET', '/user/inventory?consumable=true&limit=50', { token: player.token });
  note(ctx, 'inventory', inventory);
  const entries = (inventory.body?.items ?? []).filter((e: { quantity: number }) => e.quantity > 0);
  if (inventory.status !== 200 || entries.length === 0) return;
  const entry = pick(ctx.random, entries) as { id: string };
  const key = randomUUID();
  await untilDefinitive(ctx, 'use', player.id, key, () =>
    call(ctx.baseUrl(), 'POST', `/user/inventory/${entry.id}/use`, { token: player.token, body: { quantity: 1 }, headers: { 'idempotency-key': key } }));
}

async function equip(ctx: WorkloadContext, player: Player, characters: Map<string, string>): Promise<void> {
  let characterId = characters.get(player.id);
  if (!characterId) {
    const created = await call(ctx.baseUrl(), 'POST', '/user/characters', { token: player.token, body: { name: 'Bank Runner', gameId: ctx.catalog.gameId } });
    note(ctx, 'character', created);
    if (created.status !== 201) return;
    characterId = created.body.id as string;
    characters.set(player.id, characterId);
  }
  const skins = await call(ctx.baseUrl(), 'GET', '/user/inventory?consumable=false&limit=50', { token: player.token });
  note(ctx, 'inventory', skins);
  const owned = (skins.body?.items ?? []) as Array<{ id: string }>;
  if (skins.status !== 200 || owned.length === 0) return;
  const reply = await call(ctx.baseUrl(), 'PUT', `/user/characters/${characterId}/equipment/${ctx.catalog.slot}`, { token: player.token, body: { inventoryItemId: pick(ctx.random, owned).id } });
  note(ctx, 'equip', reply);
}

async function refund(ctx: WorkloadContext, player: Player): Promise<void> {
  const mine = [...ctx.observations.orders].filter(([id, order]) => order.userId === player.id && !ctx.observations.refunds.has(id));
  if (mine.length === 0) return;
  const [orderId] = pick(ctx.random, mine);
  const key = randomUUID();
  await untilDefinitive(ctx, 'refund', player.id, key, () =>
    call(ctx.baseUrl(), 'POST', `/admin/orders/${orderId}/refund`, { token: ctx.adminToken, body: { reason: 'bank test refund' }, headers: { 'idempotency-key': key } }), async (reply) => {
    if (reply.status === 200) ctx.observations.refunds.add(orderId);
  });
}

async function read(ctx: WorkloadContext, player: Player): Promise<void> {
  const path = pick(ctx.random, ['/user/wallet', '/user/purchases?limit=5', '/user/wallet/transactions?limit=5', '/store/items?limit=10']);
  note(ctx, 'read', await call(ctx.baseUrl(), 'GET', path, { token: player.token }));
}

export async function runPlayer(ctx: WorkloadContext, player: Player, deadline: number, characters: Map<string, string>): Promise<void> {
  const { catalog, random } = ctx;
  const count = (kind: string) => (ctx.observations.ops[kind] = (ctx.observations.ops[kind] ?? 0) + 1);
  while (Date.now() < deadline) {
    const roll = random();
    if (roll < 0.4) {
      count('purchase');
      const kind = random();
      if (kind < 0.35) await purchase(ctx, player, pick(random, catalog.consumables), 1 + Math.floor(random() * 3));
      else if (kind < 0.5) await purchase(ctx, player, catalog.limited.listingId, 1 + Math.floor(random() * 2));
      else if (kind < 0.65) await purchase(ctx, player, pick(random, catalog.skins), 1);
      else if (kind < 0.8) await purchase(ctx, player, catalog.voucher.listingId, 1);
      else if (kind < 0.9) await purchase(ctx, player, catalog.merch.listingId, 1, { shippingAddress: SHIPPING_ADDRESS });
      else await purchase(ctx, player, catalog.functional, 1);
    } else if (roll < 0.5) {
      count('topup');
      await topUp(ctx, player);
    } else if (roll < 0.57) {
      count('grant');
      await grant(ctx, player);
    } else if (roll < 0.7) {
      count('use');
      await useConsumable(ctx, player);
    } else if (roll < 0.78) {
      count('equip');
      await equip(ctx, player, characters);
    } else if (roll < 0.83) {
      count('refund');
      await refund(ctx, player);
    } else {
      count('read');
      await read(ctx, player);
    }
  }
}
