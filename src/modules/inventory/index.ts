export { createInventoryService, type InventoryService } from './inventory.service.js';
export { inventoryRoutes } from './inventory.routes.js';
