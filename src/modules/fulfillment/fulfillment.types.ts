import type { DeliveryType, ItemDefinition } from '../catalog/index.js';
import type { FulfillmentStatus } from './fulfillment.status.js';

export type { FulfillmentStatus } from './fulfillment.status.js';

export interface ShippingAddress {
  name: string;
  address1: string;
  address2?: string;
  city: string;
  province?: string;
  zip: string;
  country: string;
  phone?: string;
}

export interface OrderLineToFulfill {
  orderLineId: string;
  item: ItemDefinition;
  quantity: number; // units of this item in the line (listing quantity × bundle quantity)
}

export interface CreatedFulfillment {
  orderLineId: string;
  fulfillmentId: string;
  deliveryType: DeliveryType;
  status: FulfillmentStatus;
}
