// Per-user cache namespaces. Inventory and characters share one invalidation point (inventory.invalidateUser)
// because equipping changes `equippedBy` in the inventory and revoking an item changes a character's loadout.
export const inventoryCacheNs = (userId: string) => `inv:${userId}`;
export const charactersCacheNs = (userId: string) => `chars:${userId}`;
