// Listings (admin): offers of one item or a bundle, with price, time window, stock, per-user limit and tags.
// Every write recomputes the listing's denormalized columns in the same transaction and then invalidates the
// storefront, so the next storefront request on any instance sees it.
import type { CoreDeps } from '../../context.js';
import type { Tx } from '../../platform/db.js';
import { DomainError, PG, invalid, notFound, pgConstraint, pgErrorCode } from '../../platform/errors.js';
import type { AdminListingView, CreateListingInput, ListListingsFilter, UpdateListingInput } from './catalog.schemas.js';
import { decodeCreatedCursor, encodeCreatedCursor } from './cursors.js';
import * as repo from './listings.repository.js';

type Line = { itemId: string; quantity: number };

const CONSTRAINT_MESSAGES: Record<string, string> = {
  listing_window: 'endsAt must be after startsAt',
  listing_featured_rank_range: 'featuredRank must be between 0 and 1000000',
  listings_price_check: 'price must be a non-negative integer',
};

function translate(error: unknown): never {
  const code = pgErrorCode(error);
  const constraint = pgConstraint(error) ?? '';
  if (code === PG.checkViolation) throw invalid(CONSTRAINT_MESSAGES[constraint] ?? 'the listing violates a catalog rule', { constraint });
  if (code === PG.foreignKeyViolation && constraint.includes('item_id')) throw notFound('item');
  throw error;
}

function checkWindow(startsAt: string | null, endsAt: string | null): void {
  if (startsAt !== null && endsAt !== null && Date.parse(endsAt) <= Date.parse(startsAt)) throw invalid(CONSTRAINT_MESSAGES.listing_window!);
}

/**
 * Lines with their item ids in the lower case PostgreSQL answers with: a UUID is case-insensitive, and the checks
 * below compare ids as strings (an item named in capitals was "not found", and one named twice in two cases passed).
 */
function normalizeLines(lines: readonly Line[]): Line[] {
  return lines.map((line) => ({ itemId: line.itemId.toLowerCase(), quantity: line.quantity }));
}

function checkLinesShape(lines: readonly Line[]): void {
  const seen = new Set<string>();
  for (const line of lines) {
    if (seen.has(line.itemId)) throw invalid(`item ${line.itemId} appears twice; give it one line with the total quantity`);
    seen.add(line.itemId);
  }
}

/** Every item must exist (404 otherwise); the share lock keeps their definitions still until we commit. */
async function lockLineItems(tx: Tx, lines: readonly Line[]): Promise<void> {
  const items = await repo.lockItemsForShare(tx, lines.map((line) => line.itemId));
  const missing = lines.filter((line) => !items.has(line.itemId)).map((line) => line.itemId);
  if (missing.length) throw new DomainError('not_found', `item not found: ${missing.join(', ')}`, { missingItemIds: missing });
  for (const line of lines) {
    const item = items.get(line.itemId)!;
    if (item.ownedOnce && line.quantity !== 1) {
      throw invalid(`item ${line.itemId} is owned at most once, so its line quantity must be 1`);
    }
    if (item.consumable && item.deliveryType === 'inventory' && line.quantity > item.maxStack) {
      throw invalid(`item ${line.itemId} stacks to ${item.maxStack}; a line cannot hold more`);
    }
  }
}

export function createListingsAdmin({ db }: Pick<CoreDeps, 'db'>, onCatalogChanged: () => Promise<void>) {
  async function get(id: string): Promise<AdminListingView> {
    const listing = await repo.findListing(db, id);
    if (!listing) throw notFound('listing');
    return listing;
  }

  return {
    get,

    async list(filter: ListListingsFilter): Promise<{ items: AdminListingView[]; nextCursor: string | null }> {
      const page = await repo.listListings(db, filter, decodeCreatedCursor('listings', filter.cursor));
      return { items: page.items, nextCursor: encodeCreatedCursor('listings', page.last) };
    },

    async create(input: CreateListingInput): Promise<AdminListingView> {
      const columns: repo.ListingColumns = {
        title: input.title,
        price: input.price,
        startsAt: input.startsAt ?? null,
        endsAt: input.endsAt ?? null,
        stock: input.stock ?? null,
        perUserLimit: input.perUserLimit ?? null,
        tags: [...new Set(input.tags ?? [])],
        featuredRank: input.featuredRank ?? null,
        active: input.active ?? true,
      };
      checkWindow(columns.startsAt, columns.endsAt);
      const lines = normalizeLines(input.items);
      checkLinesShape(lines);
      const id = await db
        .withTx(async (tx) => {
          await lockLineItems(tx, lines);
          const listingId = await repo.insertListing(tx, columns);
          await repo.replaceLines(tx, listingId, lines);
          await repo.refreshDerivedColumns(tx, [listingId]);
          return listingId;
        })
        .catch(translate);
      await onCatalogChanged();
      return get(id);
    },

    async update(id: string, patch: UpdateListingInput): Promise<AdminListingView> {
      const lines = patch.items && normalizeLines(patch.items);
      if (lines) checkLinesShape(lines);
      await db
        .withTx(async (tx) => {
          // Items before the listing, the order an item PATCH takes them in (its item, then the listings that
          // contain it): the other order deadlocked against a concurrent item change.
          if (lines) await lockLineItems(tx, lines);
          // Purchases running now may have read the listing without a stock or a per-user limit, and count nothing
          // against it: a change that sets one waits for them (the per-user counters are then rebuilt from orders,
          // migration 0076). That wait comes before any other lock on the row: holding lockListing's NO KEY UPDATE
          // while waiting deadlocked with a purchase of a limited listing, whose stock update needs that lock.
          if (typeof patch.stock === 'number' || typeof patch.perUserLimit === 'number') await repo.waitForRunningPurchases(tx, id);
          const current = await repo.lockListing(tx, id);
          if (!current) throw notFound('listing');
          // An unlimited listing that gets a stock has sold units too: they count like any other sale.
          const soldUnlimited = typeof patch.stock === 'number' && current.stock === null ? await repo.unlimitedSales(tx, id) : undefined;
          if (soldUnlimited !== undefined) current.sold = soldUnlimited;
          // remaining = total − sold: a total below what was sold would forget the sales, and a later raise would
          // sell them again.
          if (typeof patch.stock === 'number' && current.sold !== null && patch.stock < current.sold) {
            throw new DomainError('invalid_state', `stock cannot be lower than the ${current.sold} units already sold`, { sold: current.sold });
          }
          const merged: repo.ListingColumns = {
            title: patch.title ?? current.title,
            price: patch.price ?? current.price,
            startsAt: patch.startsAt !== undefined ? patch.startsAt : current.startsAt,
            endsAt: patch.endsAt !== undefined ? patch.endsAt : current.endsAt,
            stock: patch.stock !== undefined ? patch.stock : current.stock,
            perUserLimit: patch.perUserLimit !== undefined ? patch.perUserLimit : current.perUserLimit,
            tags: patch.tags ? [...new Set(patch.tags)] : current.tags,
            featuredRank: patch.featuredRank !== undefined ? patch.featuredRank : current.featuredRank,
            active: patch.active ?? current.active,
          };
          checkWindow(merged.startsAt, merged.endsAt);
          if (lines) await repo.replaceLines(tx, id, lines);
          await repo.updateListing(tx, id, merged, patch.stock !== undefined, soldUnlimited);
          await repo.refreshDerivedColumns(tx, [id]);
        })
        .catch(translate);
      await onCatalogChanged();
      return get(id);
    },

    /**
     * A listing nobody ordered is deleted. One with orders is history (orders reference it), so it is
     * deactivated instead: it leaves the storefront and can no longer be bought, and the admin still sees it.
     */
    async remove(id: string): Promise<{ deleted: boolean }> {
      let deleted: boolean;
      try {
        deleted = await repo.deleteListing(db, id);
        if (!deleted) throw notFound('listing');
      } catch (error) {
        if (pgErrorCode(error) !== PG.foreignKeyViolation) throw error;
        if (!(await repo.deactivateListing(db, id))) throw notFound('listing');
        deleted = false;
      }
      await onCatalogChanged();
      return { deleted };
    },
  };
}

export type ListingsAdmin = ReturnType<typeof createListingsAdmin>;
