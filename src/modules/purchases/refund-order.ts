// A refund reverses a whole order in one transaction. It locks the order's fulfillments first (a Shopify cancellation,
// which refunds from its webhook, takes the same locks in the same order), then the conditional UPDATE of the
// order's status is the guard: a second refund (sequential, or concurrent — it waits on the first's row lock, then sees
// 'refunded') matches no row and pays nothing. Then, in the purchase's own lock order (per-user rows, wallet,
// inventory, fulfillments, the listing row last): limit units, gems, items, fulfillments, stock.
import type { Tx } from '../../platform/db.js';
import { DomainError } from '../../platform/errors.js';
import type { CatalogService } from '../catalog/index.js';
import { operatorMemo, type WalletService } from '../wallet/index.js';
import type { InventoryService } from '../inventory/index.js';
import type { FulfillmentService } from '../fulfillment/index.js';
import * as repo from './purchases.repository.js';

export interface RefundDeps {
  catalog: CatalogService;
  wallet: WalletService;
  inventory: InventoryService;
  fulfillment: FulfillmentService;
}

export async function refundOrderInTx(
  tx: Tx,
  deps: RefundDeps,
  orderId: string,
  meta: { reason: string; actor: string },
): Promise<{ refunded: boolean; amount: number; userId: string }> {
  // The order's fulfillments first, then its row: a Shopify cancellation, which refunds too, locks in this order.
  await deps.fulfillment.lockOrderInTx(tx, orderId);
  const order = await repo.markRefunded(tx, orderId);
  if (!order) {
    const existing = await repo.findOrderOwner(tx, orderId);
    if (!existing) throw new DomainError('not_found', 'order not found');
    return { refunded: false, amount: 0, userId: existing.user_id };
  }
  const reference = `order:${orderId}`;

  await repo.giveBackLimitUnits(tx, order.user_id, order.listing_id, order.quantity);
  if (order.total_price > 0) {
    await deps.wallet.creditUserInTx(tx, {
      userId: order.user_id,
      amount: order.total_price,
      counterparty: 'refunds',
      reason: 'refund',
      referenceType: 'order',
      referenceId: orderId,
      memo: operatorMemo(meta.reason, meta.actor),
    });
  }

  const lines = await repo.findLinesForRefund(tx, orderId);
  // Gems a functional line credited would otherwise stay with the buyer on top of the refund: take back exactly
  // what the ledger credited, not what the item's effect says now (an admin may have edited it since).
  const effectGems = await repo.sumEffectGemsCredited(tx, orderId);
  if (effectGems > 0) {
    await deps.wallet.debitUserInTx(tx, {
      userId: order.user_id,
      amount: effectGems,
      counterparty: 'refunds',
      reason: 'refund',
      referenceType: 'order',
      referenceId: orderId,
      memo: 'gems credited by the order reversed',
    });
  }
  for (const line of lines) {
    if (line.delivery_type !== 'inventory') continue;
    await deps.inventory.revokeItemInTx(tx, { userId: order.user_id, itemId: line.item_id, quantity: line.quantity, reference, actor: meta.actor });
  }
  // Also enqueues (in this transaction) the cancel of a Shopify order that may exist for a cancelled line.
  await deps.fulfillment.cancelOpenForOrderInTx(tx, orderId, `refunded: ${meta.reason}`);
  await deps.catalog.restoreStockInTx(tx, order.listing_id, order.quantity);
  return { refunded: true, amount: order.total_price, userId: order.user_id };
}
