import type { CoreDeps } from '../../context.js';
import type { Tx } from '../../platform/db.js';
import { DomainError, notFound } from '../../platform/errors.js';
import { decodeCursor, encodeCursor, pageOf } from '../../platform/http/pagination.js';
import { ITEM_DEFINITIONS_CACHE_NS } from '../catalog/index.js';
import type { GamesService } from '../games/index.js';
import { charactersCacheNs, PLAYER_PAGE_DEPENDENCIES, type InventoryService } from '../inventory/index.js';
import * as repo from './characters.repository.js';
import { checkEquip } from './equip-rules.js';

/** Enough for one avatar plus a few per game; keeps a player's list one small page. */
export const MAX_CHARACTERS_PER_USER = 20;
export const MAX_LOADOUT_BATCH = 100;
const CHARACTERS_TTL_MS = 5 * 60_000;

export type Character = Omit<repo.CharacterView, 'userId'>;
export interface NewCharacter {
  name: string;
  gameId: string | null;
}

export interface Loadouts {
  items: repo.CharacterView[];
  /** Requested ids that match no character. */
  missing: string[];
}

const withoutOwner = ({ userId: _userId, ...character }: repo.CharacterView): Character => character;

export function createCharactersService(deps: CoreDeps, services: { inventory: InventoryService; games: GamesService }) {
  const { db, cache } = deps;
  const { inventory, games } = services;

  async function get(userId: string, characterId: string): Promise<Character> {
    // Equipment shows item names and kinds: an operator's edit of an item leaves the cached character behind.
    const character = await cache.wrap(charactersCacheNs(userId), `one:${characterId}`, CHARACTERS_TTL_MS, async () => {
      const found = await repo.findCharacter(await db.readerFor(userId, ITEM_DEFINITIONS_CACHE_NS), userId, characterId);
      return found ? withoutOwner(found) : null;
    }, { dependsOn: PLAYER_PAGE_DEPENDENCIES });
    if (!character) throw notFound('character');
    return character;
  }

  /** Every change ends here: both the character and inventory (equippedBy) caches of the user are dropped. */
  async function changed(userId: string, characterId: string): Promise<Character> {
    // invalidateUser notes the write first, so the read-back never comes from a replica that lags it.
    await inventory.invalidateUser(userId);
    return get(userId, characterId);
  }

  async function insert(tx: Tx, userId: string, input: NewCharacter): Promise<string> {
    if (input.gameId !== null) await games.lockForReferenceInTx(tx, input.gameId);
    await repo.lockUserForCharacters(tx, userId);
    if ((await repo.countCharacters(tx, userId)) >= MAX_CHARACTERS_PER_USER) {
      throw new DomainError('limit_reached', `a player can have at most ${MAX_CHARACTERS_PER_USER} characters`, { limit: MAX_CHARACTERS_PER_USER });
    }
    return repo.insertCharacter(tx, { userId, ...input });
  }

  return {
    get,

    /**
     * One page, oldest first; with `gameId` only that game's characters (an unknown game: an empty page). A cursor
     * names the filter it was handed out for (`characters` unfiltered, `characters@<gameId>` filtered), so it is a
     * 400 under another filter, and the filter is part of the cache key.
     */
    list(userId: string, query: { gameId?: string; cursor?: string; limit: number }): Promise<{ items: Character[]; nextCursor: string | null }> {
      const gameId = query.gameId?.toLowerCase();
      const list = gameId === undefined ? 'characters' : `characters@${gameId}`;
      const after = decodeCursor(list, query.cursor, ['timestamp', 'uuid']);
      return cache.wrap(charactersCacheNs(userId), `list:${gameId ?? ''}:${query.limit}:${query.cursor ?? ''}`, CHARACTERS_TTL_MS, async () => {
        const rows = await repo.listCharacters(await db.readerFor(userId, ITEM_DEFINITIONS_CACHE_NS), {
          userId,
          gameId,
          after: after && { createdAt: after[0] as string, id: after[1] as string },
          limit: query.limit + 1,
        });
        const { rows: page, last } = pageOf(rows, query.limit);
        return {
          items: page.map(({ sortKey: _sortKey, ...row }) => withoutOwner(row)),
          nextCursor: last ? encodeCursor(list, [last.sortKey, last.id]) : null,
        };
      }, { dependsOn: PLAYER_PAGE_DEPENDENCIES });
    },

    async create(userId: string, input: NewCharacter): Promise<Character> {
      return changed(userId, await db.withTx((tx) => insert(tx, userId, input)));
    },

    /**
     * A create inside the caller's transaction (an Idempotency-Key's, which stores this answer with the COMMIT), read
     * back in it. The caller runs invalidateUser after the commit.
     */
    async createInTx(tx: Tx, userId: string, input: NewCharacter): Promise<Character> {
      const id = await insert(tx, userId, input);
      return withoutOwner((await repo.findCharacter(tx, userId, id))!);
    },

    invalidateUser: (userId: string): Promise<void> => inventory.invalidateUser(userId),

    async rename(userId: string, characterId: string, name: string): Promise<Character> {
      if (!(await repo.renameCharacter(db, userId, characterId, name))) throw notFound('character');
      return changed(userId, characterId);
    },

    async remove(userId: string, characterId: string): Promise<void> {
      const deleted = await repo.deleteCharacter(db, userId, characterId);
      // A 404 invalidates as well: it may be the retry of a delete whose process died between its commit and its
      // invalidation, and the player's list must not keep showing the character.
      await inventory.invalidateUser(userId);
      if (!deleted) throw notFound('character');
    },

    /**
     * Puts an owned, compatible item in the slot, replacing what was there. Three statements: the rules (game and
     * item rows) then the character are locked, the entry is locked and read with the current rules, the row is
     * written. See lockForEquip for why the rules come first.
     */
    async equip(userId: string, characterId: string, slot: string, inventoryItemId: string): Promise<Character> {
      await db.withTx(async (tx) => {
        const character = await repo.lockForEquip(tx, { userId, characterId, inventoryItemId });
        if (!character) throw notFound('character');
        const entry = await repo.lockEntryForEquip(tx, { userId, inventoryItemId, characterGameId: character.gameId, slot });
        const refusal = checkEquip(character, slot, entry);
        if (refusal) throw new DomainError(refusal.code, refusal.reason, { slot, inventoryItemId });
        await repo.putEquipment(tx, characterId, slot, inventoryItemId);
      });
      return changed(userId, characterId);
    },

    /**
     * Empties the slot; an already empty slot is not an error (the result is the same character). A slot the
     * character could never wear anything in answers 404, like an unknown character: nothing is changed.
     */
    async unequip(userId: string, characterId: string, slot: string): Promise<Character> {
      await db.withTx(async (tx) => {
        const character = await repo.lockCharacter(tx, userId, characterId);
        if (!character) throw notFound('character');
        if (!(await repo.removeEquipment(tx, character, slot))) {
          const why = character.gameId ? "the character's game has no such slot" : 'no platform item declares it';
          throw new DomainError('not_found', `slot "${slot}" not found: ${why}`, { slot });
        }
      });
      return changed(userId, characterId);
    },

    /** Game servers at match start: any users' characters with their equipment, one query for the batch. */
    async loadouts(characterIds: readonly string[]): Promise<Loadouts> {
      const wanted = [...new Set(characterIds.map((id) => id.toLowerCase()))];
      if (wanted.length > MAX_LOADOUT_BATCH) throw new DomainError('validation_failed', `at most ${MAX_LOADOUT_BATCH} characters per request`);
      const items = await repo.findCharactersByIds(db, wanted);
      const found = new Set(items.map((item) => item.id));
      return { items, missing: wanted.filter((id) => !found.has(id)) };
    },
  };
}
export type CharactersService = ReturnType<typeof createCharactersService>;
