// Gem top-ups confirmed by the payment provider. The signature is an HMAC over the exact bytes received, so this
// scope parses JSON itself: it keeps the raw body, checks the signature before anything else (a bad one stores
// nothing and learns nothing about the body), and only then parses and validates.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { App } from '../../platform/http/types.js';
import type { RouteContext } from '../../context.js';
import { DomainError } from '../../platform/errors.js';
import { errorResponses } from '../../platform/http/schemas.js';
import { parseSignedJson } from '../../platform/http/json-body.js';
import { PaymentEvent, TopUp } from './wallet.schemas.js';
import type { createGrantsFlow } from './grants.js';

export function isValidSignature(secret: string, rawBody: Buffer, header: unknown): boolean {
  if (typeof header !== 'string' || !/^[0-9a-fA-F]{64}$/.test(header)) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(header, 'hex'));
}

export async function paymentsWebhookRoutes(app: App, { config, db }: RouteContext, grants: ReturnType<typeof createGrantsFlow>): Promise<void> {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.addSchema(TopUp);

  app.post('/webhooks/payments', {
    schema: {
      tags: ['webhooks', 'wallet'],
      summary: 'Signed gem top-up from the payment provider; each eventId is credited once',
      security: [],
      // Required, as the document says: without it the answer is 401 (preValidation checks it before validation runs).
      headers: Type.Object({ 'x-signature': Type.String({ description: 'hex HMAC-SHA256 of the raw body with PAYMENTS_WEBHOOK_SECRET; missing or wrong → 401' }) }),
      body: PaymentEvent,
      // 409 limit_reached: the wallet cannot take the credit (nothing is recorded, so the provider's retry can land later);
      // 409 idempotency_conflict: the eventId was credited with another user, amount or price.
      response: { 200: Type.Ref(TopUp), ...errorResponses(400, 401, 409, 415) },
    },
    preValidation: async (request: FastifyRequest) => {
      const raw = request.body;
      if (!Buffer.isBuffer(raw) || !isValidSignature(config.paymentsWebhookSecret, raw, request.headers['x-signature'])) {
        throw new DomainError('unauthorized', 'invalid webhook signature');
      }
      // The depth bound matters here too: the event is walked and stored recursively afterwards, and a signed body
      // thousands of levels deep overflowed the stack (500).
      request.body = parseSignedJson(raw);
    },
  }, async (request, reply) => {
    const event = request.body;
    const { view, duplicate } = await db.withTx((tx) => grants.topUpInTx(tx, event, event));
    if (duplicate) reply.header('idempotent-replayed', 'true');
    return view;
  });
}
