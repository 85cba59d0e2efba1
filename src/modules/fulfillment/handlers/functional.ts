// Functional items take effect at once, inside the purchase transaction: `{ "gems": n }` credits n gems per unit
// through the ledger; any other key is a counter (`{ "lives": 3 }`, `{ "name_change": 1 }`) added to
// user_entitlements. `true` counts as 1, so `{ "name_change": true }` unlocks one rename.
import type { Tx } from '../../../platform/db.js';
import { DomainError } from '../../../platform/errors.js';
import type { WalletService } from '../../wallet/index.js';
import type { DeliveryHandler, PlannedLine } from './types.js';

const ENTITLEMENT_RE = /^[a-z][a-z0-9_]{0,62}$/;
const MAX_UNITS = 1_000_000_000;

function effectAmounts(line: PlannedLine): Array<[string, number]> {
  const effect = line.item.effect ?? {};
  const entries = Object.entries(effect).map(([key, raw]): [string, number] => {
    const perUnit = raw === true ? 1 : raw;
    if (typeof perUnit !== 'number' || !Number.isSafeInteger(perUnit) || perUnit <= 0 || perUnit > MAX_UNITS || !ENTITLEMENT_RE.test(key)) {
      // The catalog validates effects; an old or hand-edited row must not half-apply, so the purchase stops.
      throw new DomainError('not_available', `item ${line.item.sku} has an invalid effect "${key}"`);
    }
    return [key, perUnit * line.quantity];
  });
  if (entries.length === 0) throw new DomainError('not_available', `item ${line.item.sku} has no effect`);
  return entries;
}

async function addEntitlements(tx: Tx, userId: string, totals: Map<string, number>): Promise<void> {
  if (totals.size === 0) return;
  await tx.query(
    `INSERT INTO user_entitlements (user_id, entitlement, quantity)
     SELECT $1, e, q FROM unnest($2::text[], $3::bigint[]) AS t(e, q)
     ON CONFLICT (user_id, entitlement)
     DO UPDATE SET quantity = user_entitlements.quantity + EXCLUDED.quantity, updated_at = now()`,
    [userId, [...totals.keys()], [...totals.values()]],
  );
}

export function createFunctionalHandler({ wallet }: { wallet: WalletService }): DeliveryHandler {
  return {
    type: 'functional',
    initialStatus: 'delivered',
    validate(_order, lines) {
      for (const line of lines) effectAmounts(line);
    },
    describe: (line) => `effect applied: ${effectAmounts(line).map(([key, amount]) => `${key} +${amount}`).join(', ')}`,
    async startInTx(tx, order, lines) {
      const counters = new Map<string, number>();
      for (const line of lines) {
        for (const [key, amount] of effectAmounts(line)) {
          if (key === 'gems') {
            // New gems enter the economy: they come from issuance, referenced by the fulfillment that caused them.
            await wallet.creditUserInTx(tx, {
              userId: order.userId,
              amount,
              counterparty: 'issuance',
              reason: 'functional_effect',
              referenceType: 'fulfillment',
              referenceId: line.fulfillmentId,
              memo: `${line.item.sku} ×${line.quantity} (order ${order.orderId})`,
            });
          } else {
            counters.set(key, (counters.get(key) ?? 0) + amount);
          }
        }
      }
      await addEntitlements(tx, order.userId, counters);
    },
  };
}
