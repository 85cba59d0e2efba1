import type { CoreDeps } from '../../context.js';

// TODO(issue): the inventory module's rules and transactions.
export function createInventoryService(deps: CoreDeps, _services: Record<string, unknown>) {
  void deps;
  return {};
}
export type InventoryService = ReturnType<typeof createInventoryService>;
