// The ceiling the HTTP scenarios are compared with: Fastify with nothing in front of a route that returns a
// constant. /bare answers a tiny object; /bare-page answers, as a ready string, the body the storefront
// scenario receives (BENCH_BARE_BODY_FILE), so the cost of moving that many bytes is visible on its own.
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { LISTEN_BACKLOG, reportListening, serveParent } from './child-side.js';

const page = process.env.BENCH_BARE_BODY_FILE ? readFileSync(process.env.BENCH_BARE_BODY_FILE, 'utf8') : '{"items":[],"nextCursor":null}';
// The service's connection settings, so that holding many idle connections costs both the same.
const app = Fastify({ logger: false, connectionTimeout: 30_000, requestTimeout: 30_000, keepAliveTimeout: 72_000 });
app.get('/bare', async () => ({ hello: 'world' }));
app.get('/bare-page', async (_request, reply) => reply.type('application/json; charset=utf-8').send(page));

serveParent(() => app.close());
await app.listen({ port: 0, host: '127.0.0.1', backlog: LISTEN_BACKLOG });
const address = app.server.address();
reportListening(typeof address === 'object' && address ? address.port : 0);
