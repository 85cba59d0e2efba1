// npm run shopify:sim — the Shopify simulator on its own (PORT, default 4010). Point the service at it with
// SHOPIFY_ADMIN_URL=http://127.0.0.1:4010; webhooks go to SIM_WEBHOOK_URL (default the local API).
import { startShopifySimulator } from './simulator.js';

const port = Number(process.env.PORT ?? 4010);
const simulator = await startShopifySimulator({
  port,
  host: process.env.HOST ?? '127.0.0.1',
  webhookUrl: process.env.SIM_WEBHOOK_URL ?? 'http://127.0.0.1:3000/webhooks/shopify',
  webhookSecret: process.env.SHOPIFY_WEBHOOK_SECRET ?? 'battlebucks-shopify-development-secret',
  accessToken: process.env.SHOPIFY_ACCESS_TOKEN ?? 'shpat_simulator',
  autoAdvanceMs: process.env.SIM_AUTO_ADVANCE_MS ? Number(process.env.SIM_AUTO_ADVANCE_MS) : undefined,
  // Shopify retries unanswered webhooks; SIM_WEBHOOK_RETRIES=0 turns that off.
  webhookRetries: {
    attempts: process.env.SIM_WEBHOOK_RETRIES ? Number(process.env.SIM_WEBHOOK_RETRIES) : 8,
    baseMs: process.env.SIM_WEBHOOK_RETRY_BASE_MS ? Number(process.env.SIM_WEBHOOK_RETRY_BASE_MS) : 1000,
  },
  log: (message) => console.log(`[shopify-sim] ${message}`),
});
console.log(`[shopify-sim] listening on ${simulator.url} (GraphQL at /admin/api/2025-01/graphql.json, control at /_sim/*)`);

const stop = () => void simulator.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
