export { createCatalogService, type CatalogService } from './catalog.service.js';
export { catalogRoutes } from './catalog.routes.js';
