// HTTP/1.1 pipelining (RFC 9112 §9.3.2): a server may process pipelined requests in parallel only if they all have
// safe methods. Node hands every request of a pipeline to the application at once, so a purchase and the requests
// pipelined behind it on the same connection ran concurrently (black-box run 2026-11-25): a wallet read sent after
// a purchase answered the balance from before it, and the same purchase sent twice (a client's retry behind its
// first try) got 409 idempotency_in_progress instead of the replayed order.
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createItem, createListing } from '../purchases/fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

/** Writes the requests in one go on one connection and returns the answers in the order they came. */
async function pipeline(requests: string[]): Promise<Array<{ status: number; headers: string; body: any }>> {
  const { port } = new URL(t.baseUrl);
  const socket = net.connect(Number(port), '127.0.0.1');
  let raw = '';
  socket.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
  socket.write(requests.join(''));
  await new Promise((resolve, reject) => {
    socket.on('close', resolve);
    socket.on('error', reject);
    setTimeout(() => reject(new Error('the pipeline was not answered within 20 s')), 20_000);
  });
  const answers: Array<{ status: number; headers: string; body: any }> = [];
  let rest = raw;
  while (rest.length > 0) {
    const headEnd = rest.indexOf('\r\n\r\n');
    const head = rest.slice(0, headEnd);
    const length = Number(/content-length: (\d+)/i.exec(head)![1]);
    const body = Buffer.from(rest.slice(headEnd + 4), 'utf8').subarray(0, length).toString('utf8');
    answers.push({ status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body: JSON.parse(body) });
    rest = rest.slice(headEnd + 4 + body.length);
  }
  return answers;
}

const post = (path: string, token: string, key: string, body: unknown) => {
  const json = JSON.stringify(body);
  return `POST ${path} HTTP/1.1\r\nHost: store\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nIdempotency-Key: ${key}\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;
};
const get = (path: string, token: string, last = false) => `GET ${path} HTTP/1.1\r\nHost: store\r\nAuthorization: Bearer ${token}\r\n${last ? 'Connection: close\r\n' : ''}\r\n`;

describe('pipelined requests on one connection', () => {
  it('when a purchase, its retry with the same key and a wallet read are pipelined, then each runs after the one before it: the retry replays the order and the read sees the purchase', async () => {
    const player = await t.player();
    const grant = await t.request('POST', '/service/grants', { token: t.serviceToken, body: { userId: player.id, gems: 100, reason: 'pipelining' }, headers: { 'idempotency-key': randomUUID() } });
    expect(grant.status).toBe(201);
    const listingId = await createListing(t, { price: 7, items: [{ itemId: await createItem(t, { consumable: true }) }] });
    const key = randomUUID();

    const answers = await pipeline([
      post('/store/purchases', player.token, key, { listingId, quantity: 1 }),
      post('/store/purchases', player.token, key, { listingId, quantity: 1 }),
      get('/user/wallet', player.token),
      post('/store/purchases', player.token, randomUUID(), { listingId, quantity: 2 }),
      get('/user/wallet', player.token, true),
    ]);

    expect(answers.map((a) => a.status)).toEqual([201, 201, 200, 201, 200]);
    expect(answers[1]!.body.id).toBe(answers[0]!.body.id);
    expect(answers[1]!.headers).toContain('idempotent-replayed: true');
    expect(answers[2]!.body.balance).toBe(93);
    expect(answers[3]!.body.balanceAfter).toBe(79);
    expect(answers[4]!.body.balance).toBe(79);
  });

  it('when a client pipelines a burst of 20,000 reads, then the connection is read only as they are answered: a few hundred wait at a time, not the burst', async () => {
    const player = await t.player();
    const server = t.runtime.app.server;
    let parsed = 0;
    let answered = 0;
    let mostWaiting = 0;
    const count = (_request: unknown, response: import('node:http').ServerResponse) => {
      parsed++;
      mostWaiting = Math.max(mostWaiting, parsed - answered);
      response.once('finish', () => answered++);
    };
    server.on('request', count);
    const socket = net.connect(Number(new URL(t.baseUrl).port), '127.0.0.1');
    try {
      socket.on('data', () => undefined);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(get('/user/wallet', player.token).repeat(20_000));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      // Node parses whatever arrives and hands it over at once; the waiting requests held the burst (15,000 parsed
      // and waiting after 1.5 s, 90 MB of heap). One chunk of the connection's data holds ~200 of these reads.
      expect(answered).toBeGreaterThan(100);
      expect(mostWaiting).toBeLessThan(1_000);
    } finally {
      server.off('request', count);
      socket.destroy();
    }
  }, 30_000);

  it('when a pipelined purchase waits its turn with half its body sent, then the rest is read at its turn and it is answered', async () => {
    const player = await t.player();
    await t.request('POST', '/service/grants', { token: t.serviceToken, body: { userId: player.id, gems: 10, reason: 'pipelining' }, headers: { 'idempotency-key': randomUUID() } });
    const listingId = await createListing(t, { price: 3, items: [{ itemId: await createItem(t, { consumable: true }) }] });
    const second = post('/store/purchases', player.token, randomUUID(), { listingId, quantity: 1 }).replace('HTTP/1.1\r\n', 'HTTP/1.1\r\nConnection: close\r\n');
    const cut = second.length - 10;
    const socket = net.connect(Number(new URL(t.baseUrl).port), '127.0.0.1');
    let raw = '';
    socket.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    socket.write(post('/store/purchases', player.token, randomUUID(), { listingId, quantity: 1 }) + second.slice(0, cut));
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.write(second.slice(cut));
    await new Promise((resolve, reject) => {
      socket.on('close', resolve);
      setTimeout(() => reject(new Error('not answered within 10 s')), 10_000);
    });
    expect(raw.match(/HTTP\/1\.1 \d+/g)).toEqual(['HTTP/1.1 201', 'HTTP/1.1 201']);
  }, 30_000);
});
