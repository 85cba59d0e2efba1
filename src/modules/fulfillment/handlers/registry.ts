// The delivery handlers, one per delivery type. Adding a type: write handlers/<type>.ts and register it here; the
// type itself is also named elsewhere (docs/fulfillment.md § Adding a type lists where).
import type { DeliveryType } from '../../catalog/index.js';
import type { DeliveryHandler } from './types.js';

export type DeliveryHandlers = Readonly<Record<DeliveryType, DeliveryHandler>>;

export function registerHandlers(handlers: readonly DeliveryHandler[]): DeliveryHandlers {
  const byType = Object.fromEntries(handlers.map((handler) => [handler.type, handler])) as Record<DeliveryType, DeliveryHandler>;
  for (const type of ['inventory', 'functional', 'email', 'shopify'] as const) {
    if (!byType[type]) throw new Error(`no delivery handler registered for ${type}`);
  }
  return Object.freeze(byType);
}
