// Per-user cache namespaces. Inventory and characters share one invalidation point (inventory.invalidateUser)
// because equipping changes `equippedBy` in the inventory and revoking an item changes a character's loadout.
// A UUID may reach us in either case (a token's sub is lower-cased, a game server's path or body may not be):
// the namespace is always the lower-case form, so a write named in upper case still drops the player's pages.
export const inventoryCacheNs = (userId: string) => `inv:${userId.toLowerCase()}`;
export const charactersCacheNs = (userId: string) => `chars:${userId.toLowerCase()}`;
/** Everything cached for one player: what a write to their inventory or characters drops. */
export const userCacheNamespaces = (userId: string) => [inventoryCacheNs(userId), charactersCacheNs(userId)];
