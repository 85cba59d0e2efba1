// Requests Node's HTTP parser refuses before any route runs: they still get a problem+json answer (API.md § Errors),
// not Fastify's bare default body, and nothing behind them runs.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

/** Sends raw bytes and reads until the server closes the connection. */
function raw(request: Buffer | string): Promise<{ statusLine: string; headers: string; body: string }> {
  const { hostname, port } = new URL(t.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      resolve({ statusLine, headers: headerLines.join('\n').toLowerCase(), body });
    });
  });
}

describe('requests the HTTP parser refuses', () => {
  it('when a header value holds a control byte, then 400 validation_failed as problem+json', async () => {
    const answer = await raw('POST /store/purchases HTTP/1.1\r\nHost: x\r\nIdempotency-Key: A\x01B\r\nContent-Length: 2\r\n\r\n{}');
    expect(answer.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(answer.headers).toContain('content-type: application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 400, code: 'validation_failed', title: 'Bad Request' });
  });

  it('when an HTTP/1.1 request has no Host header, then 400 validation_failed as problem+json (Node answered a bare empty 400)', async () => {
    const answer = await raw('GET /games HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(answer.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(answer.headers).toContain('content-type: application/problem+json');
    expect(answer.headers).toContain('x-content-type-options: nosniff');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 400, code: 'validation_failed' });
    // HTTP/1.0 has no Host requirement: the route answers.
    const old = await raw('GET /healthz HTTP/1.0\r\n\r\n');
    expect(old.statusLine).toMatch(/^HTTP\/1\.[01] 200 OK$/);
  });

  it('when the parser refuses a request, then the refusal carries the security headers every other answer carries', async () => {
    for (const request of ['POST /store/purchases HTTP/1.1\r\nHost: x\r\nIdempotency-Key: A\x01B\r\nContent-Length: 2\r\n\r\n{}', `GET /games HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(64 * 1024)}\r\n\r\n`]) {
      const answer = await raw(request);
      expect(answer.headers).toContain('x-content-type-options: nosniff');
      expect(answer.headers).toContain('x-frame-options: sameorigin');
      expect(answer.headers).toMatch(/strict-transport-security: max-age=\d+/);
      expect(answer.headers).toContain('referrer-policy: no-referrer');
    }
  });

  it('when the request line is not HTTP, then 400 validation_failed as problem+json', async () => {
    const answer = await raw('HELLO THERE\r\n\r\n');
    expect(answer.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 400, code: 'validation_failed' });
  });

  it('when the headers are larger than the server accepts, then 431 headers_too_large as problem+json', async () => {
    const answer = await raw(`GET /games HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    expect(answer.statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(answer.headers).toContain('content-type: application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 431, code: 'headers_too_large' });
  });

  it('when the URL alone is longer than the server accepts, then 414 uri_too_long as problem+json (it was 431, as if the headers were too large)', async () => {
    const answer = await raw(`GET /store/items?q=${'a'.repeat(100 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(answer.statusLine).toBe('HTTP/1.1 414 URI Too Long');
    expect(answer.headers).toContain('content-type: application/problem+json');
    expect(answer.headers).toContain('x-content-type-options: nosniff');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 414, code: 'uri_too_long', title: 'URI Too Long' });
  });

  it('when a client sends CONNECT (the service is no proxy), then 405 method_not_allowed as problem+json with the security headers, not a dropped connection', async () => {
    for (const target of ['127.0.0.1:443', '/games']) {
      const answer = await raw(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
      expect(answer.statusLine, target).toBe('HTTP/1.1 405 Method Not Allowed');
      expect(answer.headers).toContain('content-type: application/problem+json');
      expect(answer.headers).toContain('x-content-type-options: nosniff');
      expect(JSON.parse(answer.body)).toMatchObject({ status: 405, code: 'method_not_allowed' });
    }
    // The server still answers ordinary requests afterwards.
    expect((await t.request('GET', '/healthz')).status).toBe(200);
  });

  it('when a request carries an Expect the server does not know, then it is served like any other (RFC 9110 § 10.1.1 allows it), not a bare empty 417', async () => {
    const answer = await raw('GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nConnection: close\r\n\r\n');
    expect(answer.statusLine).toBe('HTTP/1.1 200 OK');
    expect(JSON.parse(answer.body)).toEqual({ status: 'ok' });
    const refused = await raw('GET /user/wallet HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nConnection: close\r\n\r\n');
    expect(refused.statusLine).toBe('HTTP/1.1 401 Unauthorized');
    expect(refused.headers).toContain('content-type: application/problem+json');
    expect(JSON.parse(refused.body)).toMatchObject({ status: 401, code: 'unauthorized' });
  });
});
