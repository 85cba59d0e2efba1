// Two instances on one database and one Redis: a player's write answered by one instance must be seen by the
// player's very next read on the other (API.md: the inventory is "cached per user with invalidation on every
// change"), for every per-user cache: the inventory pages, one character and the character list.
//
// Found black-box 2026-11-25 on two service processes and one Redis: 40 players alternating use-on-one /
// read-on-the-other, while the instances were busy, saw the stack from before their use a few times in a thousand reads.
// Logging showed the reading instance had received the write's announcement in the same turn of its event loop as
// the read, and handled the read first, with the version before the write. A Redis proxy (below) reproduces that
// turn every time: it holds the announcement, and the read and the announcement are written in the same tick, the
// read first.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { fixtures } from './fixtures.js';

/** A TCP proxy to the real Redis that, while holding, keeps what Redis sends to subscribed connections until released. */
async function startAnnouncementGate() {
  const target = new URL(TEST_REDIS_URL);
  const links = new Set<{ client: net.Socket; subscribed: boolean; held: Buffer[] }>();
  let holding = false;
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: target.hostname, port: Number(target.port || 6379) });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const link = { client, subscribed: false, held: [] as Buffer[] };
    links.add(link);
    client.on('data', (chunk) => {
      if (/subscribe/i.test(chunk.toString('latin1'))) link.subscribed = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => (holding && link.subscribed ? link.held.push(chunk) : client.write(chunk)));
    const close = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) socket.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(TEST_REDIS_URL);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    hold: () => void (holding = true),
    heldBytes: () => [...links].reduce((sum, link) => sum + link.held.reduce((n, chunk) => n + chunk.length, 0), 0),
    /** Delivers what was held (in this tick) and stops holding. */
    release() {
      holding = false;
      for (const link of links) for (const chunk of link.held.splice(0)) link.client.write(chunk);
    },
    close: () => new Promise<void>((resolve) => {
      for (const link of links) link.client.destroy();
      server.close(() => resolve());
    }),
  };
}
type AnnouncementGate = Awaited<ReturnType<typeof startAnnouncementGate>>;

let a: TestApp;
let b: TestApp;
let gate: AnnouncementGate;
let f: ReturnType<typeof fixtures>;

beforeAll(async () => {
  gate = await startAnnouncementGate();
  a = await startTestApp({ redis: true, env: { REDIS_URL: gate.url } });
  b = await startTestApp({ redis: true, databaseUrl: a.config.databaseUrl, env: { REDIS_URL: gate.url } });
  f = fixtures(a);
});
afterAll(async () => {
  await b?.close();
  await a?.close();
  await gate?.close();
});

/**
 * GET `path` on `app` over a connection it has already accepted, written in the same tick as the held announcements
 * are released, the request first: both reach the instance in one turn of its event loop.
 */
async function readInTheTurnOfTheAnnouncement(app: TestApp, path: string, token: string): Promise<any> {
  const { hostname, port } = new URL(app.baseUrl);
  const socket = net.connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  await new Promise((resolve) => setTimeout(resolve, 50)); // accepted and being read by the instance
  const chunks: Buffer[] = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  expect(gate.heldBytes(), 'the announcement is held').toBeGreaterThan(0);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`);
  gate.release();
  await ended;
  const text = Buffer.concat(chunks).toString('utf8');
  const [head, body] = [text.slice(0, text.indexOf('\r\n\r\n')), text.slice(text.indexOf('\r\n\r\n') + 4)];
  expect(head.split('\r\n')[0], text).toBe('HTTP/1.1 200 OK');
  return JSON.parse(body);
}

describe('per-user caches across two instances on one Redis', () => {
  it("when a write's announcement reaches the other instance in the same turn as the player's next read there, then the read shows the write", async () => {
    const gameId = await f.game();
    const lives = await f.item({ kind: 'game_item', gameId, consumable: true, maxStack: 10 });
    const skin = await f.item({ gameId, slot: 'weapon_skin' });
    const player = await a.player();
    const [livesEntry, skinEntry] = await f.grant(player.id, [{ itemId: lives, quantity: 5 }, { itemId: skin }]);
    const hero = (await a.request('POST', '/user/characters', { token: player.token, body: { name: 'Hero', gameId } })).body;
    const send = (app: TestApp, method: string, path: string, body?: unknown) =>
      app.request(method, path, { token: player.token, body, headers: { 'idempotency-key': f.unique('k') } });
    const pages = ['/user/inventory', `/user/characters/${hero.id}`, '/user/characters'];
    // Both instances have every page cached and know its version.
    for (const app of [a, b]) for (const path of pages) expect((await send(app, 'GET', path)).status).toBe(200);

    gate.hold();
    expect((await send(a, 'POST', `/user/inventory/${livesEntry}/use`, { quantity: 2 })).status).toBe(200);
    const inventory = await readInTheTurnOfTheAnnouncement(b, '/user/inventory', player.token);
    expect(inventory.items.find((e: { id: string }) => e.id === livesEntry).quantity).toBe(3);

    gate.hold();
    expect((await send(a, 'PUT', `/user/characters/${hero.id}/equipment/weapon_skin`, { inventoryItemId: skinEntry })).status).toBe(200);
    const one = await readInTheTurnOfTheAnnouncement(b, `/user/characters/${hero.id}`, player.token);
    expect(one.equipment.map((e: { inventoryItemId: string }) => e.inventoryItemId)).toEqual([skinEntry]);

    gate.hold();
    expect((await send(a, 'PATCH', `/user/characters/${hero.id}`, { name: 'Renamed' })).status).toBe(200);
    const list = await readInTheTurnOfTheAnnouncement(b, '/user/characters', player.token);
    expect(list.items.map((c: { name: string }) => c.name)).toEqual(['Renamed']);
  });
});
