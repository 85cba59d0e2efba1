import type { App } from '../../platform/http/types.js';
import type { RouteContext } from '../../context.js';
import { catalogAdminRoutes } from './admin.routes.js';
import { storefrontRoutes } from './storefront.routes.js';

export async function catalogRoutes(app: App, ctx: RouteContext): Promise<void> {
  await catalogAdminRoutes(app, ctx);
  await storefrontRoutes(app, ctx);
}
