export { createFulfillmentService, type FulfillmentService } from './fulfillment.service.js';
export { fulfillmentRoutes } from './fulfillment.routes.js';
