// The ceiling the HTTP scenarios are compared with: Fastify with nothing in front of a route that returns a
// constant. /bare answers a tiny object; /bare-page answers, as a ready string, the body the storefront
// scenario receives (BENCH_BARE_BODY_FILE), so the cost of moving that many bytes is visible on its own;
// /bare-answer replays the cached storefront's whole answer as the service sent it (BENCH_BARE_ANSWER_FILE: every
// header and the gzip bytes, with a fresh X-Request-Id each time): what any server pays to send that answer.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { LISTEN_BACKLOG, reportListening, serveParent } from './child-side.js';

const page = process.env.BENCH_BARE_BODY_FILE ? readFileSync(process.env.BENCH_BARE_BODY_FILE, 'utf8') : '{"items":[],"nextCursor":null}';
// The service's connection settings, so that holding many idle connections costs both the same.
const app = Fastify({ logger: false, connectionTimeout: 30_000, requestTimeout: 30_000, keepAliveTimeout: 72_000 });
app.get('/bare', async () => ({ hello: 'world' }));
app.get('/bare-page', async (_request, reply) => reply.type('application/json; charset=utf-8').send(page));
if (process.env.BENCH_BARE_ANSWER_FILE) {
  const answer = JSON.parse(readFileSync(process.env.BENCH_BARE_ANSWER_FILE, 'utf8')) as { headers: Record<string, string>; bodyBase64: string };
  const body = Buffer.from(answer.bodyBase64, 'base64');
  app.get('/bare-answer', async (_request, reply) => reply.headers(answer.headers).header('x-request-id', randomUUID()).send(body));
}

serveParent(() => app.close());
await app.listen({ port: 0, host: '127.0.0.1', backlog: LISTEN_BACKLOG });
const address = app.server.address();
reportListening(typeof address === 'object' && address ? address.port : 0);
