export { createCatalogService, ITEM_DEFINITIONS_CACHE_NS, type CatalogService, type ItemDefinition, type ItemKind, type DeliveryType, type PurchasableListing } from './catalog.service.js';
export { catalogRoutes } from './catalog.routes.js';
