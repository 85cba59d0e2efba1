// A session advisory lock held on a connection of its own, for start-up work that one instance at a time must do
// (installing pg-boss's queues, seeding the demo catalog): outside the pool, which may have one connection and the
// work needs it. The lock dies with the connection if the process does.
import pg from 'pg';
import type { Logger } from 'pino';

export async function whileHoldingSessionLock(
  connection: { connectionString: string; applicationName: string; statementTimeoutMs?: number },
  lockKey: number,
  logger: Logger,
  work: () => Promise<void>,
): Promise<void> {
  const client = new pg.Client({
    connectionString: connection.connectionString,
    connectionTimeoutMillis: 5000,
    application_name: connection.applicationName,
    ...(connection.statementTimeoutMs !== undefined ? { statement_timeout: connection.statementTimeoutMs } : {}),
  });
  client.on('error', (error) => logger.warn({ err: error, lock: connection.applicationName }, 'session lock connection error'));
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [lockKey]);
    await work();
  } finally {
    await client.end().catch(() => undefined);
  }
}
