// Shopify's GraphQL Admin API, the three operations we need (orders by tag, orderCreate, orderCancel), one
// `fetch` each with a timeout. Errors come back as DeliveryError with `retryable` decided here: network trouble,
// 429 and 5xx are worth retrying (after Retry-After when Shopify says so); userErrors, 4xx and GraphQL errors are
// not.
import { DeliveryError } from '../handlers/types.js';

export const SHOPIFY_API_VERSION = '2025-01';
const TIMEOUT_MS = 15_000;

export interface ShopifyEndpoint {
  baseUrl: string;
  accessToken: string;
}

export interface ShopifyOrderSummary {
  id: string; // gid://shopify/Order/…
  name: string;
  cancelledAt: string | null;
  displayFulfillmentStatus: string | null;
  fulfillments: Array<{ status: string | null; displayStatus: string | null; trackingInfo: Array<{ number: string | null; company: string | null; url: string | null }> }>;
}

export interface OrderCreateInput {
  lineItems: Array<{ variantId: string; quantity: number }>;
  shippingAddress: Record<string, string>;
  email?: string;
  tags: string[];
}

const ORDER_FIELDS = `id name cancelledAt displayFulfillmentStatus
  fulfillments(first: 5) { status displayStatus trackingInfo(first: 1) { number company url } }`;

// API.md words the lookup `orders(first: 1, query: "tag:bb-order-<order id>")`: the search string is written into
// the document (a tag is `bb-order-` and a UUID, nothing to escape) and also sent as the variable `query`, which the
// document does not declare — GraphQL ignores undeclared variables, and a server reading either place finds it.
const TAG_SEARCH = /^tag:bb-order-[0-9a-f-]{36}$/;
const orderByTag = (search: string) => `query OrderByTag {
  orders(first: 1, query: ${JSON.stringify(search)}) { nodes { ${ORDER_FIELDS} } }
}`;

const ORDER_CREATE = `mutation OrderCreate($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order { ${ORDER_FIELDS} }
    userErrors { field message }
  }
}`;

// Asynchronous in Shopify: the answer carries a job; the order is cancelled (and orders/cancelled sent) shortly after.
const ORDER_CANCEL = `mutation OrderCancel($orderId: ID!, $reason: OrderCancelReason!, $refund: Boolean!, $restock: Boolean!, $notifyCustomer: Boolean) {
  orderCancel(orderId: $orderId, reason: $reason, refund: $refund, restock: $restock, notifyCustomer: $notifyCustomer) {
    job { id }
    orderCancelUserErrors { field message code }
  }
}`;

export interface OrderCancelUserError {
  field: string[] | null;
  message: string;
  code: string | null;
}

export const orderTag = (orderId: string) => `bb-order-${orderId}`;

/** Retry-After is seconds or an HTTP date. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export function createShopifyClient(endpoint: () => ShopifyEndpoint) {
  async function graphql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const { baseUrl, accessToken } = endpoint();
    let response: Response;
    try {
      response = await fetch(`${baseUrl}/admin/api/${SHOPIFY_API_VERSION}/graphql.json`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'x-shopify-access-token': accessToken },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      throw new DeliveryError(`Shopify unreachable: ${(error as Error).message}`, { retryable: true });
    }
    const text = await response.text().catch(() => '');
    if (response.status === 429 || response.status >= 500) {
      throw new DeliveryError(`Shopify answered ${response.status}`, { retryable: true, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) });
    }
    if (!response.ok) throw new DeliveryError(`Shopify answered ${response.status}: ${text.slice(0, 300)}`, { retryable: false });
    let body: { data?: T; errors?: Array<{ message?: string; extensions?: { code?: string } }> };
    try {
      body = JSON.parse(text);
    } catch {
      throw new DeliveryError('Shopify answered with a body that is not JSON', { retryable: true });
    }
    if (body.errors?.length) {
      // THROTTLED is GraphQL's 429: the query cost exceeded the bucket; waiting a second refills it.
      const throttled = body.errors.some((e) => e.extensions?.code === 'THROTTLED' || e.extensions?.code === 'INTERNAL_SERVER_ERROR');
      const message = body.errors.map((e) => e.message ?? 'error').join('; ');
      throw new DeliveryError(`Shopify GraphQL error: ${message}`, throttled ? { retryable: true, retryAfterMs: 1000 } : { retryable: false });
    }
    if (!body.data) throw new DeliveryError('Shopify answered without data', { retryable: true });
    return body.data;
  }

  return {
    async findOrderByTag(tag: string): Promise<ShopifyOrderSummary | undefined> {
      const search = `tag:${tag}`;
      if (!TAG_SEARCH.test(search)) throw new DeliveryError(`not an order tag of ours: ${tag}`, { retryable: false });
      const data = await graphql<{ orders: { nodes: ShopifyOrderSummary[] } }>(orderByTag(search), { query: search });
      return data.orders?.nodes?.[0];
    },

    /** Creates the order; userErrors are final (the operator fixes the variant or address and retries). */
    async createOrder(order: OrderCreateInput): Promise<ShopifyOrderSummary> {
      const data = await graphql<{ orderCreate: { order: ShopifyOrderSummary | null; userErrors: Array<{ field: string[] | null; message: string }> } }>(
        ORDER_CREATE,
        {
          order: { ...order, financialStatus: 'PAID' },
          // Paid in gems: no Shopify receipt, but the shipping confirmation with tracking is welcome.
          options: { inventoryBehaviour: 'DECREMENT_OBEYING_POLICY', sendReceipt: false, sendFulfillmentReceipt: true },
        },
      );
      const { order: created, userErrors } = data.orderCreate ?? { order: null, userErrors: [] };
      if (userErrors?.length) {
        const message = userErrors.map((e) => (e.field?.length ? `${e.field.join('.')}: ${e.message}` : e.message)).join('; ');
        throw new DeliveryError(`Shopify rejected the order: ${message}`, { retryable: false });
      }
      if (!created) throw new DeliveryError('Shopify returned no order', { retryable: true });
      return created;
    },

    /**
     * Cancels an order we refunded ourselves: no Shopify refund (the gems went back through our ledger), the
     * stock goes back, no mail to the player. Returns Shopify's userErrors for the caller to judge (NOT_FOUND, an
     * order already cancelled, …); transport errors throw DeliveryError like every other call.
     */
    async cancelOrder(orderId: string): Promise<{ jobId: string | null; userErrors: OrderCancelUserError[] }> {
      const data = await graphql<{ orderCancel: { job: { id: string } | null; orderCancelUserErrors: OrderCancelUserError[] | null } | null }>(
        ORDER_CANCEL,
        { orderId, reason: 'CUSTOMER', refund: false, restock: true, notifyCustomer: false },
      );
      if (!data.orderCancel) throw new DeliveryError('Shopify returned no orderCancel result', { retryable: true });
      return { jobId: data.orderCancel.job?.id ?? null, userErrors: data.orderCancel.orderCancelUserErrors ?? [] };
    },
  };
}

export type ShopifyClient = ReturnType<typeof createShopifyClient>;
