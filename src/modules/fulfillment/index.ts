export { createFulfillmentService, type FulfillmentService, type FulfillmentStatus, type ShippingAddress, type OrderLineToFulfill, type CreatedFulfillment } from './fulfillment.service.js';
export type { ShopifyCancelJob } from './shopify/cancel.js';
export { fulfillmentRoutes } from './fulfillment.routes.js';
export { playerEventDetail, PLAYER_DELIVERY_ERROR } from './event-details.js';
