import { ITEM_DEFINITIONS_CACHE_NS } from '../catalog/index.js';
import { START_GENERATION_NS } from '../catalog/cache-generation.js';

// Per-user cache namespaces. Inventory and characters share one invalidation point (inventory.invalidateUser)
// because equipping changes `equippedBy` in the inventory and revoking an item changes a character's loadout.
// A UUID may reach us in either case (a token's sub is lower-cased, a game server's path or body may not be):
// the namespace is always the lower-case form, so a write named in upper case still drops the player's pages.
export const inventoryCacheNs = (userId: string) => `inv:${userId.toLowerCase()}`;
export const charactersCacheNs = (userId: string) => `chars:${userId.toLowerCase()}`;
/** Everything cached for one player: what a write to their inventory or characters drops. */
export const userCacheNamespaces = (userId: string) => [inventoryCacheNs(userId), charactersCacheNs(userId)];
/**
 * One namespace every player's inventory and character cache entries depend on. Each process bumps it when it
 * starts (inventory.beginCacheGeneration, from runtime.ts, before it serves): a process that died between a write's
 * commit and that write's invalidation (a crash, a kill -9, an OOM) left the player's old pages in Redis under a
 * version nobody will ever bump, and a client retrying its request gets a replay, which writes nothing and
 * invalidates nothing. The restarted process (or any other one starting) drops
 * them all instead; inventory pages and characters are one cheap statement each to read again. The catalog's caches
 * depend on the same namespace (catalog/cache-generation.ts names it).
 */
export const PLAYER_CACHE_GENERATION_NS = START_GENERATION_NS;
/**
 * What a player's cached inventory pages and characters show besides their own rows (`Cache.wrap`'s dependsOn): item
 * definitions (an operator's rename shows at once) and the start-up generation above.
 */
export const PLAYER_PAGE_DEPENDENCIES: readonly string[] = [ITEM_DEFINITIONS_CACHE_NS, PLAYER_CACHE_GENERATION_NS];
