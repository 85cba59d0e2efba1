// Demo catalog for the embedded start (issue 2 fills it in through the catalog services).
import type { Logger } from 'pino';
import type { Database } from '../platform/db.js';
import type { Services } from '../services.js';

export async function seedDemoCatalog(services: Services, db: Database, logger: Logger): Promise<void> {
  void services;
  void db;
  logger.info('demo catalog seeding not implemented yet');
}
