// In-game items: granted inside the purchase transaction, so the player owns them in the purchase response.
import type { InventoryService } from '../../inventory/index.js';
import type { DeliveryHandler } from './types.js';

export function createInventoryHandler({ inventory }: { inventory: InventoryService }): DeliveryHandler {
  return {
    type: 'inventory',
    initialStatus: 'delivered',
    async startInTx(tx, order, lines) {
      // One call for every inventory line: the inventory module batches its writes.
      await inventory.grantItemsInTx(tx, {
        userId: order.userId,
        items: lines.map((line) => ({ itemId: line.item.id, quantity: line.quantity })),
        source: 'purchase',
        sourceRef: order.orderId,
        actor: `order:${order.orderId}`,
      });
      return new Map(lines.map((line) => [line.fulfillmentId, `granted ${line.quantity} to the inventory`]));
    },
  };
}
