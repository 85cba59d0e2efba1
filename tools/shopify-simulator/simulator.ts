// A small stand-in for Shopify: the GraphQL Admin API subset we use (orderCreate, orders by tag, orderCancel), orders kept in
// memory, signed webhooks shaped like Shopify's, and faults for tests (503, 429 with Retry-After, a lost
// orderCreate or orderCancel response, userErrors of either). Used by the tests over HTTP and, with no SHOPIFY_ADMIN_URL, in-process so
// the embedded demo shows a parcel moving.
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SimulatorOptions {
  port?: number;
  host?: string;
  /** Where webhooks go, e.g. http://127.0.0.1:3000/webhooks/shopify. Unset: webhooks are only recorded. */
  webhookUrl?: string;
  webhookSecret: string;
  accessToken: string;
  shopDomain?: string;
  /** Push every new order through fulfilled → in transit → out for delivery → delivered, this far apart. */
  autoAdvanceMs?: number;
  /**
   * Like Shopify, a webhook that was not answered 2xx (refused connection, timeout, any other status) is sent again,
   * byte for byte with the same ids, to the current webhook URL: `attempts` retries, `baseMs` × 2^n apart.
   * Default 8 retries from 1 s (about 4 minutes: a service restarting gets its webhooks). 0 turns it off.
   */
  webhookRetries?: { attempts: number; baseMs: number };
  log?: (message: string) => void;
}

export type AdvanceStep = 'fulfill' | 'in_transit' | 'out_for_delivery' | 'delivered' | 'failure' | 'cancel';

export interface SimOrder {
  numericId: number;
  id: string; // gid://shopify/Order/…
  name: string;
  email: string | null;
  tags: string[];
  lineItems: Array<{ variantId: string; quantity: number }>;
  shippingAddress: Record<string, unknown> | null;
  createdAt: string;
  cancelledAt: string | null;
  /** Every orderCancel that cancelled it (one at most: a second is refused as already cancelled). */
  cancellations: Array<{ reason: string; refund: boolean; restock: boolean; notifyCustomer: boolean | null }>;
  fulfillment: { id: number; shipmentStatus: string | null; trackingNumber: string; trackingCompany: string; trackingUrl: string } | null;
}

export interface Faults {
  /** The next N API requests answer 503. */
  unavailable?: number;
  /** The next N API requests answer 429 with this Retry-After (seconds). */
  throttled?: { count: number; retryAfterSeconds: number };
  /** The next N orderCreate calls create the order and then drop the connection without an answer. */
  dropOrderCreateResponse?: number;
  /** The next N orderCreate calls answer with this userError. */
  userErrors?: { count: number; message: string; field?: string[] };
  /** The next N API requests wait this long before they are handled (a Shopify that times out). */
  slow?: { count: number; delayMs: number };
  /** The next N orderCancel calls answer with this orderCancelUserError (code INVALID unless given). */
  cancelUserErrors?: { count: number; message: string; code?: string };
  /** The next N orderCancel calls cancel the order and then drop the connection without an answer. */
  dropOrderCancelResponse?: number;
}

export interface WebhookDelivery {
  topic: string;
  webhookId: string;
  eventId: string;
  body: string;
  headers: Record<string, string>;
  status: number | null; // null: not sent (no webhook URL) or the network failed; the last attempt's answer
  /** Sends of this delivery so far (retries included). */
  attempts?: number;
}

export interface SimRequest {
  operation: string;
  status: number;
  query?: string;
  variables?: Record<string, unknown>;
}

export interface ShopifySimulator {
  url: string;
  readonly orders: readonly SimOrder[];
  /** Every API call: the GraphQL operation (orderCreate / orders), the HTTP status we answered, the document and variables. */
  readonly requests: ReadonlyArray<SimRequest>;
  readonly webhooks: readonly WebhookDelivery[];
  injectFaults(faults: Faults): void;
  findOrder(idOrTag: string): SimOrder | undefined;
  advance(idOrTag: string, step: AdvanceStep): Promise<WebhookDelivery[]>;
  /** Signs and sends any payload (for duplicate and out-of-order tests). */
  sendWebhook(topic: string, payload: unknown, options?: { webhookId?: string; eventId?: string; secret?: string }): Promise<WebhookDelivery>;
  /** Sends a recorded webhook again, byte for byte with the same ids (Shopify's at-least-once delivery). */
  redeliver(delivery: WebhookDelivery): Promise<WebhookDelivery>;
  setWebhookUrl(url: string | undefined): void;
  /**
   * Takes over orders a previous simulator created (the built-in one died with its process): each is known again by
   * its id and tag, keeps its tracking, and moves on by itself like a new one. Orders already known are left alone.
   */
  adopt(orders: readonly AdoptedOrder[]): number;
  close(): Promise<void>;
}

/** An open order as the service's database remembers it. */
export interface AdoptedOrder {
  id: string; // gid://shopify/Order/…
  tag: string;
  tracking: { number: string; company: string | null; url: string | null } | null;
}

const CARRIERS = ['UPS', 'DHL Express', 'USPS', 'FedEx'];
export const ADVANCE_STEPS: readonly AdvanceStep[] = ['fulfill', 'in_transit', 'out_for_delivery', 'delivered', 'failure', 'cancel'];

/** POST /_sim/faults' body, checked: known names only, counts and delays whole numbers ≥ 0, messages strings. */
export function faultsFrom(body: Record<string, unknown>): Faults {
  const refuse = (message: string): never => {
    throw new SimulatorError(message, 400);
  };
  const count = (value: unknown, name: string): number =>
    Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : refuse(`${name} must be a whole number ≥ 0`);
  const object = (value: unknown, name: string): Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : refuse(`${name} must be an object`);
  const text = (value: unknown, name: string): string => (typeof value === 'string' ? value : refuse(`${name} must be a string`));
  const faults: Faults = {};
  for (const [name, value] of Object.entries(body)) {
    switch (name) {
      case 'unavailable':
      case 'dropOrderCreateResponse':
      case 'dropOrderCancelResponse':
        faults[name] = count(value, name);
        break;
      case 'throttled': {
        const v = object(value, name);
        faults.throttled = { count: count(v.count, 'throttled.count'), retryAfterSeconds: count(v.retryAfterSeconds, 'throttled.retryAfterSeconds') };
        break;
      }
      case 'slow': {
        const v = object(value, name);
        faults.slow = { count: count(v.count, 'slow.count'), delayMs: count(v.delayMs, 'slow.delayMs') };
        break;
      }
      case 'userErrors': {
        const v = object(value, name);
        const field = v.field === undefined ? undefined : Array.isArray(v.field) && v.field.every((f) => typeof f === 'string') ? (v.field as string[]) : refuse('userErrors.field must be a list of strings');
        faults.userErrors = { count: count(v.count, 'userErrors.count'), message: text(v.message, 'userErrors.message'), ...(field ? { field } : {}) };
        break;
      }
      case 'cancelUserErrors': {
        const v = object(value, name);
        faults.cancelUserErrors = { count: count(v.count, 'cancelUserErrors.count'), message: text(v.message, 'cancelUserErrors.message'), ...(v.code === undefined ? {} : { code: text(v.code, 'cancelUserErrors.code') }) };
        break;
      }
      default:
        refuse(`unknown fault ${JSON.stringify(name)}: one of unavailable, throttled, dropOrderCreateResponse, userErrors, slow, cancelUserErrors, dropOrderCancelResponse`);
    }
  }
  return faults;
}

/** A refused `advance`: the control API answers with its HTTP status. */
export class SimulatorError extends Error {
  constructor(message: string, readonly status: 400 | 404 | 409) {
    super(message);
  }
}

export async function startShopifySimulator(options: SimulatorOptions): Promise<ShopifySimulator> {
  const log = options.log ?? (() => undefined);
  const shopDomain = options.shopDomain ?? 'battlebucks-sim.myshopify.com';
  const orders: SimOrder[] = [];
  const requests: SimRequest[] = [];
  const webhooks: WebhookDelivery[] = [];
  const faults: Required<{ unavailable: number; throttled: { count: number; retryAfterSeconds: number }; dropOrderCreateResponse: number; userErrors: { count: number; message: string; field?: string[] }; slow: { count: number; delayMs: number }; cancelUserErrors: { count: number; message: string; code?: string }; dropOrderCancelResponse: number }> = {
    cancelUserErrors: { count: 0, message: '' },
    dropOrderCancelResponse: 0,
    slow: { count: 0, delayMs: 0 },
    unavailable: 0,
    throttled: { count: 0, retryAfterSeconds: 1 },
    dropOrderCreateResponse: 0,
    userErrors: { count: 0, message: '' },
  };
  const timers = new Set<NodeJS.Timeout>();
  let webhookUrl = options.webhookUrl;
  let nextOrder = 1001;
  // Order ids must not repeat across restarts: the service matches webhooks to parcels by them, so a restarted
  // simulator counting from the same number again gave a new parcel an old one's id, and one player's tracking landed
  // on another's parcel. Start from the clock (100 per millisecond of the previous run's life before a repeat; line
  // item ids, ×10, stay exact integers).
  let nextNumericId = Date.now() * 100;

  const findOrder = (idOrTag: string) =>
    orders.find((o) => o.id === idOrTag || String(o.numericId) === idOrTag || o.tags.includes(idOrTag) || o.tags.includes(`bb-order-${idOrTag}`));

  function orderNode(order: SimOrder) {
    const f = order.fulfillment;
    const displayStatus = f ? (f.shipmentStatus ?? 'fulfilled').toUpperCase() : null;
    return {
      id: order.id,
      name: order.name,
      tags: order.tags,
      cancelledAt: order.cancelledAt,
      displayFulfillmentStatus: f ? 'FULFILLED' : 'UNFULFILLED',
      fulfillments: f ? [{ status: 'SUCCESS', displayStatus, trackingInfo: [{ number: f.trackingNumber, company: f.trackingCompany, url: f.trackingUrl }] }] : [],
    };
  }

  function sign(body: string, secret = options.webhookSecret) {
    return createHmac('sha256', secret).update(body, 'utf8').digest('base64');
  }

  const wanted = options.webhookRetries ?? { attempts: 8, baseMs: 1000 };
  const retries = {
    attempts: Number.isFinite(wanted.attempts) ? Math.max(0, Math.floor(wanted.attempts)) : 8,
    baseMs: Number.isFinite(wanted.baseMs) ? Math.max(1, wanted.baseMs) : 1000,
  };

  async function send(delivery: WebhookDelivery): Promise<boolean> {
    if (!webhookUrl) return true; // recorded only: nobody to send it to
    delivery.attempts = (delivery.attempts ?? 0) + 1;
    try {
      const response = await fetch(webhookUrl, { method: 'POST', headers: delivery.headers, body: delivery.body, signal: AbortSignal.timeout(10_000) });
      delivery.status = response.status;
      await response.arrayBuffer();
      return response.status >= 200 && response.status < 300;
    } catch (error) {
      delivery.status = null;
      log(`webhook ${delivery.topic} to ${webhookUrl} failed: ${(error as Error).message}`);
      return false;
    }
  }

  /** Shopify retries a webhook that was not answered 2xx, with exponential backoff and the same bytes and ids. */
  function retryLater(delivery: WebhookDelivery, retry: number) {
    if (retry > retries.attempts) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      send(delivery).then((ok) => {
        if (!ok) retryLater(delivery, retry + 1);
      }).catch(() => undefined);
    }, Math.min(30 * 60_000, retries.baseMs * 2 ** (retry - 1)));
    timer.unref();
    timers.add(timer);
  }

  async function post(delivery: WebhookDelivery): Promise<WebhookDelivery> {
    webhooks.push(delivery);
    if (!(await send(delivery))) retryLater(delivery, 1);
    return delivery;
  }

  function sendWebhook(topic: string, payload: unknown, extra: { webhookId?: string; eventId?: string; secret?: string } = {}) {
    const body = JSON.stringify(payload);
    const webhookId = extra.webhookId ?? randomUUID();
    const eventId = extra.eventId ?? randomUUID();
    const headers = {
      'content-type': 'application/json',
      'x-shopify-topic': topic,
      'x-shopify-hmac-sha256': sign(body, extra.secret),
      'x-shopify-webhook-id': webhookId,
      'x-shopify-event-id': eventId,
      'x-shopify-shop-domain': shopDomain,
      'x-shopify-api-version': '2025-01',
      'x-shopify-triggered-at': new Date().toISOString(),
    };
    return post({ topic, webhookId, eventId, body, headers, status: null });
  }

  function orderPayload(order: SimOrder) {
    const f = order.fulfillment;
    return {
      id: order.numericId,
      admin_graphql_api_id: order.id,
      name: order.name,
      email: order.email,
      tags: order.tags.join(', '),
      created_at: order.createdAt,
      cancelled_at: order.cancelledAt,
      cancel_reason: order.cancelledAt ? (order.cancellations[0]?.reason.toLowerCase() ?? 'other') : null,
      fulfillment_status: f ? 'fulfilled' : null,
      financial_status: 'paid',
      fulfillments: f ? [fulfillmentPayload(order)] : [],
      line_items: order.lineItems.map((li, i) => ({ id: order.numericId * 10 + i, variant_id: Number(li.variantId.split('/').pop()) || null, quantity: li.quantity })),
    };
  }

  function fulfillmentPayload(order: SimOrder) {
    const f = order.fulfillment!;
    return {
      id: f.id,
      admin_graphql_api_id: `gid://shopify/Fulfillment/${f.id}`,
      order_id: order.numericId,
      status: 'success',
      shipment_status: f.shipmentStatus,
      tracking_company: f.trackingCompany,
      tracking_number: f.trackingNumber,
      tracking_numbers: [f.trackingNumber],
      tracking_url: f.trackingUrl,
      tracking_urls: [f.trackingUrl],
      updated_at: new Date().toISOString(),
    };
  }

  async function advance(idOrTag: string, step: AdvanceStep): Promise<WebhookDelivery[]> {
    // An unknown step used to be sent to the service as a shipment status of that name.
    if (!ADVANCE_STEPS.includes(step)) throw new SimulatorError(`unknown step ${JSON.stringify(step)}: one of ${ADVANCE_STEPS.join(', ')}`, 400);
    const order = findOrder(idOrTag);
    if (!order) throw new SimulatorError(`no simulated order ${idOrTag}`, 404);
    // Shopify neither fulfills nor cancels again a cancelled order.
    if (order.cancelledAt) throw new SimulatorError(`order ${order.name} is cancelled`, 409);
    const sent: WebhookDelivery[] = [];
    if (step === 'cancel') {
      order.cancelledAt = new Date().toISOString();
      sent.push(await sendWebhook('orders/cancelled', orderPayload(order)));
      return sent;
    }
    if (!order.fulfillment) {
      const number = `1Z${Math.floor(Math.random() * 1e12).toString().padStart(12, '0')}`;
      order.fulfillment = {
        id: order.numericId + 7_000_000_000,
        shipmentStatus: null,
        trackingNumber: number,
        trackingCompany: CARRIERS[order.numericId % CARRIERS.length]!,
        trackingUrl: `https://tracking.example/track/${number}`,
      };
      sent.push(await sendWebhook('fulfillments/create', fulfillmentPayload(order)));
      sent.push(await sendWebhook('orders/fulfilled', orderPayload(order)));
    }
    if (step !== 'fulfill') {
      order.fulfillment.shipmentStatus = step;
      sent.push(await sendWebhook('fulfillments/update', fulfillmentPayload(order)));
      sent.push(await sendWebhook('fulfillment_events/create', {
        id: Math.floor(Math.random() * 1e9),
        fulfillment_id: order.fulfillment.id,
        order_id: order.numericId,
        status: step,
        message: `Shipment ${step.replace(/_/g, ' ')}`,
        happened_at: new Date().toISOString(),
      }));
    }
    return sent;
  }

  function scheduleAutoAdvance(order: SimOrder) {
    if (!options.autoAdvanceMs) return;
    const steps: AdvanceStep[] = ['fulfill', 'in_transit', 'out_for_delivery', 'delivered'];
    steps.forEach((step, i) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!order.cancelledAt) advance(order.id, step).catch((error: Error) => log(`auto-advance failed: ${error.message}`));
      }, options.autoAdvanceMs! * (i + 1));
      timer.unref();
      timers.add(timer);
    });
  }

  function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  async function graphql(req: IncomingMessage, res: ServerResponse) {
    const raw = await readBody(req);
    let body: { query?: string; variables?: Record<string, any> };
    try {
      body = JSON.parse(raw);
    } catch {
      return json(res, 400, { errors: [{ message: 'invalid JSON' }] });
    }
    const query = body.query ?? '';
    const operation = /orderCancel\s*\(/.test(query) ? 'orderCancel' : /orderCreate\s*\(/.test(query) ? 'orderCreate' : /orders\s*\(/.test(query) ? 'orders' : 'unknown';
    const seen = { query, ...(body.variables ? { variables: body.variables } : {}) };
    const answer = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      requests.push({ operation, status, ...seen });
      json(res, status, payload, headers);
    };
    if (req.headers['x-shopify-access-token'] !== options.accessToken) {
      return answer(401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
    }
    if (faults.slow.count > 0) {
      faults.slow.count--;
      await new Promise((resolve) => setTimeout(resolve, faults.slow.delayMs));
      if (res.destroyed || req.socket.destroyed) {
        requests.push({ operation, status: 0, ...seen }); // the caller gave up (timed out) before we answered
        return;
      }
    }
    if (faults.unavailable > 0) {
      faults.unavailable--;
      return answer(503, { errors: 'Service Unavailable' });
    }
    if (faults.throttled.count > 0) {
      faults.throttled.count--;
      return answer(429, { errors: 'Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.' }, { 'retry-after': String(faults.throttled.retryAfterSeconds) });
    }
    if (operation === 'orders') {
      const search = String(body.variables?.query ?? /query:\s*"([^"]*)"/.exec(query)?.[1] ?? '');
      const tags = [...search.matchAll(/tag:("?)([^"\s]+)\1/g)].map((m) => m[2]!);
      const found = orders.filter((o) => tags.every((tag) => o.tags.includes(tag)));
      return answer(200, { data: { orders: { nodes: found.slice(0, 1).map(orderNode) } } });
    }
    if (operation === 'orderCreate') {
      const input = body.variables?.order ?? {};
      if (faults.userErrors.count > 0) {
        faults.userErrors.count--;
        return answer(200, { data: { orderCreate: { order: null, userErrors: [{ field: faults.userErrors.field ?? ['lineItems', '0', 'variantId'], message: faults.userErrors.message }] } } });
      }
      const lineItems = Array.isArray(input.lineItems) ? input.lineItems : [];
      // No product catalog here: every variant exists (a real shop answers an unknown one with a userError, which the
      // userErrors fault plays). Only a line without a variant id is refused. Demanding the GID form refused every
      // parcel of a merch item stored with another handle, so the built-in simulator dead-lettered it.
      if (lineItems.length === 0 || lineItems.some((li: any) => typeof li?.variantId !== 'string' || li.variantId.trim() === '')) {
        return answer(200, { data: { orderCreate: { order: null, userErrors: [{ field: ['lineItems'], message: 'Variant is invalid' }] } } });
      }
      const numericId = nextNumericId++;
      const order: SimOrder = {
        numericId,
        id: `gid://shopify/Order/${numericId}`,
        name: `#${nextOrder++}`,
        email: typeof input.email === 'string' ? input.email : null,
        tags: Array.isArray(input.tags) ? input.tags.map(String) : [],
        lineItems: lineItems.map((li: any) => ({ variantId: li.variantId, quantity: Number(li.quantity) || 1 })),
        shippingAddress: input.shippingAddress ?? null,
        createdAt: new Date().toISOString(),
        cancelledAt: null,
        cancellations: [],
        fulfillment: null,
      };
      orders.push(order);
      log(`order ${order.name} created (${order.tags.join(', ')})`);
      scheduleAutoAdvance(order);
      if (faults.dropOrderCreateResponse > 0) {
        faults.dropOrderCreateResponse--;
        requests.push({ operation, status: 0, ...seen });
        req.socket.destroy(); // the order exists, the caller never hears about it
        return;
      }
      return answer(200, { data: { orderCreate: { order: orderNode(order), userErrors: [] } } });
    }
    if (operation === 'orderCancel') {
      // Shopify's orderCancel(orderId, reason, refund, restock, notifyCustomer) → { job, orderCancelUserErrors }.
      // Shopify cancels asynchronously (the answer is a job) and then sends orders/cancelled; so do we.
      const v = body.variables ?? {};
      const result = (errors: Array<{ field: string[] | null; message: string; code: string }>, job: { id: string } | null = null) =>
        answer(200, { data: { orderCancel: { job, orderCancelUserErrors: errors } } });
      if (faults.cancelUserErrors.count > 0) {
        faults.cancelUserErrors.count--;
        return result([{ field: null, message: faults.cancelUserErrors.message, code: faults.cancelUserErrors.code ?? 'INVALID' }]);
      }
      if (typeof v.orderId !== 'string' || typeof v.reason !== 'string' || typeof v.refund !== 'boolean' || typeof v.restock !== 'boolean') {
        return answer(200, { errors: [{ message: 'Variable $orderId, $reason, $refund and $restock are required', extensions: { code: 'INVALID_VARIABLE' } }] });
      }
      const order = orders.find((o) => o.id === v.orderId);
      if (!order) return result([{ field: ['orderId'], message: 'Order does not exist', code: 'NOT_FOUND' }]);
      if (order.cancelledAt) return result([{ field: ['orderId'], message: 'Order has already been cancelled', code: 'INVALID' }]);
      if (order.fulfillment) return result([{ field: ['orderId'], message: 'Cannot cancel an order that has been fulfilled', code: 'INVALID' }]);
      order.cancelledAt = new Date().toISOString();
      order.cancellations.push({ reason: v.reason, refund: v.refund, restock: v.restock, notifyCustomer: typeof v.notifyCustomer === 'boolean' ? v.notifyCustomer : null });
      log(`order ${order.name} cancelled (${v.reason})`);
      setImmediate(() => {
        sendWebhook('orders/cancelled', orderPayload(order)).catch((error: Error) => log(`orders/cancelled webhook failed: ${error.message}`));
      });
      if (faults.dropOrderCancelResponse > 0) {
        faults.dropOrderCancelResponse--;
        requests.push({ operation, status: 0, ...seen });
        req.socket.destroy(); // cancelled, the caller never hears about it
        return;
      }
      return result([], { id: `gid://shopify/Job/${randomUUID()}` });
    }
    return answer(200, { errors: [{ message: 'this simulator supports orderCreate, orderCancel and orders(query:) only' }] });
  }

  // Control API for people poking at the demo and black-box tests: GET /_sim/orders, GET /_sim/requests,
  // GET /_sim/webhooks, POST /_sim/orders/:id/advance { step }, POST /_sim/webhooks/:index/redeliver (byte for
  // byte, same ids), POST /_sim/faults { …Faults }.
  async function control(req: IncomingMessage, res: ServerResponse, path: string) {
    if (req.method === 'GET' && path === '/_sim/orders') return json(res, 200, { orders });
    if (req.method === 'GET' && path === '/_sim/requests') return json(res, 200, { requests });
    if (req.method === 'GET' && path === '/_sim/webhooks') return json(res, 200, { webhooks: webhooks.map(({ topic, webhookId, eventId, status, attempts }) => ({ topic, webhookId, eventId, status, attempts: attempts ?? 0 })) });
    const raw = await readBody(req);
    let body: any = {};
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      return json(res, 400, { error: 'invalid JSON' });
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return json(res, 400, { error: 'the body must be a JSON object' });
    const advanceMatch = /^\/_sim\/orders\/([^/]+)\/advance$/.exec(path);
    if (req.method === 'POST' && advanceMatch) {
      try {
        const sent = await advance(decodeURIComponent(advanceMatch[1]!), body.step ?? 'delivered');
        return json(res, 200, { webhooks: sent.map(({ topic, status }) => ({ topic, status })) });
      } catch (error) {
        return json(res, error instanceof SimulatorError ? error.status : 500, { error: (error as Error).message });
      }
    }
    const redeliverMatch = /^\/_sim\/webhooks\/(\d+)\/redeliver$/.exec(path);
    if (req.method === 'POST' && redeliverMatch) {
      const recorded = webhooks[Number(redeliverMatch[1])];
      if (!recorded) return json(res, 404, { error: 'no such webhook' });
      const again = await post({ ...recorded, status: null, attempts: 0 });
      return json(res, 200, { topic: again.topic, webhookId: again.webhookId, eventId: again.eventId, status: again.status });
    }
    if (req.method === 'POST' && path === '/_sim/faults') {
      // A misspelt name or a wrong type used to be stored and do nothing: a black-box test believed Shopify was
      // failing while it answered every call. Refused as a whole, the faults in force stay as they were.
      let next: Faults;
      try {
        next = faultsFrom(body);
      } catch (error) {
        return json(res, error instanceof SimulatorError ? error.status : 500, { error: (error as Error).message });
      }
      injectFaults(next);
      return json(res, 200, { faults });
    }
    return json(res, 404, { error: 'not found' });
  }

  function injectFaults(next: Faults) {
    if (next.unavailable !== undefined) faults.unavailable = next.unavailable;
    if (next.throttled) faults.throttled = { ...next.throttled };
    if (next.dropOrderCreateResponse !== undefined) faults.dropOrderCreateResponse = next.dropOrderCreateResponse;
    if (next.userErrors) faults.userErrors = { ...next.userErrors };
    if (next.slow) faults.slow = { ...next.slow };
    if (next.cancelUserErrors) faults.cancelUserErrors = { ...next.cancelUserErrors };
    if (next.dropOrderCancelResponse !== undefined) faults.dropOrderCancelResponse = next.dropOrderCancelResponse;
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const handle = /^\/admin\/api\/[^/]+\/graphql\.json$/.test(path) && req.method === 'POST' ? graphql(req, res) : path.startsWith('/_sim/') ? control(req, res, path) : Promise.resolve(json(res, 404, { errors: 'Not Found' }));
    handle.catch((error: Error) => {
      log(`simulator error: ${error.message}`);
      if (!res.headersSent) json(res, 500, { errors: 'internal error' });
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;

  return {
    url: `http://${address.address}:${address.port}`,
    orders,
    requests,
    webhooks,
    injectFaults,
    findOrder,
    advance,
    sendWebhook,
    redeliver: (delivery) => post({ ...delivery, status: null, attempts: 0 }),
    setWebhookUrl(url) {
      webhookUrl = url;
    },
    adopt(open) {
      let adopted = 0;
      for (const { id, tag, tracking } of open) {
        const numericId = Number(id.split('/').pop());
        if (!Number.isSafeInteger(numericId) || orders.some((o) => o.id === id)) continue;
        const order: SimOrder = {
          numericId,
          id,
          name: `#${nextOrder++}`,
          email: null,
          tags: [tag],
          lineItems: [],
          shippingAddress: null,
          createdAt: new Date().toISOString(),
          cancelledAt: null,
          cancellations: [],
          fulfillment: tracking
            ? {
                id: numericId + 7_000_000_000,
                shipmentStatus: null,
                trackingNumber: tracking.number,
                trackingCompany: tracking.company ?? CARRIERS[numericId % CARRIERS.length]!,
                trackingUrl: tracking.url ?? `https://tracking.example/track/${tracking.number}`,
              }
            : null,
        };
        orders.push(order);
        scheduleAutoAdvance(order);
        adopted++;
      }
      return adopted;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
