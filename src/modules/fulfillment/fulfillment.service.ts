import type { CoreDeps } from '../../context.js';

// TODO(issue): the fulfillment module's rules and transactions.
export function createFulfillmentService(deps: CoreDeps, _services: Record<string, unknown>) {
  void deps;
  return {};
}
export type FulfillmentService = ReturnType<typeof createFulfillmentService>;
