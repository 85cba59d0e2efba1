// Background workers (issue 5 fills these in): fulfillment delivery, Shopify webhooks, reconciliation, purges.
import type { CoreDeps } from './context.js';
import type { Services } from './services.js';

export async function startWorkers(deps: CoreDeps, services: Services): Promise<void> {
  void deps;
  void services;
}
