// Item definitions (admin): the rules live in the database's constraints; the checks here only turn the common
// mistakes into precise messages first. Any violation that slips past them still becomes a 4xx in `translate`.
import type { CoreDeps } from '../../context.js';
import type { Tx } from '../../platform/db.js';
import { DomainError, PG, invalid, notFound, pgConstraint, pgErrorCode } from '../../platform/errors.js';
import { nestsDeeperThan } from '../../platform/http/json-body.js';
import { afterUnequip, unequipDisallowedInTx } from '../characters/equipment-sweep.js';
import type { GamesService } from '../games/index.js';
import { followItemRulesInTx } from '../inventory/owned-item-rules.js';
import type { CreateItemInput, ItemDefinitionView, ListItemsFilter, UpdateItemInput } from './catalog.schemas.js';
import { decodeCreatedCursor, encodeCreatedCursor } from './cursors.js';
import * as repo from './items.repository.js';
import { refreshDerivedColumns } from './listings.repository.js';

/** Cap on the serialized size of `effect` and `attributes` each: they travel with every read of the item. */
export const MAX_JSON_BYTES = 16 * 1024;
export const DEFAULT_CONSUMABLE_MAX_STACK = 99;
/** Cap on the nesting of `effect` and `attributes` (objects and arrays): lower than a request body's. */
export const MAX_ITEM_JSON_DEPTH = 32;

type MergedItem = repo.ItemColumns & { compatibleGameIds: string[] };

const CONSTRAINT_MESSAGES: Record<string, string> = {
  item_stack_only_if_consumable: 'only a consumable item can have maxStack above 1',
  item_game_kinds_have_game: 'game_skin and game_item need a gameId',
  item_platform_skin_has_no_game: 'a platform_skin belongs to no game (gameId must be null)',
  item_slot_not_consumable: 'an item worn in a slot cannot be consumable',
  item_shopify_has_variant: 'shopify delivery needs a shopifyVariantId',
  item_functional_has_effect: 'functional delivery needs an effect',
  item_slot_in_game: "the slot is not one of the game's slots",
};

function translate(error: unknown): never {
  const code = pgErrorCode(error);
  const constraint = pgConstraint(error) ?? '';
  if (code === PG.uniqueViolation && constraint.includes('sku')) throw new DomainError('conflict', 'an item with this sku already exists');
  if (code === PG.checkViolation || constraint === 'item_slot_in_game') {
    throw invalid(CONSTRAINT_MESSAGES[constraint] ?? 'the item violates a catalog rule', { constraint });
  }
  if (code === PG.foreignKeyViolation && constraint.includes('game_id')) throw notFound('game');
  throw error;
}

// What the functional delivery handler can apply (fulfillment/handlers/functional.ts refuses anything else at
// purchase time with not_available): `gems` or a counter name, each a positive whole amount per unit, or `true`.
const EFFECT_NAME = /^[a-z][a-z0-9_]{0,62}$/;
const MAX_EFFECT_PER_UNIT = 1_000_000_000;

function checkFunctionalEffect(effect: Record<string, unknown>): void {
  const entries = Object.entries(effect);
  if (entries.length === 0) throw invalid('a functional effect needs at least one entry, e.g. {"gems": 500} or {"lives": 3}');
  for (const [name, amount] of entries) {
    if (!EFFECT_NAME.test(name)) throw invalid(`effect "${name}": names are lower-case letters, digits and _ (e.g. gems, lives, name_change)`);
    const ok = amount === true || (typeof amount === 'number' && Number.isSafeInteger(amount) && amount >= 1 && amount <= MAX_EFFECT_PER_UNIT);
    if (!ok) throw invalid(`effect "${name}" must be true or a whole number from 1 to ${MAX_EFFECT_PER_UNIT}`);
  }
}

/**
 * Whether a JSON value holds a number JSON.parse could not keep (`1e400` parses to Infinity): it would be stored as
 * null, so the item would read back with a different value than the one sent.
 */
function holdsNonFiniteNumber(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === 'number' && !Number.isFinite(node)) return true;
    // One push per child, not push(...children): spreading an array of a few hundred thousand numbers overflows the stack.
    if (node !== null && typeof node === 'object') for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push(child);
  }
  return false;
}

// Kinds whose only meaningful delivery is one handler: a voucher is a mailed code, merch a Shopify parcel, a gem
// pack a wallet credit. Any other pairing sells something that never arrives (an inert inventory row).
const KIND_DELIVERY: Record<string, string> = { voucher: 'email', merch: 'shopify', gem_pack: 'functional' };

/** Rules across fields, checked on the merged item so a PATCH is judged by the item it produces. */
function checkRules(item: MergedItem): void {
  const delivery = KIND_DELIVERY[item.kind];
  if (delivery !== undefined && item.deliveryType !== delivery) throw invalid(`a ${item.kind} is delivered by ${delivery}`);
  if (item.kind === 'gem_pack' && typeof item.effect?.gems !== 'number') throw invalid('a gem_pack needs a gems effect, e.g. {"gems": 500}');
  // Only inventory entries are worn: a slot on a mailed, shipped or applied item could never be filled.
  if (item.slot !== null && item.deliveryType !== 'inventory') throw invalid('only an item delivered to the inventory can have a slot');
  if ((item.kind === 'game_skin' || item.kind === 'game_item') && item.gameId === null) throw invalid(CONSTRAINT_MESSAGES.item_game_kinds_have_game!);
  if (item.kind === 'platform_skin' && item.gameId !== null) throw invalid(CONSTRAINT_MESSAGES.item_platform_skin_has_no_game!);
  if (item.compatibleGameIds.length > 0 && item.gameId !== null) {
    throw invalid('compatibleGameIds is for platform items (gameId null); a game item works in its own game');
  }
  if (item.slot !== null && item.consumable) throw invalid(CONSTRAINT_MESSAGES.item_slot_not_consumable!);
  if (!item.consumable && item.maxStack !== 1) throw invalid(CONSTRAINT_MESSAGES.item_stack_only_if_consumable!);
  if (item.deliveryType === 'shopify' && item.shopifyVariantId === null) throw invalid(CONSTRAINT_MESSAGES.item_shopify_has_variant!);
  if (item.deliveryType === 'functional' && item.effect === null) throw invalid(CONSTRAINT_MESSAGES.item_functional_has_effect!);
  if (item.deliveryType === 'functional') checkFunctionalEffect(item.effect!);
  for (const [name, value] of [['effect', item.effect], ['attributes', item.attributes]] as const) {
    if (value !== null && nestsDeeperThan(value, MAX_ITEM_JSON_DEPTH)) throw invalid(`${name} must nest at most ${MAX_ITEM_JSON_DEPTH} levels deep`);
    if (value !== null && holdsNonFiniteNumber(value)) throw invalid(`${name} holds a number too large to store (above about 1.8e308)`);
    if (value !== null && Buffer.byteLength(JSON.stringify(value)) > MAX_JSON_BYTES) throw invalid(`${name} must be at most ${MAX_JSON_BYTES} bytes of JSON`);
  }
}

export function createItemsAdmin({ db, cache }: Pick<CoreDeps, 'db' | 'cache'>, games: GamesService, onCatalogChanged: () => Promise<void>) {
  async function checkReferences(tx: Tx, item: MergedItem): Promise<void> {
    const missing = await repo.missingGameIds(tx, [...(item.gameId ? [item.gameId] : []), ...item.compatibleGameIds]);
    if (missing.length) throw new DomainError('not_found', `game not found: ${missing.join(', ')}`, { missingGameIds: missing });
    if (item.gameId !== null && item.slot !== null && !(await games.slotExists(tx, item.gameId, item.slot))) {
      throw invalid(`slot "${item.slot}" is not one of the game's slots`);
    }
  }

  /**
   * The line rules of listings.service (one per line for an item owned once, at most maxStack of a stacking
   * inventory consumable) hold for the changed item too: otherwise its listings could never be bought again.
   */
  async function checkListedQuantities(tx: Tx, id: string, item: MergedItem): Promise<void> {
    const perLine = item.deliveryType !== 'inventory' ? undefined : item.consumable ? item.maxStack : 1;
    if (perLine === undefined) return;
    const listingIds = await repo.listingsOverLineQuantity(tx, id, perLine);
    if (listingIds.length) {
      throw new DomainError('conflict', `listings sell more than ${perLine} of this item per line; change their lines first`, { listingIds });
    }
  }

  async function get(id: string): Promise<ItemDefinitionView> {
    const item = await repo.findItem(db, id);
    if (!item) throw notFound('item');
    return item;
  }

  return {
    get,

    async list(filter: ListItemsFilter): Promise<{ items: ItemDefinitionView[]; nextCursor: string | null }> {
      const page = await repo.listItems(db, filter, decodeCreatedCursor('items', filter.cursor));
      return { items: page.items, nextCursor: encodeCreatedCursor('items', page.last) };
    },

    async create(input: CreateItemInput): Promise<ItemDefinitionView> {
      const consumable = input.consumable ?? false;
      const item: MergedItem = {
        sku: input.sku,
        name: input.name,
        description: input.description ?? '',
        kind: input.kind,
        gameId: input.gameId ?? null,
        compatibleGameIds: [...new Set(input.compatibleGameIds ?? [])],
        slot: input.slot ?? null,
        consumable,
        maxStack: input.maxStack ?? (consumable ? DEFAULT_CONSUMABLE_MAX_STACK : 1),
        // Omitted: the kind's only delivery, or the inventory (skins, game items, utilities).
        deliveryType: input.deliveryType ?? KIND_DELIVERY[input.kind] ?? 'inventory',
        effect: input.effect ?? null,
        attributes: input.attributes ?? {},
        shopifyVariantId: input.shopifyVariantId ?? null,
      };
      checkRules(item);
      const id = await db
        .withTx(async (tx) => {
          await checkReferences(tx, item);
          const itemId = await repo.insertItem(tx, item);
          await repo.replaceCompatibleGames(tx, itemId, item.compatibleGameIds);
          return itemId;
        })
        .catch(translate);
      await onCatalogChanged();
      return get(id);
    },

    async update(id: string, patch: UpdateItemInput): Promise<ItemDefinitionView> {
      const unequipped = await db
        .withTx(async (tx) => {
          // The row lock orders this write after any listing write holding the item FOR SHARE, so the
          // listings refreshed below include every listing committed with the old definition.
          const current = await repo.findItem(tx, id, { forUpdate: true });
          if (!current) throw notFound('item');
          const consumable = patch.consumable ?? current.consumable;
          const item: MergedItem = {
            ...current,
            ...patch,
            // Switching consumable without naming maxStack takes that kind's default instead of failing.
            maxStack: patch.maxStack ?? (consumable === current.consumable ? current.maxStack : consumable ? DEFAULT_CONSUMABLE_MAX_STACK : 1),
            compatibleGameIds: patch.compatibleGameIds ? [...new Set(patch.compatibleGameIds)] : current.compatibleGameIds,
          };
          checkRules(item);
          await checkReferences(tx, item);
          await checkListedQuantities(tx, id, item);
          await repo.updateItem(tx, id, item);
          if (patch.compatibleGameIds) await repo.replaceCompatibleGames(tx, id, item.compatibleGameIds);
          await refreshDerivedColumns(tx, await repo.listingIdsContaining(tx, id));
          // Owned entries copy both: they follow (a held stack keeps its size; 2+ units of an item made non-consumable: 409).
          if (item.consumable !== current.consumable || item.maxStack !== current.maxStack) {
            await followItemRulesInTx(tx, { itemId: id, consumable: item.consumable, maxStack: item.maxStack });
          }
          // A new slot, game, compatible list or consumable flag can make where it is worn no longer allowed.
          const wearing = ['slot', 'gameId', 'compatibleGameIds', 'consumable'].some((field) => field in patch);
          return wearing ? unequipDisallowedInTx(tx, { itemId: id }) : [];
        })
        .catch(translate);
      await onCatalogChanged();
      await afterUnequip({ db, cache }, unequipped);
      return get(id);
    },

    /** Deletes an item nothing refers to; one that is listed, sold, owned or granted answers 409. */
    async remove(id: string): Promise<void> {
      const deleted = await repo.deleteItem(db, id).catch((error: unknown) => {
        if (pgErrorCode(error) === PG.foreignKeyViolation) {
          throw new DomainError('conflict', 'the item is still used by listings, orders, inventories, grants or voucher codes');
        }
        throw error;
      });
      if (!deleted) throw notFound('item');
      await onCatalogChanged();
    },
  };
}

export type ItemsAdmin = ReturnType<typeof createItemsAdmin>;
