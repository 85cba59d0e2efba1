// Builds every module's service once, in dependency order. Cross-module calls go through these services.
import type { CoreDeps } from './context.js';
import { createUsersService } from './modules/users/index.js';
import { createGamesService } from './modules/games/index.js';
import { createCatalogService } from './modules/catalog/index.js';
import { createWalletService } from './modules/wallet/index.js';
import { createInventoryService } from './modules/inventory/index.js';
import { createCharactersService } from './modules/characters/index.js';
import { createFulfillmentService } from './modules/fulfillment/index.js';
import { createPurchasesService } from './modules/purchases/index.js';

export function createServices(deps: CoreDeps) {
  const users = createUsersService(deps.db);
  const games = createGamesService(deps);
  const catalog = createCatalogService(deps, { games });
  const wallet = createWalletService(deps, { users });
  const inventory = createInventoryService(deps, { catalog });
  const characters = createCharactersService(deps, { inventory, games });
  const fulfillment = createFulfillmentService(deps, { wallet, inventory, catalog, users });
  const purchases = createPurchasesService(deps, { catalog, wallet, inventory, fulfillment, users });
  return { users, games, catalog, wallet, inventory, characters, fulfillment, purchases };
}

export type Services = ReturnType<typeof createServices>;
