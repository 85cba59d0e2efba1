// The purchase, as one transaction (the one that also stores the Idempotency-Key's response):
//
//   1. read the listing (no lock)         → not_found, not_available, price_changed, cheap early out_of_stock
//   2. check non-consumable ownership     → already_owned (inventory's unique (user, item) is the real guard)
//   3. count units against the user limit → purchase_limit_reached (conditional upsert: locks one per-user row)
//   4. debit the wallet                   → insufficient_funds (conditional UPDATE: locks the user's wallet row)
//   5. write the order and its lines      (one per live key: the key's fenced store, platform/idempotency.ts)
//   6. fulfil every line                  → grants, effects, voucher codes (out_of_stock), jobs
//      (4–6 are sent in one round trip and checked in this order; with a voucher line, 6 waits for 4's answer)
//   7. take stock of a limited listing    → out_of_stock (conditional UPDATE: locks the listing row)
//
// Locks are always taken in this order — the user's own rows first, the shared listing row last — so two
// purchases can never wait on each other in a cycle, and the lock every buyer of a limited drop contends for is
// held only for the last statements before COMMIT.
import { settleInOrder, type Tx } from '../../platform/db.js';
import { refuseIfFails, type IdempotentWork } from '../../platform/idempotency.js';
import { DomainError } from '../../platform/errors.js';
import type { CatalogService, DeliveryType, PurchasableListing } from '../catalog/index.js';
import type { WalletService } from '../wallet/index.js';
import type { InventoryService } from '../inventory/index.js';
import type { FulfillmentService, ShippingAddress } from '../fulfillment/index.js';
import * as repo from './purchases.repository.js';
import { newRowId } from '../../platform/ids.js';

export interface PurchaseRequest {
  userId: string;
  listingId: string;
  quantity: number;
  expectedPrice?: number;
  shippingAddress?: ShippingAddress;
  idempotencyKey: string;
}

export interface PurchaseView {
  id: string;
  status: 'completed';
  listingId: string;
  quantity: number;
  unitPrice: number;
  totalPrice: number;
  balanceAfter: number;
  lines: Array<{ id: string; itemId: string; quantity: number; deliveryType: DeliveryType; fulfillment: { id: string; status: string } }>;
  createdAt: string;
}

/** What a committed purchase changed beyond the buyer's own rows, for the caller's post-commit invalidations. */
export interface PurchaseEffects {
  /** A limited listing's stock or a voucher pool shrank: the storefront's `stockRemaining` is out of date. */
  storefrontChanged: boolean;
}

export interface PurchaseDeps {
  catalog: CatalogService;
  wallet: WalletService;
  inventory: InventoryService;
  fulfillment: FulfillmentService;
}

function assertOnSale(listing: PurchasableListing, now: Date): void {
  if (!listing.active) throw new DomainError('not_available', 'this listing is not on sale');
  if (listing.startsAt && listing.startsAt > now) throw new DomainError('not_available', 'this listing is not on sale yet', { startsAt: listing.startsAt.toISOString() });
  if (listing.endsAt && listing.endsAt <= now) throw new DomainError('not_available', 'this listing is no longer on sale', { endsAt: listing.endsAt.toISOString() });
  if (listing.items.length === 0) throw new DomainError('not_available', 'this listing has nothing to sell');
}

/**
 * The purchase as idempotent work: step 1 (the listing, a plain read) leaves in the Idempotency-Key's own round
 * trip, with BEGIN and the key's lock, and the steps after it run once the key says the purchase may run.
 */
export function purchaseWork(deps: PurchaseDeps, request: PurchaseRequest, effects?: PurchaseEffects): IdempotentWork<PurchasableListing | undefined> {
  return {
    readAhead: (tx) => deps.catalog.getListingForPurchaseInTx(tx, request.listingId),
    run: async (tx, readAhead) => {
      // A read that queued behind an admin PATCH is read again, so the order sells one version of the listing.
      let listing = readAhead;
      while (listing?.moved) listing = await deps.catalog.getListingForPurchaseInTx(tx, request.listingId);
      const body = await placePurchaseInTx(tx, deps, request, listing);
      if (effects) effects.storefrontChanged = sellsCountedStock(listing!);
      return { status: 201, body };
    },
  };
}

/**
 * Whether buying the listing changes a count the storefront shows: its own stock, or the code pool of a mailed item.
 * The pool counts for every item delivered by email (STOCK_REMAINING in listings.repository.ts), not only for the
 * voucher kind: a mailed skin's sale used to leave the old count (and its ETag) cached.
 */
function sellsCountedStock(listing: PurchasableListing): boolean {
  return listing.stockRemaining !== null || listing.items.some((item) => item.deliveryType === 'email');
}

/** Steps 1–7 on the listing read in this transaction (`undefined`: no such listing). */
async function placePurchaseInTx(tx: Tx, deps: PurchaseDeps, request: PurchaseRequest, listing: PurchasableListing | undefined): Promise<PurchaseView> {
  const { userId, quantity } = request;
  if (!listing) throw new DomainError('not_found', 'listing not found');
  assertOnSale(listing, new Date());
  if (request.expectedPrice !== undefined && request.expectedPrice !== listing.price) {
    throw new DomainError('price_changed', 'the price of this listing has changed', { price: listing.price, expectedPrice: request.expectedPrice });
  }

  // Owned once means what the catalog means by it (listings.repository): a non-consumable kept in inventory. A
  // non-consumable voucher, parcel or effect never lands there, so it may be bought several at a time, as it may
  // be bought again.
  const ownedOnce = listing.items.filter((item) => !item.consumable && item.deliveryType === 'inventory').map((item) => item.id);
  if (ownedOnce.length > 0 && quantity > 1) {
    throw new DomainError('validation_failed', 'this listing contains items owned once; buy it with quantity 1', { quantity });
  }
  if (listing.items.some((item) => item.deliveryType === 'shopify') && !request.shippingAddress) {
    throw new DomainError('validation_failed', 'shippingAddress is required: this listing ships a parcel');
  }
  // An early answer for a sold-out drop, without touching its (contended) row; step 7 is the real check.
  if (listing.stockRemaining !== null && listing.stockRemaining < quantity) {
    throw new DomainError('out_of_stock', 'not enough stock left', { stockRemaining: listing.stockRemaining });
  }
  if (listing.perUserLimit !== null && quantity > listing.perUserLimit) {
    throw new DomainError('purchase_limit_reached', `at most ${listing.perUserLimit} per user`, { perUserLimit: listing.perUserLimit });
  }

  if (ownedOnce.length > 0) {
    const owned = await deps.inventory.ownedItemIdsInTx(tx, userId, ownedOnce);
    if (owned.length > 0) throw new DomainError('already_owned', 'you already own an item of this listing', { itemIds: owned });
  }
  if (listing.perUserLimit !== null && !(await repo.takeLimitUnits(tx, userId, listing.id, quantity, listing.perUserLimit))) {
    throw new DomainError('purchase_limit_reached', `at most ${listing.perUserLimit} per user`, { perUserLimit: listing.perUserLimit });
  }

  // Steps 4–6 are sent together, in this order, without waiting for each answer (pipelined: one round trip).
  // PostgreSQL still runs them one after the other in this transaction, taking locks in the same order as before;
  // an answer that says no (short wallet, owned item) throws once it arrives, and everything rolls back. Errors
  // are reported in step order, so a short wallet reads insufficient_funds whatever else failed behind it.
  const orderId = newRowId();
  const totalPrice = listing.price * quantity;
  const debited = totalPrice > 0
    ? deps.wallet.debitUserInTx(tx, {
      userId,
      amount: totalPrice,
      counterparty: 'store_revenue',
      reason: 'purchase',
      referenceType: 'order',
      referenceId: orderId,
      memo: quantity > 1 ? `${listing.title} ×${quantity}` : listing.title,
    })
    : Promise.resolve(undefined);

  const lines = listing.items.map((item) => ({ id: newRowId(), item, quantity: item.quantity * quantity }));
  const ordered = repo.insertOrder(tx, {
    id: orderId,
    userId,
    listingId: listing.id,
    quantity,
    unitPrice: listing.price,
    totalPrice,
    idempotencyKey: request.idempotencyKey,
    shippingAddress: request.shippingAddress ?? null,
    lines: lines.map((line) => ({ id: line.id, itemId: line.item.id, quantity: line.quantity, deliveryType: line.item.deliveryType })),
  });

  const fulfil = () => deps.fulfillment.createForOrderInTx(tx, {
    orderId,
    userId,
    lines: lines.map((line) => ({ orderLineId: line.id, item: line.item, quantity: line.quantity })),
    shippingAddress: request.shippingAddress ?? null,
  });

  // A short wallet is no SQL error: the pipelined statements behind the debit still run before the answer says no.
  // For the buyer's own rows that costs nothing, but voucher codes come from a pool every buyer shares, claimed with
  // SKIP LOCKED: codes held by a purchase that is about to roll back are skipped by the buyers next to it, who then
  // answered out_of_stock with codes left in the pool. A listing with an email (voucher) line therefore claims only
  // once the debit has succeeded — one round trip more, for those listings only.
  const claimsSharedCodes = lines.some((line) => line.item.deliveryType === 'email');
  let debit: Awaited<typeof debited>;
  let createdAt: Date;
  let fulfillments: Awaited<ReturnType<typeof fulfil>>;
  if (claimsSharedCodes) {
    [debit, { created_at: createdAt }] = await settleInOrder([debited, ordered]);
    fulfillments = await fulfil();
  } else {
    [debit, { created_at: createdAt }, fulfillments] = await settleInOrder([debited, ordered, fulfil()]);
  }
  let balanceAfter = debit?.balanceAfter;

  // A functional line may have credited gems (a gem pack): the buyer sees the balance after everything.
  if (balanceAfter === undefined || lines.some((line) => line.item.deliveryType === 'functional')) {
    balanceAfter = await deps.wallet.getBalance(userId, tx);
  }

  // Step 7 is not waited for: it travels with the key's response and the COMMIT, so the listing's row, which every
  // buyer of a limited listing takes, is never held across a round trip to this process. Waiting for its answer
  // before sending them held it for one; an instance that stopped answering there (a pause, a frozen VM, a
  // partition) kept it until PostgreSQL ended the session, and every other instance's buyers failed behind it.
  // Not enough units: the statement fails, the transaction rolls back and the key stores out_of_stock.
  if (listing.stockRemaining !== null) {
    refuseIfFails(
      deps.catalog.takeStockWithCommitInTx(tx, listing.id, quantity),
      (error) => (deps.catalog.isOutOfStockFailure(error) ? new DomainError('out_of_stock', 'not enough stock left') : undefined),
    );
  }

  const byLine = new Map(fulfillments.map((f) => [f.orderLineId, f]));
  return {
    id: orderId,
    status: 'completed',
    listingId: listing.id,
    quantity,
    unitPrice: listing.price,
    totalPrice,
    balanceAfter,
    lines: lines.map((line) => {
      const fulfillment = byLine.get(line.id);
      return {
        id: line.id,
        itemId: line.item.id,
        quantity: line.quantity,
        deliveryType: line.item.deliveryType,
        fulfillment: { id: fulfillment?.fulfillmentId ?? '', status: fulfillment?.status ?? 'pending' },
      };
    }),
    createdAt: createdAt.toISOString(),
  };
}
