// Shopify for the chaos harness: the repo's simulator (tools/shopify-simulator) behind a small proxy that can
// hang. The simulator injects the failures Shopify really answers with (503, 429 + Retry-After, an orderCreate
// whose response is lost, userErrors); the proxy adds the one it cannot — a request that is accepted and never
// answered, which only the client's timeout ends. The service is pointed at the proxy (SHOPIFY_ADMIN_URL).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startShopifySimulator, type Faults, type ShopifySimulator } from '../shopify-simulator/simulator.js';

export interface ChaosShopify {
  /** SHOPIFY_ADMIN_URL for the service: the proxy. */
  readonly adminUrl: string;
  readonly simulator: ShopifySimulator;
  /** Requests held without an answer so far. */
  readonly hung: number;
  injectFaults(faults: Faults): void;
  /** While true, every request to the Admin API is held open and never answered. */
  setHanging(hanging: boolean): void;
  /** Clears every pending fault and releases held requests (dropped, as a restarted load balancer would). */
  heal(): void;
  close(): Promise<void>;
}

export async function startChaosShopify(options: { webhookUrl: string; webhookSecret: string; accessToken: string; autoAdvanceMs?: number }): Promise<ChaosShopify> {
  const simulator = await startShopifySimulator({
    webhookUrl: options.webhookUrl,
    webhookSecret: options.webhookSecret,
    accessToken: options.accessToken,
    autoAdvanceMs: options.autoAdvanceMs ?? 500,
  });
  let hanging = false;
  let hung = 0;
  const held = new Set<ServerResponse>();

  async function forward(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (hanging) {
      hung++;
      held.add(res);
      res.once('close', () => held.delete(res));
      return;
    }
    try {
      const upstream = await fetch(`${simulator.url}${req.url ?? '/'}`, {
        method: req.method,
        headers: Object.fromEntries(Object.entries(req.headers).filter(([name]) => !['host', 'connection', 'content-length'].includes(name)).map(([k, v]) => [k, String(v)])),
        body: chunks.length ? Buffer.concat(chunks) : undefined,
      });
      const body = Buffer.from(await upstream.arrayBuffer());
      res.writeHead(upstream.status, Object.fromEntries([...upstream.headers].filter(([name]) => !['content-length', 'transfer-encoding', 'connection'].includes(name))));
      res.end(body);
    } catch {
      // The simulator dropped the connection on purpose (a lost orderCreate response): so do we.
      res.socket?.destroy();
    }
  }

  const proxy = createServer((req, res) => void forward(req, res));
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as AddressInfo).port;

  const release = () => {
    for (const res of held) res.socket?.destroy();
    held.clear();
  };

  return {
    adminUrl: `http://127.0.0.1:${port}`,
    simulator,
    get hung() {
      return hung;
    },
    injectFaults: (faults) => simulator.injectFaults(faults),
    setHanging(next) {
      hanging = next;
      if (!next) release();
    },
    heal() {
      hanging = false;
      release();
      simulator.injectFaults({ unavailable: 0, throttled: { count: 0, retryAfterSeconds: 1 }, dropOrderCreateResponse: 0, userErrors: { count: 0, message: '' } });
    },
    async close() {
      hanging = false;
      release();
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await simulator.close();
    },
  };
}
