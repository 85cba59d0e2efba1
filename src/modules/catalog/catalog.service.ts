import type { CoreDeps } from '../../context.js';

// TODO(issue): the catalog module's rules and transactions.
export function createCatalogService(deps: CoreDeps, _services: Record<string, unknown>) {
  void deps;
  return {};
}
export type CatalogService = ReturnType<typeof createCatalogService>;
