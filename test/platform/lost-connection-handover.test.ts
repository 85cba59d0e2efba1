// R27 (docs/reliability.md): a connection that dies right behind a statement's answer must not end the process.
// pg-pool's pool.query() releases its client from inside the parse loop of that answer; with a transaction waiting
// for a connection, the client is handed to it there and then, before the waiter has attached any listener. A FATAL
// read in the same chunk as the ReadyForQuery was then an 'error' event with nobody listening: an uncaught
// exception. A proxy between the pool and PostgreSQL makes that chunk on purpose.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { openDatabase, type Database } from '../../src/platform/db.js';

/** ErrorResponse FATAL 57P01, as PostgreSQL sends it to a terminated backend's client. */
function fatalTermination(): Buffer {
  const fields = Buffer.concat([
    ...[['S', 'FATAL'], ['V', 'FATAL'], ['C', '57P01'], ['M', 'terminating connection due to administrator command']]
      .map(([type, text]) => Buffer.from(`${type}${text}\0`, 'utf8')),
    Buffer.from([0]),
  ]);
  const header = Buffer.alloc(5);
  header.write('E', 0, 'latin1');
  header.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([header, fields]);
}

/**
 * Forwards to PostgreSQL; once armed, the next server chunk holding a ReadyForQuery goes out with a FATAL glued
 * behind that message, in one write, and the connection is closed.
 */
function startProxy(target: { host: string; port: number }) {
  let armed = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => upstream.write(chunk));
    let pending = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      let offset = 0;
      while (pending.length - offset >= 5) {
        const length = pending.readInt32BE(offset + 1);
        if (pending.length - offset < 1 + length) break;
        const type = String.fromCharCode(pending[offset]!);
        offset += 1 + length;
        if (armed && type === 'Z') {
          armed = false;
          client.end(Buffer.concat([pending.subarray(0, offset), fatalTermination()]));
          upstream.destroy();
          pending = Buffer.alloc(0);
          return;
        }
      }
      client.write(pending.subarray(0, offset));
      pending = pending.subarray(offset);
    });
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', closeBoth).on('close', closeBoth);
    upstream.on('error', closeBoth).on('close', closeBoth);
  });
  return {
    listen: () => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port))),
    arm: () => void (armed = true),
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

let drop: () => Promise<void>;
let proxy: ReturnType<typeof startProxy>;
let db: Database;
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);

beforeAll(async () => {
  const created = await createTestDatabase();
  drop = created.drop;
  const url = new URL(created.url);
  proxy = startProxy({ host: url.hostname, port: Number(url.port || 5432) });
  url.host = `127.0.0.1:${await proxy.listen()}`;
  db = await openDatabase({ url: url.toString(), poolSize: 1 });
});
afterAll(async () => {
  await db?.close();
  await proxy?.close();
  await drop?.();
});

describe('a connection lost right behind an answer, handed to a waiting transaction', () => {
  it('when the FATAL arrives with the ReadyForQuery of a pool.query(), then the process survives, the waiting transaction runs on a new connection, and the pool keeps working', async () => {
    process.prependListener('uncaughtException', onUncaught);
    try {
      await db.query('SELECT 1'); // the pool's one connection exists and is idle
      proxy.arm();
      const statement = db.query<{ n: number }>('SELECT 2 AS n');
      const waiting = db.withTx((tx) => tx.query<{ n: number }>('SELECT 3 AS n'));
      expect((await statement).rows).toEqual([{ n: 2 }]); // its answer was whole; only the connection died after it
      expect((await waiting).rows).toEqual([{ n: 3 }]); // retried on a fresh connection (a lost one is retryable)
      expect((await db.query<{ n: number }>('SELECT 4 AS n')).rows).toEqual([{ n: 4 }]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
