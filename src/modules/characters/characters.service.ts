import type { CoreDeps } from '../../context.js';

// TODO(issue): the characters module's rules and transactions.
export function createCharactersService(deps: CoreDeps, _services: Record<string, unknown>) {
  void deps;
  return {};
}
export type CharactersService = ReturnType<typeof createCharactersService>;
