import type { CoreDeps } from '../../context.js';

// TODO(issue): the wallet module's rules and transactions.
export function createWalletService(deps: CoreDeps, _services: Record<string, unknown>) {
  void deps;
  return {};
}
export type WalletService = ReturnType<typeof createWalletService>;
