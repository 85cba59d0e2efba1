export { createInventoryService, type InventoryService, type GrantItems, type GrantedEntry } from './inventory.service.js';
export { inventoryRoutes } from './inventory.routes.js';
export { charactersCacheNs, inventoryCacheNs } from './cache-namespaces.js';
