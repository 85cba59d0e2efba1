import type { CoreDeps } from '../../context.js';
import type { Executor, Tx } from '../../platform/db.js';
import { DomainError, PG, notFound, pgConstraint, pgErrorCode } from '../../platform/errors.js';
import { decodeCursor, encodeCursor } from '../../platform/http/pagination.js';
import { invalidateSharedReads } from '../../platform/replica.js';
import { afterUnequip, unequipDisallowedInTx } from '../characters/equipment-sweep.js';
import { CATALOG_CACHE_DEPENDENCIES } from '../catalog/cache-generation.js';
import * as repo from './games.repository.js';

export const GAMES_CACHE_NS = 'games';
const GAMES_TTL_MS = 60_000;

export interface GameInput {
  slug: string;
  name: string;
  slots: string[];
}

function translate(error: unknown): never {
  const code = pgErrorCode(error);
  if (code === PG.uniqueViolation) throw new DomainError('conflict', 'a game with this slug already exists');
  if (code === PG.foreignKeyViolation) {
    const constraint = pgConstraint(error);
    throw new DomainError('conflict', constraint === 'item_slot_in_game'
      ? 'a slot still used by item definitions cannot be removed'
      : 'the game is still referenced by items, listings or characters');
  }
  throw error;
}

/**
 * (name, id) in UTF-8 byte order, the order of PostgreSQL's "C" collation. JS string comparison orders UTF-16 code
 * units, which puts astral characters (emoji) before U+E000–U+FFFF (fullwidth forms): paging with it skipped games.
 */
function compareGames(a: { name: string; id: string }, b: { name: string; id: string }): number {
  return Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

// The read-your-writes scope of the games list: a refill after an admin write reads the replica only once it has
// replayed that write (a lagging replica would otherwise put the old list back in every instance's cache).
const GAMES_READ_SCOPE = 'games';

export function createGamesService({ db, cache, logger }: Pick<CoreDeps, 'db' | 'cache'> & Partial<Pick<CoreDeps, 'logger'>>) {
  const uniqueSlots = (slots: string[]) => [...new Set(slots)];
  /** After a committed write: note its position for the replica reads, then drop the cached list everywhere. */
  const invalidate = () => invalidateSharedReads({ db, cache, logger }, GAMES_READ_SCOPE, GAMES_CACHE_NS);

  return {
    list(): Promise<repo.GameRecord[]> {
      // dependsOn: a list cached by an earlier process (perhaps on another database) is never served.
      return cache.wrap(GAMES_CACHE_NS, 'all', GAMES_TTL_MS, async () =>
        (await repo.listGames(await db.readerFor(GAMES_READ_SCOPE))).sort(compareGames), { dependsOn: CATALOG_CACHE_DEPENDENCIES });
    },

    /**
     * A page of games in (name, id) order. Games are few, so the page is cut from the cached full list. The cursor
     * is compared with the same byte order the list is sorted in (`compareGames`), never with JS `<` on UTF-16.
     */
    async page(query: { limit: number; cursor?: string }): Promise<{ items: repo.GameRecord[]; nextCursor: string | null }> {
      const all = await this.list();
      const after = decodeCursor('games', query.cursor, ['string', 'uuid']) as [string, string] | undefined;
      const start = after ? all.findIndex((game) => compareGames(game, { name: after[0], id: after[1].toLowerCase() }) > 0) : 0;
      const items = start === -1 ? [] : all.slice(start, start + query.limit);
      const last = items.at(-1);
      const more = start !== -1 && start + query.limit < all.length;
      return { items, nextCursor: more && last ? encodeCursor('games', [last.name, last.id]) : null };
    },

    async get(id: string): Promise<repo.GameRecord> {
      const game = await repo.findGame(db, id);
      if (!game) throw notFound('game');
      return game;
    },

    async create(input: GameInput): Promise<repo.GameRecord> {
      const id = await db
        .withTx(async (tx) => {
          const gameId = await repo.insertGame(tx, input);
          await repo.replaceSlots(tx, gameId, uniqueSlots(input.slots));
          return gameId;
        })
        .catch(translate);
      await invalidate();
      return this.get(id);
    },

    async update(id: string, patch: Partial<GameInput>): Promise<repo.GameRecord> {
      const unequipped = await db
        .withTx(async (tx) => {
          // The UPDATE comes first: its row lock is what an equip in flight holds FOR SHARE (characters'
          // lockForEquip), so the slots change only after it committed, and later equips wait for this commit.
          if (!(await repo.updateGame(tx, id, patch))) throw notFound('game');
          if (!patch.slots) return [];
          await repo.replaceSlots(tx, id, uniqueSlots(patch.slots));
          // Game items' slots are held by item_slot_in_game; platform items worn in a removed slot come off here.
          return unequipDisallowedInTx(tx, { gameId: id });
        })
        .catch(translate);
      await invalidate();
      await afterUnequip({ db, cache }, unequipped);
      return this.get(id);
    },

    /**
     * Deletes a game nothing refers to. Items, listings and characters hold it by RESTRICT foreign keys (409), but a
     * platform item's compatible-games row cascades: deleting the last game of such a list left it empty, and an
     * empty list means "every game", so the item silently became wearable everywhere. Such a game answers 409 too.
     */
    async remove(id: string): Promise<void> {
      await db
        .withTx(async (tx) => {
          if (!(await repo.lockGameForDelete(tx, id))) throw notFound('game');
          if (await repo.isNamedCompatible(tx, id)) {
            throw new DomainError('conflict', "the game is named in platform items' compatibleGameIds; change those items first");
          }
          await repo.deleteGame(tx, id);
        })
        .catch(translate);
      await invalidate();
    },

    /** Throws not_found when the game does not exist; used by other modules inside their transactions. */
    /**
     * For a row about to reference the game, in the caller's transaction: 404 unless it exists, and it stays until
     * the transaction ends (an operator's DELETE waits), so the insert never meets a foreign-key failure (a 500).
     */
    async lockForReferenceInTx(tx: Tx, id: string): Promise<void> {
      if (!(await repo.lockGameKey(tx, id))) throw notFound('game');
    },

    slotExists(executor: Executor, gameId: string, slot: string): Promise<boolean> {
      return repo.gameSlotExists(executor, gameId, slot);
    },
  };
}

export type GamesService = ReturnType<typeof createGamesService>;
