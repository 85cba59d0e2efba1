// POST /webhooks/shopify: verify the HMAC over the raw bytes, store the event once, answer 200 at once; a job
// processes it. This scope parses every body as a Buffer: re-serialized JSON would not match the signature.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { App } from '../../platform/http/types.js';
import type { RouteContext } from '../../context.js';
import { DomainError } from '../../platform/errors.js';
import { errorResponses } from '../../platform/http/schemas.js';
import { parseSignedJson } from '../../platform/http/json-body.js';
import { ShopifyWebhookHeaders, ShopifyWebhookPayload, WebhookAccepted } from './fulfillment.schemas.js';

/** Constant-time check against the current secret and, during a rotation, the previous one. */
export function verifyShopifyHmac(rawBody: Buffer, header: string | undefined, secrets: ReadonlyArray<string | undefined>): boolean {
  if (!header || !/^[A-Za-z0-9+/]+={0,2}$/.test(header)) return false;
  const given = Buffer.from(header, 'base64');
  let ok = false;
  for (const secret of secrets) {
    if (!secret) continue;
    const expected = createHmac('sha256', secret).update(rawBody).digest();
    // Every secret is checked, match or not, so timing says nothing about which one (or whether any) matched.
    if (given.length === expected.length && timingSafeEqual(given, expected)) ok = true;
  }
  return ok;
}

const ID_RE = /^[A-Za-z0-9._:-]{1,200}$/;

export async function shopifyWebhookRoutes(app: App, { config, services }: RouteContext): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.post('/webhooks/shopify', {
    schema: {
      tags: ['webhooks'],
      summary: 'Shopify webhooks (HMAC-SHA256 over the raw body, deduplicated by webhook and event id)',
      security: [],
      headers: ShopifyWebhookHeaders,
      body: ShopifyWebhookPayload,
      response: { 200: WebhookAccepted, ...errorResponses(400, 401, 413) },
    },
    // The signature covers the raw bytes, so it is checked (401) before anything reads them; only then is the body
    // parsed and handed to validation as the JSON object it must be.
    preValidation: async (request) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      if (!verifyShopifyHmac(raw, request.headers['x-shopify-hmac-sha256'], [config.shopifyWebhookSecret, config.shopifyWebhookSecretPrevious])) {
        throw new DomainError('unauthorized', 'invalid webhook signature');
      }
      const payload = parseSignedJson(raw);
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new DomainError('validation_failed', 'the webhook body must be a JSON object');
      request.body = payload as typeof request.body;
    },
  }, async (request) => {
    const headers = request.headers;
    const topic = headers['x-shopify-topic'];
    const webhookId = headers['x-shopify-webhook-id'];
    const eventId = headers['x-shopify-event-id'];
    if (!topic || !/^[a-z_]+\/[a-z_]+$/.test(topic)) throw new DomainError('validation_failed', 'X-Shopify-Topic is missing or malformed');
    if (!webhookId || !ID_RE.test(webhookId)) throw new DomainError('validation_failed', 'X-Shopify-Webhook-Id is missing or malformed');
    if (eventId !== undefined && !ID_RE.test(eventId)) throw new DomainError('validation_failed', 'X-Shopify-Event-Id is malformed');
    const payload = request.body;
    const stored = await services.fulfillment.recordShopifyWebhook({ webhookId, eventId: eventId ?? null, topic, payload });
    return { received: true, duplicate: !stored };
  });
}
