import type { CoreDeps } from '../../context.js';

// TODO(issue): the purchases module's rules and transactions.
export function createPurchasesService(deps: CoreDeps, _services: Record<string, unknown>) {
  void deps;
  return {};
}
export type PurchasesService = ReturnType<typeof createPurchasesService>;
