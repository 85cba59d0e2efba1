// Process entry: WORKERS=true → API + workers (default), false → API only, only → workers only (npm run worker).
// A configuration mistake (a malformed variable, or a DATABASE_URL the service cannot use) ends the process at once
// with exit code 1 and one line on stderr naming the variable: never a stack trace, never a half-started service.
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger, createRuntime, type Runtime } from './runtime.js';

function refuseToStart(error: ConfigError): never {
  process.stderr.write(`battlebucks-store: cannot start: ${error.message}\n`);
  process.exit(1);
}

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) refuseToStart(error);
  throw error;
}
const logger = createLogger(config);

let runtime: Runtime | undefined;
let stopping = false;

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (!runtime) {
    // Still starting (waiting for another instance's migration lock, migrating, setting up the queue, seeding):
    // nothing is served yet, and each of those steps commits or rolls back whole and resumes at the next start, so
    // stopping now loses nothing. Without a handler this early the signal's default action ended the process
    // (killed by SIGTERM, not exit 0) and a stop during a rollout looked like a crash.
    logger.info({ signal }, 'stopped during start-up');
    process.exit(0);
  }
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
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

async function main(): Promise<void> {
  runtime = await createRuntime(config, { logger });
  // A signal from here on closes the runtime (shutdown above); the start stops where it is.
  if (stopping) return;
  if (config.workers !== 'false') await runtime.startWorkers();
  if (stopping) return;
  if (config.workers !== 'only') {
    await runtime.app.listen({ port: config.port, host: config.host });
  } else {
    logger.info('worker process started');
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) refuseToStart(error);
  logger.fatal({ err: error }, 'failed to start');
  process.exit(1);
});
