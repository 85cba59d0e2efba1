// The purchase's shape without its work, to tell the two costs apart: one HTTP request running one transaction
// through the service's own database layer (pipelining, corked writes, prepared statements) with the purchase's
// 10 statements in its 3 round trips — BEGIN with three reads, then four reads, then one small row written and the
// COMMIT — where every read is a constant. What a purchase costs above this figure is its row work:
// the rows, index entries, foreign-key checks and CHECK constraints of the ledger, order, fulfillment, inventory
// and key writes (docs/purchases.md § Fourth round).
import Fastify from 'fastify';
import { openDatabase, prepared, settleInOrder } from '../src/platform/db.js';
import { LISTEN_BACKLOG, reportListening, serveParent } from './child-side.js';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is required');
const db = await openDatabase({ url });
await db.query('CREATE TABLE IF NOT EXISTS bench_floor (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text NOT NULL)');

const read = (step: number) => prepared(`SELECT ${step} AS step, $1::text AS note`);
const [lock, key, listing, debit, order, fulfil, grant] = [1, 2, 3, 4, 5, 6, 7].map(read) as [string, string, string, string, string, string, string];
const WRITE = prepared('INSERT INTO bench_floor (note) VALUES ($1)');

const app = Fastify({ logger: false, connectionTimeout: 30_000, requestTimeout: 30_000, keepAliveTimeout: 72_000 });
app.post('/floor', async () => {
  await db.withTx(async (tx) => {
    await settleInOrder([tx.query(lock, ['key']), tx.query(key, ['key']), tx.query(listing, ['listing'])]);
    await settleInOrder([tx.query(debit, ['w']), tx.query(order, ['o']), tx.query(fulfil, ['f']), tx.query(grant, ['i'])]);
    // Left in flight, as the key's response is: it leaves with the COMMIT.
    void tx.query(WRITE, ['response']).catch(() => undefined);
  });
  return { ok: true };
});

serveParent(async () => {
  await app.close();
  await db.close();
});
await app.listen({ port: 0, host: '127.0.0.1', backlog: LISTEN_BACKLOG });
const address = app.server.address();
reportListening(typeof address === 'object' && address ? address.port : 0);
