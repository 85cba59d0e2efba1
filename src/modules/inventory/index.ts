export { createInventoryService, type InventoryService, type GrantItems, type GrantedEntry } from './inventory.service.js';
export { inventoryRoutes } from './inventory.routes.js';
export { charactersCacheNs, inventoryCacheNs, PLAYER_PAGE_DEPENDENCIES } from './cache-namespaces.js';
