// A graceful stop with a slow client connected (black-box run 2026-11-25): a connection in the middle of its request
// headers (a slowloris, a client on a bad link) is neither idle, which Node's close() reaps, nor a request the
// service is answering. close() waited for it until its request timeout, and main.ts's 30 s guard ended the process
// with exit code 1: one slow client turned every rollout's graceful stop into a failed one.
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp | undefined;
const sockets: net.Socket[] = [];
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await t?.close().catch(() => undefined);
});

/** Stops the service and expects it gone within 5 s (not the 30 s guard), then the slow client's socket closed. */
async function expectPromptClose(dribbling: NodeJS.Timeout, slowClosed: Promise<unknown>): Promise<void> {
  const started = Date.now();
  const closing = t!.close();
  t = undefined;
  await Promise.race([closing, new Promise((_, reject) => setTimeout(() => reject(new Error('the service did not close within 15 s')), 15_000))]);
  clearInterval(dribbling);
  expect(Date.now() - started).toBeLessThan(5_000);
  await slowClosed;
}

describe('graceful stop with a slow client connected', () => {
  it('when a client is dribbling its request headers, then the service still closes at once (an idle kept-alive connection beside it)', async () => {
    t = await startTestApp();
    const port = Number(new URL(t.baseUrl).port);
    const slow = net.connect(port, '127.0.0.1');
    sockets.push(slow);
    slow.on('error', () => undefined);
    slow.write('GET /user/wallet HTTP/1.1\r\nHost: store\r\n');
    const dribbling = setInterval(() => !slow.destroyed && slow.write('X-Slow: a\r\n'), 100);
    const slowClosed = new Promise((resolve) => slow.on('close', resolve));
    // An idle kept-alive connection (fetch keeps it), which close() reaps as before.
    const token = await t.token('player');
    expect((await t.request('GET', '/user/wallet', { token })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 500));

    await expectPromptClose(dribbling, slowClosed);
  }, 60_000);

  it('when a client is dribbling a purchase body, then the service still closes at once (the purchase never reached its handler: its body is incomplete)', async () => {
    t = await startTestApp();
    const port = Number(new URL(t.baseUrl).port);
    const token = await t.token('player');
    const slow = net.connect(port, '127.0.0.1');
    sockets.push(slow);
    slow.on('error', () => undefined);
    slow.write(`POST /store/purchases HTTP/1.1\r\nHost: store\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nIdempotency-Key: slow-body\r\nContent-Length: 500\r\n\r\n{`);
    const dribbling = setInterval(() => !slow.destroyed && slow.write(' '), 100);
    const slowClosed = new Promise((resolve) => slow.on('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 500));

    await expectPromptClose(dribbling, slowClosed);
  }, 60_000);
});
