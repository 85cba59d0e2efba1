// Process entry: WORKERS=true → API + workers (default), false → API only, only → workers only (npm run worker).
// A configuration mistake (a malformed variable, a DATABASE_URL the service cannot use, a PORT another program holds)
// ends the process with exit code 1 and one line on stderr naming the variable: never a stack trace, never a
// half-started service.
//
// The signal handlers come first, before the service's modules are loaded (the dynamic imports below): loading them
// takes a second or more (longer the first time tsx compiles them), and a SIGTERM or Ctrl-C in that time used to end
// the process by the signal's default action (killed, not exit 0), like a crash to whatever supervised it.
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Runtime } from './runtime.js';

let logger: Logger | undefined;
let runtime: Runtime | undefined;
let stopping = false;

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (!runtime) {
    // Still starting (loading modules, waiting for another instance's migration lock, migrating, setting up the queue,
    // seeding): nothing is served yet, and each of those steps commits or rolls back whole and resumes at the next
    // start, so stopping now loses nothing.
    logger?.info({ signal }, 'stopped during start-up');
    process.exit(0);
  }
  logger?.info({ signal }, 'shutting down: finishing in-flight requests and jobs');
  const force = setTimeout(() => {
    logger?.error('graceful shutdown timed out; exiting');
    process.exit(1);
  }, 30_000);
  force.unref();
  try {
    await runtime.close();
    logger?.info('shutdown complete');
    process.exit(0);
  } catch (error) {
    logger?.error({ err: error }, 'error during shutdown');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

const { ConfigError, loadConfig } = await import('./config.js');

function refuseToStart(message: string): never {
  process.stderr.write(`battlebucks-store: cannot start: ${message}\n`);
  process.exit(1);
}

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) refuseToStart(error.message);
  throw error;
}

/**
 * listen()'s errors that are the configuration's, not the service's: the port is held by another program (another
 * `npm start`, a dev server on 3000), a privileged port, a HOST that is not an address of this machine.
 */
function listenRefusal(error: unknown, { port, host }: Pick<Config, 'port' | 'host'>, variable = 'PORT'): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'EADDRINUSE':
      return `${variable}: ${port} on ${host} is in use by another program; stop it or set ${variable} to a free port`;
    case 'EACCES':
      return `${variable}: ${port} on ${host} is not permitted to this user (ports below 1024 need privileges); set ${variable} to 1024 or above`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `HOST: ${host} is not an address of this machine (${code}); set HOST to one of its addresses, or 0.0.0.0 for all`;
    default:
      return undefined;
  }
}

/** How this machine reaches the API: its own address, or loopback when it listens on every interface. */
function loopbackUrlOf(address: string | AddressInfo | null): string {
  if (address === null || typeof address === 'string') return config.publicBaseUrl;
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

async function main(): Promise<void> {
  const { createLogger, createRuntime } = await import('./runtime.js');
  if (stopping) return;
  logger = createLogger(config);
  runtime = await createRuntime(config, { logger });
  // A signal from here on closes the runtime (shutdown above); the start stops where it is.
  if (stopping) return;
  const workers = config.workers !== 'false' ? await runtime.startWorkers() : undefined;
  if (stopping) return;
  if (config.workers !== 'only') {
    try {
      await runtime.app.listen({ port: config.port, host: config.host });
      workers?.listeningAt(loopbackUrlOf(runtime.app.server.address()));
    } catch (error) {
      const refusal = listenRefusal(error, config);
      if (!refusal || stopping) throw error;
      // Close what started (workers, the built-in Shopify simulator, the embedded database and its directory's lock)
      // before the one line; a close that hangs does not keep the refusal waiting.
      stopping = true;
      await Promise.race([runtime.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
      refuseToStart(refusal);
    }
  } else {
    // No API here, but an orchestrator probes and Prometheus scrapes a worker too (its jobs, the fulfillment gauges
    // its maintenance job samples): with WORKER_PORT set it answers /healthz, /readyz and /metrics there. Not on PORT:
    // a worker beside `npm start` on one machine, both on the default, would find it taken.
    if (config.workerPort !== undefined) {
      const where = { port: config.workerPort, host: config.host };
      try {
        const operations = await runtime.serveOperations(where);
        logger.info({ url: loopbackUrlOf(operations.address) }, 'worker operations endpoints listening (/healthz, /readyz, /metrics)');
      } catch (error) {
        const refusal = listenRefusal(error, where, 'WORKER_PORT');
        if (!refusal || stopping) throw error;
        stopping = true;
        await Promise.race([runtime.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
        refuseToStart(refusal);
      }
    }
    logger.info('worker process started');
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) refuseToStart(error.message);
  if (logger) logger.fatal({ err: error }, 'failed to start');
  else console.error('battlebucks-store: failed to start:', error);
  process.exit(1);
});
