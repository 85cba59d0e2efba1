import type { App } from '../../platform/http/types.js';
import type { RouteContext } from '../../context.js';

export async function fulfillmentRoutes(app: App, ctx: RouteContext): Promise<void> {
  void app;
  void ctx;
}
