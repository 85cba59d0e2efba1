// A limited listing's stock row is the one row every buyer takes (docs/purchases.md, step 7). The purchase must never
// hold it across a round trip to the service: sent on its own and waited for, the row stayed locked while the answer
// travelled back and the key's response and the COMMIT travelled out, and an instance that stopped answering right
// there (a pause, a frozen VM, a partition) kept it until PostgreSQL ended the session, while every other instance's
// buyers of the listing failed behind it. The stock UPDATE now travels in the COMMIT's own round trip.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { recordStatements, type StatementRecorder } from '../support/statement-recorder.js';
import { count, createItem, createListing, expectLedgerConsistent, fundedPlayer, key } from './fixtures.js';

let t: TestApp;
let recorder: StatementRecorder;

beforeAll(async () => {
  recorder = recordStatements();
  t = await startTestApp();
});
afterAll(async () => {
  recorder.restore();
  await t?.close();
});

const buy = (token: string, listingId: string, headers: Record<string, string> = key()) =>
  t.request('POST', '/store/purchases', { token, headers, body: { listingId } });

describe('the stock row of a limited listing', () => {
  it('when a limited listing is bought, then its stock is taken in the same round trip as the COMMIT, never waited for before it', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 1000 });
    const listing = await createListing(t, { price: 5, stock: 10, items: [{ itemId: potion }] });
    const player = await fundedPlayer(t, 100);
    await buy(player.token, listing); // provisioning, prepared statements

    const { sent, result: response } = await recorder.record(() => buy(player.token, listing));
    const log = sent.map((s) => `${s.roundTrip}: ${s.text.slice(0, 70)}`).join('\n');
    const stock = sent.find((s) => /UPDATE listings SET stock_remaining = stock_remaining -/.test(s.text));
    const commit = sent.find((s) => s.text === 'COMMIT');
    expect(stock, log).toBeDefined();
    expect(commit, log).toBeDefined();
    expect(stock!.roundTrip, log).toBe(commit!.roundTrip);
    expect(response.status, response.text).toBe(201);
    expect(await count(t, 'listings WHERE id = $1 AND stock_remaining = 8', [listing])).toBe(1);
  });

  it('when buyers race for the last units, then those the stock cannot serve answer 409 out_of_stock, stored for their key and replayed, and nothing of theirs is kept', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 1000 });
    const listing = await createListing(t, { price: 5, stock: 5, items: [{ itemId: potion }] });
    const players = await Promise.all(Array.from({ length: 15 }, () => fundedPlayer(t, 100)));
    const keys = players.map(() => key());
    const answers = await Promise.all(players.map((player, i) => buy(player.token, listing, keys[i])));

    expect(answers.filter((a) => a.status === 201)).toHaveLength(5);
    const refused = answers.flatMap((a, i) => (a.status === 201 ? [] : [i]));
    expect(refused).toHaveLength(10);
    for (const i of refused) expect(answers[i]!.body, answers[i]!.text).toMatchObject({ status: 409, code: 'out_of_stock' });
    expect(await count(t, 'listings WHERE id = $1 AND stock_remaining = 0', [listing])).toBe(1);
    expect(await count(t, 'orders WHERE listing_id = $1', [listing])).toBe(5);

    for (const i of refused) {
      const again = await buy(players[i]!.token, listing, keys[i]);
      expect(again.status).toBe(409);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body).toMatchObject({ code: 'out_of_stock' });
      expect(await count(t, 'ledger_accounts WHERE user_id = $1 AND balance = 100', [players[i]!.id])).toBe(1);
    }
    await expectLedgerConsistent(t);
  });
});
