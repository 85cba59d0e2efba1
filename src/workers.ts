// Background workers: fulfillment delivery, Shopify webhooks, Shopify reconciliation and periodic maintenance
// (idempotency-key purge, fulfillment metrics). They run inside the API process (WORKERS=true) or alone
// (npm run worker → WORKERS=only); any number of processes may run them, pg-boss hands each job to one.
import type { Tx } from './platform/db.js';
import type { CoreDeps } from './context.js';
import type { Services } from './services.js';
import type { ShopifyCancelJob } from './modules/fulfillment/index.js';
import { QUEUES, type JobInfo } from './platform/jobs.js';
import { purgeExpiredKeys } from './platform/idempotency.js';
import { startShopifySimulator } from '../tools/shopify-simulator/simulator.js';

/** Parallel delivery runs per process: outside calls wait on the network, not on CPU. */
const DELIVERY_CONCURRENCY = 4;
/** Jobs a worker fetches at once (each still settles on its own): enough to keep up with a burst between polls. */
const DELIVERY_BATCH = 5;
const WEBHOOK_BATCH = 25;
const SIMULATOR_STEP_MS = 4000;
/** How often each worker process refreshes bb_fulfillments and bb_fulfillments_stale for its own /metrics. */
const METRICS_SAMPLE_MS = 10_000;

/** What the process tells the workers once it listens. */
export interface WorkersHandle {
  /**
   * The address the API answers on. The built-in simulator sends its webhooks there unless PUBLIC_BASE_URL says
   * otherwise: the workers start before the API listens, so with PORT=0 the derived default names no real port.
   */
  listeningAt(baseUrl: string): void;
}

export async function startWorkers(deps: CoreDeps, services: Services): Promise<WorkersHandle> {
  const { jobs, config, logger, db } = deps;
  const { fulfillment, purchases, inventory, catalog } = services;

  let simulator: Awaited<ReturnType<typeof startShopifySimulator>> | undefined;
  if (!fulfillment.hasShopifyEndpoint()) {
    // No SHOPIFY_ADMIN_URL: the built-in simulator plays Shopify, moving each parcel along every few seconds.
    const started = await startShopifySimulator({
      webhookUrl: `${config.publicBaseUrl}/webhooks/shopify`,
      webhookSecret: config.shopifyWebhookSecret,
      accessToken: config.shopifyAccessToken,
      autoAdvanceMs: SIMULATOR_STEP_MS,
      log: (message) => logger.info({ component: 'shopify-simulator' }, message),
    });
    simulator = started;
    fulfillment.useShopifyEndpoint({ baseUrl: started.url, accessToken: config.shopifyAccessToken });
    jobs.onStop(() => started.close());
    // Its orders lived in the previous process's memory: without them, a parcel a restart (or a crash) caught on
    // its way stayed processing or shipped for ever, reconciliation finding no such order at every round.
    const adopted = started.adopt(await fulfillment.shopifyOrdersInTransit());
    logger.info({ url: started.url, adopted }, 'SHOPIFY_ADMIN_URL unset: using the built-in Shopify simulator');
    // A worker-only process serves no API: without PUBLIC_BASE_URL the simulator's webhooks go to this machine's
    // PORT, where an API may not listen, and parcels then move only when reconciliation runs (every 5 minutes).
    if (config.workers === 'only' && !config.publicBaseUrlGiven) {
      logger.warn({ webhookUrl: `${config.publicBaseUrl}/webhooks/shopify` }, 'worker-only process with the built-in Shopify simulator and no PUBLIC_BASE_URL: its webhooks go to this address; set PUBLIC_BASE_URL to an API instance');
    }
  }
  jobs.onStop(async () => fulfillment.closeMailer());

  // Shopify's cancellations refund through the purchases module; the user's cached inventory is dropped after
  // the refund commits (items may have been revoked), and the storefront's (stock may have been given back).
  const withRefunds = async (work: (refund: (tx: Tx, orderId: string, meta: { reason: string; actor: string }) => Promise<{ refunded: boolean; amount: number }>) => Promise<unknown>) => {
    const refundedUsers = new Set<string>();
    await work(async (tx, orderId, meta) => {
      const result = await purchases.refundOrderInTx(tx, orderId, meta);
      if (result.refunded) refundedUsers.add(result.userId);
      return result;
    });
    // One invalidation batch for all of them (cache.invalidate coalesces calls made together), not one per user.
    await Promise.all([...refundedUsers].map((userId) => inventory.invalidateUser(userId)))
      .catch((error: unknown) => logger.warn({ err: error }, 'inventory cache invalidation failed'));
    if (refundedUsers.size > 0) await catalog.invalidateStorefront().catch((error: unknown) => logger.warn({ err: error }, 'storefront cache invalidation failed'));
  };

  for (let i = 0; i < DELIVERY_CONCURRENCY; i++) {
    await jobs.work<{ fulfillmentId: string }>(QUEUES.fulfillmentDeliver, (data, job: JobInfo) => fulfillment.deliver(data.fulfillmentId, job), { batchSize: DELIVERY_BATCH });
  }
  // A delivery job pg-boss gave up on must not leave its line pending for ever (fulfillment delivery.ts gaveUp). Rare:
  // polled like the maintenance queue, not every half second.
  await jobs.work<{ fulfillmentId: string }>(QUEUES.fulfillmentDeliverDead, (data) => fulfillment.deliveryGaveUp(data.fulfillmentId), { pollingIntervalSeconds: 5 });
  await jobs.work<ShopifyCancelJob>(QUEUES.shopifyCancel, (data, job: JobInfo) => fulfillment.cancelShopifyOrder(data, job));
  // Likewise a refunded order's Shopify cancellation (shopify/cancel.ts gaveUp): the parcel must not ship unnoticed.
  await jobs.work<ShopifyCancelJob>(QUEUES.shopifyCancelDead, (data) => fulfillment.shopifyCancelGaveUp(data), { pollingIntervalSeconds: 5 });
  // A worker waits out its polling interval (0.5 s) after every fetch: one job per fetch made a storm of 90 webhooks
  // take 45 s to apply. Batches keep up with bursts; each job still completes or fails on its own (jobs.work).
  await jobs.work<{ webhookEventId: string }>(QUEUES.shopifyWebhook, (data) => withRefunds((refund) => fulfillment.processShopifyWebhook(data.webhookEventId, refund)), { batchSize: WEBHOOK_BATCH });
  await jobs.work(QUEUES.shopifyReconcile, () => withRefunds((refund) => fulfillment.reconcileShopify(refund)), { pollingIntervalSeconds: 5 });
  await jobs.work(QUEUES.maintenance, async () => {
    const purged = await purgeExpiredKeys(db);
    if (purged > 0) logger.info({ purged }, 'expired idempotency keys purged');
  }, { pollingIntervalSeconds: 5 });

  await jobs.schedule(QUEUES.maintenance, '* * * * *');
  await jobs.schedule(QUEUES.shopifyReconcile, '*/5 * * * *');
  // Every process samples its own gauges, at start and then on a timer: a job (one process a minute) left the other
  // workers' /metrics with the counts of the last minute they happened to run it (for ever if they never did).
  const sampleMetrics = () => fulfillment.sampleMetrics().catch((error: unknown) => logger.warn({ err: error }, 'fulfillment metrics sampling failed'));
  await sampleMetrics();
  const sampler = setInterval(sampleMetrics, METRICS_SAMPLE_MS);
  sampler.unref();
  jobs.onStop(async () => clearInterval(sampler));
  return {
    listeningAt(baseUrl) {
      if (!config.publicBaseUrlGiven) simulator?.setWebhookUrl(`${baseUrl}/webhooks/shopify`);
    },
  };
}
