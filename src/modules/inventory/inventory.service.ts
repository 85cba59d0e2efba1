import type { CoreDeps } from '../../context.js';
import type { Executor, Tx } from '../../platform/db.js';
import { DomainError } from '../../platform/errors.js';
import { ITEM_DEFINITIONS_CACHE_NS, type CatalogService, type ItemDefinition } from '../catalog/index.js';
import { decodeCursor, encodeCursor, pageOf } from '../../platform/http/pagination.js';
import { invalidateSharedReads } from '../../platform/replica.js';
import { PLAYER_CACHE_GENERATION_NS, PLAYER_PAGE_DEPENDENCIES, inventoryCacheNs, userCacheNamespaces } from './cache-namespaces.js';
import { applyItemEffect, type AppliedEffect } from './effects.js';
import * as repo from './inventory.repository.js';
import { listInventoryPage, type InventoryEntry, type InventoryFilter } from './inventory-list.repository.js';

// Invalidation (a version bump) is what keeps this fresh; the TTL only bounds memory for idle players.
const INVENTORY_TTL_MS = 5 * 60_000;

export type InventorySource = 'purchase' | 'grant';

export interface GrantItems {
  userId: string;
  items: ReadonlyArray<{ itemId: string; quantity: number }>;
  source: InventorySource;
  sourceRef: string; // order id, grant id, …
  actor?: string;
  /**
   * The items' definitions when the caller read them in this same transaction (a purchase holds its listing's):
   * the grant then does not read them again. Any item missing here is read as usual.
   */
  definitions?: ReadonlyArray<Pick<ItemDefinition, 'id' | 'consumable' | 'maxStack'>>;
}

export interface GrantedEntry {
  inventoryItemId: string;
  itemId: string;
  quantity: number; // the stack after the grant
}

export interface InventoryPage {
  items: InventoryEntry[];
  nextCursor: string | null;
}

export interface UseItems {
  userId: string;
  entryId: string;
  quantity: number;
  /** `use` by the player, `consume` by a game server. */
  reason: 'use' | 'consume';
  actor: string;
  reference: string | null;
}

export interface UseResult {
  id: string;
  itemId: string;
  quantity: number; // what is left
  effects: Record<string, AppliedEffect>;
}

/** Sums repeated item ids: one statement cannot upsert the same row twice. */
function mergeLines(items: GrantItems['items']): Map<string, number> {
  const merged = new Map<string, number>();
  for (const { itemId, quantity } of items) merged.set(itemId, (merged.get(itemId) ?? 0) + quantity);
  return merged;
}

export function createInventoryService(deps: CoreDeps, services: { catalog: CatalogService }) {
  const { cache } = deps;

  return {
    /**
     * Adds items to the user's inventory in the caller's transaction: consumables stack (up to maxStack, else
     * DomainError('stack_limit_reached')), a non-consumable already owned → DomainError('already_owned').
     * Records inventory_events. Call invalidateUser(userId) after the transaction commits.
     */
    async grantItemsInTx(tx: Tx, grant: GrantItems): Promise<GrantedEntry[]> {
      const wanted = mergeLines(grant.items);
      if (wanted.size === 0) return [];
      for (const quantity of wanted.values()) {
        if (!Number.isSafeInteger(quantity) || quantity < 1) throw new DomainError('validation_failed', 'item quantities must be positive integers');
      }
      const byId = new Map((grant.definitions ?? []).map((d) => [d.id, d]));
      const unknown = [...wanted.keys()].filter((itemId) => !byId.has(itemId));
      if (unknown.length > 0) {
        for (const definition of await services.catalog.getItemsInTx(tx, unknown)) byId.set(definition.id, definition);
      }
      const lines: repo.GrantLine[] = [];
      for (const [itemId, quantity] of wanted) {
        const item = byId.get(itemId);
        if (!item) throw new DomainError('not_found', 'item not found', { itemId });
        // A single grant larger than the stack can never fit; say so before touching any row.
        if (quantity > item.maxStack) {
          throw new DomainError('stack_limit_reached', `at most ${item.maxStack} of this item can be held`, { itemId, maxStack: item.maxStack });
        }
        lines.push({ itemId, quantity, consumable: item.consumable, maxStack: item.maxStack });
      }
      const upserted = await repo.upsertEntries(tx, {
        userId: grant.userId,
        lines,
        source: grant.source,
        sourceRef: grant.sourceRef,
        actor: grant.actor ?? null,
      });
      if (upserted.length < lines.length) {
        const done = new Set(upserted.map((row) => row.itemId));
        const refused = lines.find((line) => !done.has(line.itemId))!;
        if (!refused.consumable) throw new DomainError('already_owned', 'the item is already owned', { itemId: refused.itemId });
        throw new DomainError('stack_limit_reached', `at most ${refused.maxStack} of this item can be held`, { itemId: refused.itemId, maxStack: refused.maxStack });
      }
      return upserted;
    },

    /** Item ids (of those given) that the user already owns with quantity > 0. */
    ownedItemIdsInTx(executor: Executor, userId: string, itemIds: readonly string[]): Promise<string[]> {
      return repo.ownedItemIds(executor, userId, itemIds);
    },

    /**
     * Takes back up to `quantity` of an item (refund/revocation): a non-consumable entry is deleted (which
     * unequips it through the FK cascade), a consumable stack is decremented, never below zero.
     * Returns how many were actually revoked.
     */
    revokeItemInTx(tx: Tx, revoke: { userId: string; itemId: string; quantity: number; reference: string; actor?: string }): Promise<number> {
      return repo.revokeEntry(tx, { ...revoke, actor: revoke.actor ?? null });
    },

    /** One page of the user's inventory, newest first, from the per-user cache. */
    listForUser(userId: string, query: { filter: InventoryFilter; cursor?: string; limit: number }): Promise<InventoryPage> {
      const after = decodeCursor('inventory', query.cursor, ['timestamp', 'uuid']);
      const key = JSON.stringify([query.filter.gameId, query.filter.kind, query.filter.consumable, query.filter.equipped, query.limit, query.cursor]);
      return cache.wrap(inventoryCacheNs(userId), key, INVENTORY_TTL_MS, async () => {
        // The replica only once it has replayed this user's last write, so a refill never caches an older page.
        const rows = await listInventoryPage(await deps.db.readerFor(userId, ITEM_DEFINITIONS_CACHE_NS), {
          userId,
          filter: query.filter,
          after: after && { acquiredAt: after[0] as string, id: after[1] as string },
          limit: query.limit + 1,
        });
        const { rows: page, last } = pageOf(rows, query.limit);
        return {
          items: page.map(({ sortKey: _sortKey, ...entry }) => entry),
          nextCursor: last ? encodeCursor('inventory', [last.sortKey, last.id]) : null,
        };
        // A page shows (and filters on) item definitions: an operator's edit of one must not wait for the player's next write.
      }, { dependsOn: PLAYER_PAGE_DEPENDENCIES });
    },

    /**
     * Uses (player) or consumes (game server) units of a consumable entry in the caller's transaction and
     * applies the item's effect there too. Another user's entry is not_found, never a hint that it exists.
     */
    async useInTx(tx: Tx, use: UseItems): Promise<UseResult> {
      const used = await repo.useEntry(tx, use);
      if (!used) {
        const entry = await repo.describeEntry(tx, use.entryId, use.userId);
        if (!entry) throw new DomainError('not_found', 'inventory entry not found');
        if (!entry.consumable) throw new DomainError('not_available', 'this item is not consumable and cannot be used up');
        throw new DomainError('insufficient_quantity', `only ${entry.quantity} left`, { available: entry.quantity, requested: use.quantity });
      }
      const effects = await applyItemEffect(tx, { userId: use.userId, itemId: used.itemId, effect: used.effect, times: use.quantity });
      return { id: used.id, itemId: used.itemId, quantity: used.quantity, effects };
    },

    /**
     * Leaves behind whatever a process that died before invalidating cached for players (cache-namespaces.ts): once
     * per process start, before it serves (runtime.ts).
     */
    async beginCacheGeneration(): Promise<void> {
      await cache.invalidate(PLAYER_CACHE_GENERATION_NS)
        .catch((error: unknown) => deps.logger.warn({ err: error }, 'player cache generation not bumped at start'));
    },

    /** Drops the user's cached inventory and loadouts; call after every committed change. */
    async invalidateUser(userId: string): Promise<void> {
      // The write's position first: the refills the invalidation causes, on any instance, read through
      // readerFor(userId), which must already know to skip a replica that has not replayed the write.
      await invalidateSharedReads({ db: deps.db, cache, logger: deps.logger }, userId, ...userCacheNamespaces(userId));
    },
  };
}
export type InventoryService = ReturnType<typeof createInventoryService>;
