export { createPurchasesService, type PurchasesService } from './purchases.service.js';
export { purchasesRoutes } from './purchases.routes.js';
