export { createCatalogService, type CatalogService, type ItemDefinition, type ItemKind, type DeliveryType, type PurchasableListing } from './catalog.service.js';
export { catalogRoutes } from './catalog.routes.js';
