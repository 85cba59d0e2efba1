// Rate limiting (issue 6 fills this in): per user and per IP, shared through Redis.
import type { App } from './types.js';
import type { RouteContext } from '../../context.js';

export async function registerRateLimits(app: App, ctx: RouteContext): Promise<void> {
  void app;
  void ctx;
}
