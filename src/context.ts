// What every module is built from: the platform's shared pieces. Services are created once in services.ts.
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Database } from './platform/db.js';
import type { Cache } from './platform/cache.js';
import type { Jobs } from './platform/jobs.js';
import type { Redis } from 'ioredis';

export interface CoreDeps {
  config: Config;
  db: Database;
  cache: Cache;
  jobs: Jobs;
  logger: Logger;
  /** Present when REDIS_URL is set: rate limits and cache share it across instances. */
  redis: Redis | undefined;
}

import type { Services } from './services.js';
import type { createAuthenticate } from './platform/http/auth-hooks.js';

/** What a module's routes receive: the deps, every service, and the role guard. */
export interface RouteContext extends CoreDeps {
  services: Services;
  authenticate: ReturnType<typeof createAuthenticate>;
}
