// In-game items: granted inside the purchase transaction, so the player owns them in the purchase response.
import type { InventoryService } from '../../inventory/index.js';
import type { DeliveryHandler } from './types.js';

export function createInventoryHandler({ inventory }: { inventory: InventoryService }): DeliveryHandler {
  return {
    type: 'inventory',
    initialStatus: 'delivered',
    describe: (line) => `granted ${line.quantity} to the inventory`,
    async startInTx(tx, order, lines) {
      // One call for every inventory line: the inventory module batches its writes. The definitions are the ones
      // the purchase read in this transaction, so the grant does not read them again.
      await inventory.grantItemsInTx(tx, {
        userId: order.userId,
        items: lines.map((line) => ({ itemId: line.item.id, quantity: line.quantity })),
        source: 'purchase',
        sourceRef: order.orderId,
        actor: `order:${order.orderId}`,
        definitions: lines.map((line) => line.item),
      });
    },
  };
}
