// Process entry: WORKERS=true → API + workers (default), false → API only, only → workers only (npm run worker).
import { loadConfig } from './config.js';
import { createLogger, createRuntime } from './runtime.js';

const config = loadConfig();
const logger = createLogger(config);

async function main(): Promise<void> {
  const runtime = await createRuntime(config, { logger });
  if (config.workers !== 'false') await runtime.startWorkers();
  if (config.workers !== 'only') {
    await runtime.app.listen({ port: config.port, host: config.host });
  } else {
    logger.info('worker process started');
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests and jobs');
    const force = setTimeout(() => {
      logger.error('graceful shutdown timed out; exiting');
      process.exit(1);
    }, 30_000);
    force.unref();
    try {
      await runtime.close();
      logger.info('shutdown complete');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'failed to start');
  process.exit(1);
});
