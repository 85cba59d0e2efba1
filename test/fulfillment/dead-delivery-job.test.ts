// A delivery job pg-boss gives up on — every run of it stopped without an outcome: its worker killed (kill -9, an OOM)
// or stopped past its grace period, or an error outside the delivery — used to land in pg-boss's shared dead-letter
// queue and nowhere else: the line stayed `pending` for ever, never delivered, absent from ?status=failed, and the
// operator's retry answered 409 (only a failed line can be retried). Found black-box: JOB_MAX_ATTEMPTS=2, the service
// killed twice while the voucher mail was on the wire, the line still pending minutes later.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase } from '../support/database.js';
import { killAllChildren, serviceProcess } from '../../tools/chaos/processes.js';
import { codesInMail, createItem, createUser, fulfillmentRow, placeOrder, startSmtp, waitFor, waitForStatus, type TestSmtp } from './fixtures.js';

let smtp: TestSmtp;
let database: { url: string; drop: () => Promise<void> };
const apps: TestApp[] = [];
const oldDatabases: Array<{ drop: () => Promise<void> }> = [];

beforeAll(async () => {
  smtp = await startSmtp();
  database = await createTestDatabase();
});
afterAll(async () => {
  await killAllChildren();
  for (const app of apps) await app.runtime.close().catch(() => undefined);
  await smtp?.stop();
  await database?.drop();
  for (const old of oldDatabases) await old.drop();
});

describe('a delivery job that pg-boss gives up on', () => {
  it('when the worker is killed (kill -9) during the last run allowed, then the line is failed with an error operators see, and their retry delivers it once', async () => {
    // One run allowed (JOB_MAX_ATTEMPTS=1): the run the kill interrupts is pg-boss's last.
    const env = { SMTP_URL: smtp.url, JOB_MAX_ATTEMPTS: '1', JOB_RETRY_BASE_MS: '100' };
    const setup = await startTestApp({ workers: false, databaseUrl: database.url, env });
    apps.push(setup);
    const itemId = await createItem(setup, { deliveryType: 'email' });
    await setup.request('POST', `/admin/items/${itemId}/vouchers`, { token: setup.adminToken, body: { codes: ['DEAD-JOB-CODE'] } });

    const worker = serviceProcess({ name: 'worker', role: 'worker', readyTimeoutMs: 90_000, env: { ...env, DATABASE_URL: database.url, JWT_SECRET: 'dead-delivery-job-secret-0123456789', SEED_DEMO: 'false', SHOPIFY_ADMIN_URL: 'http://127.0.0.1:9' } });
    await worker.start();
    smtp.mode = 'hang';
    const { fulfillments: [f] } = await placeOrder(setup, { userId: await createUser(setup), items: [{ itemId }] });
    const id = f!.fulfillmentId;
    await waitFor(async () => smtp.hung >= 1, 'the send to hang');
    expect(await worker.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    smtp.forgetHeld(); // that send is never answered
    smtp.mode = 'accept';

    // Another worker takes the dead process's job back (its heartbeat stopped) and fails it: its last run, so
    // pg-boss dead-letters it.
    const second = await startTestApp({ workers: true, databaseUrl: database.url, env });
    apps.push(second);
    const failed = await waitForStatus(second, id, 'failed', 90_000);
    expect(failed.attempts).toBe(1);
    expect(failed.last_error).toMatch(/stopped/);

    const listed = await second.request('GET', '/admin/fulfillments?status=failed', { token: second.adminToken });
    expect(listed.body.items.find((item: { id: string }) => item.id === id)?.error).toMatch(/stopped/);
    const history = await second.request('GET', `/admin/fulfillments/${id}`, { token: second.adminToken });
    expect(history.body.events.map((e: { status: string }) => e.status)).toEqual(['pending', 'failed']);

    const retried = await second.request('POST', `/admin/fulfillments/${id}/retry`, { token: second.adminToken });
    expect(retried.status).toBe(200);
    await waitForStatus(second, id, 'delivered');
    const mails = smtp.mails.filter((m) => m.messageId?.includes(id));
    expect(mails).toHaveLength(1);
    expect(codesInMail(mails[0]!)).toEqual(['DEAD-JOB-CODE']);
    expect((await fulfillmentRow(second, id)).status).toBe('delivered');
  }, 200_000);

  it('when it died before any attempt (its runs never leased the line: the database was gone), then a fresh job is queued and the line is delivered once, not failed', async () => {
    const env = { SMTP_URL: smtp.url, JOB_MAX_ATTEMPTS: '2', JOB_RETRY_BASE_MS: '100' };
    const setup = await startTestApp({ workers: false, databaseUrl: database.url, env });
    apps.push(setup);
    const itemId = await createItem(setup, { deliveryType: 'email' });
    await setup.request('POST', `/admin/items/${itemId}/vouchers`, { token: setup.adminToken, body: { codes: ['NEVER-TRIED-CODE'] } });
    const { fulfillments: [f] } = await placeOrder(setup, { userId: await createUser(setup), items: [{ itemId }] });
    const id = f!.fulfillmentId;
    const { db, jobs } = setup.runtime.deps;
    // What pg-boss does with a job whose runs all failed: it drops the job and queues its dead letter.
    const { rows: [job] } = await db.query<{ id: string }>(`SELECT id FROM pgboss.job WHERE name = 'fulfillment-deliver' AND data->>'fulfillmentId' = $1`, [id]);
    await db.query(`UPDATE pgboss.job SET state = 'failed', completed_on = now() WHERE name = 'fulfillment-deliver' AND id = $1`, [job!.id]);
    await jobs.send(db, 'fulfillment-deliver-dead', { fulfillmentId: id });

    const worker = await startTestApp({ workers: true, databaseUrl: database.url, env });
    apps.push(worker);
    const delivered = await waitForStatus(worker, id, 'delivered');
    expect(delivered.attempts).toBe(1);
    expect(smtp.mails.filter((m) => m.messageId?.includes(id))).toHaveLength(1);
  }, 90_000);

  // pg-boss copies a queue's dead letter onto each job as it is queued: moving the queue alone left a database
  // upgraded from before fulfillment-deliver-dead with jobs still naming the shared queue (a job queued before the
  // deploy and killed by it went there, its line pending for ever), and the dead letters already there unread.
  it('when the database predates fulfillment-deliver-dead, then the upgrade moves its queued delivery jobs and the dead letters they left in the shared queue, and both lines are delivered', async () => {
    const old = await createTestDatabase();
    oldDatabases.push(old);
    const env = { SMTP_URL: smtp.url, JOB_MAX_ATTEMPTS: '1', JOB_RETRY_BASE_MS: '100' };
    const before = await startTestApp({ workers: false, databaseUrl: old.url, env });
    apps.push(before);
    // The previous version's wiring: every queue's dead letters go to the shared queue, which nothing works.
    await before.runtime.deps.db.query(`UPDATE pgboss.queue SET dead_letter = 'dead-letter' WHERE name = 'fulfillment-deliver'`);
    const itemId = await createItem(before, { deliveryType: 'email' });
    await before.request('POST', `/admin/items/${itemId}/vouchers`, { token: before.adminToken, body: { codes: ['QUEUED-BEFORE', 'DEAD-BEFORE'] } });
    const lineOf = async (t: TestApp) => (await placeOrder(t, { userId: await createUser(t), items: [{ itemId }] })).fulfillments[0]!.fulfillmentId;
    const jobOf = async (t: TestApp, id: string) =>
      (await t.runtime.deps.db.query<{ id: string }>(`SELECT id FROM pgboss.job WHERE name = 'fulfillment-deliver' AND data->>'fulfillmentId' = $1`, [id])).rows[0]!.id;
    const queued = await lineOf(before);
    const deadBefore = await lineOf(before);
    await before.runtime.deps.jobs.boss.fail('fulfillment-deliver', await jobOf(before, deadBefore)); // its only run: dead-lettered

    const upgraded = await startTestApp({ workers: false, databaseUrl: old.url, env });
    apps.push(upgraded);
    await upgraded.runtime.deps.jobs.boss.fail('fulfillment-deliver', await jobOf(upgraded, queued)); // queued before, dies after
    const { rows } = await upgraded.runtime.deps.db.query<{ name: string; line: string }>(
      `SELECT name, data->>'fulfillmentId' AS line FROM pgboss.job WHERE name IN ('dead-letter', 'fulfillment-deliver-dead') ORDER BY name, line`,
    );
    expect(rows).toEqual([queued, deadBefore].sort().map((line) => ({ name: 'fulfillment-deliver-dead', line })));

    const worker = await startTestApp({ workers: true, databaseUrl: old.url, env });
    apps.push(worker);
    for (const id of [queued, deadBefore]) {
      await waitForStatus(worker, id, 'delivered');
      expect(smtp.mails.filter((m) => m.messageId?.includes(id)), id).toHaveLength(1);
    }
  }, 90_000);
});
