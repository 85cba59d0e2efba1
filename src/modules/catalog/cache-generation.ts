// The start-up generation of the shared cache. Every process bumps this namespace before it serves (runtime.ts →
// inventory.beginCacheGeneration, whose PLAYER_CACHE_GENERATION_NS is this name), and the public catalog caches
// (storefront pages, the games list) name it in `Cache.wrap`'s dependsOn. So entries left in Redis by an earlier
// process are never served again: one that died between a commit and its invalidation, or one that ran on another
// database (a fresh database behind a Redis that kept its keys served the old database's games for a minute).
// A leaf module with no imports, so both can name it from here: inventory/cache-namespaces.ts imports the catalog,
// and the catalog cannot import inventory.
export const START_GENERATION_NS = 'player-cache-generation';
/** What every cached catalog read depends on besides its own namespace. */
export const CATALOG_CACHE_DEPENDENCIES: readonly string[] = [START_GENERATION_NS];
