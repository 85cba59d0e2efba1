import { Type } from '@sinclair/typebox';
import type { App } from '../../platform/http/types.js';
import type { RouteContext } from '../../context.js';
import { Cursor, IdempotencyHeaders, Limit, NoQuery, Page, Uuid, errorResponses } from '../../platform/http/schemas.js';
import { principalOf } from '../../platform/http/auth-hooks.js';
import { replyIdempotent } from '../../platform/http/idempotent-reply.js';
import { Adjustment, AdjustmentBody, Grant, GrantBody, Wallet, WalletTransaction } from './wallet.schemas.js';
import { createGrantsFlow } from './grants.js';
import { Fields, applyFields, sparseItem } from '../list-fields.js';
import { paymentsWebhookRoutes } from './payments-webhook.routes.js';
import { campaignsAdminRoutes } from './campaigns.routes.js';

export async function walletRoutes(app: App, ctx: RouteContext): Promise<void> {
  const { services, authenticate, db } = ctx;
  const { wallet } = services;
  const grants = createGrantsFlow(services);
  for (const schema of [Wallet, WalletTransaction, Grant, Adjustment]) app.addSchema(schema);

  // onRequest: the role is checked before the body is parsed or validated, so a stranger gets 401/403, never 400.
  const player = { onRequest: authenticate('player') };
  app.get('/user/wallet', {
    ...player,
    schema: { tags: ['wallet'], summary: "The caller's gem balance", querystring: NoQuery, response: { 200: Type.Ref(Wallet), ...errorResponses(400, 401, 403) } },
  }, async (request) => ({ balance: await wallet.getBalance(principalOf(request).userId), currency: 'gems' as const }));

  app.get('/user/wallet/transactions', {
    ...player,
    schema: {
      tags: ['wallet'],
      summary: "The caller's ledger entries, newest first (fields= keeps only the named properties and id)",
      querystring: Type.Object({ limit: Limit, cursor: Type.Optional(Cursor), fields: Type.Optional(Fields) }, { additionalProperties: false }),
      response: { 200: Page(sparseItem(WalletTransaction)), ...errorResponses(400, 401, 403) },
    },
  }, async (request) => {
    const { fields, ...query } = request.query;
    return applyFields(await wallet.listTransactions(principalOf(request).userId, query), fields, Object.keys(WalletTransaction.properties));
  });

  app.post('/admin/users/:userId/wallet/adjustments', {
    onRequest: authenticate('admin'),
    schema: {
      tags: ['admin', 'wallet'],
      summary: 'Credit (positive) or debit (negative) a wallet; a debit never takes it below zero',
      headers: IdempotencyHeaders,
      querystring: NoQuery,
      params: Type.Object({ userId: Uuid }),
      body: AdjustmentBody,
      response: { 201: Type.Ref(Adjustment), ...errorResponses(400, 401, 403, 404, 409, 422) },
    },
  }, async (request, reply) => {
    const actor = principalOf(request).userId;
    return replyIdempotent(db, request, reply, async (tx) => ({
      status: 201,
      body: await wallet.adjustInTx(tx, { userId: request.params.userId.toLowerCase(), amount: request.body.amount, reason: request.body.reason, actor }),
    }));
  });

  app.post('/service/grants', {
    onRequest: authenticate('service'),
    schema: {
      tags: ['service', 'wallet'],
      summary: 'Grant gems and/or items (tournament rewards, promotions, collabs); creates the user if new',
      headers: IdempotencyHeaders,
      querystring: NoQuery,
      body: GrantBody,
      response: { 201: Type.Ref(Grant), ...errorResponses(400, 401, 403, 404, 409, 422) },
    },
  }, async (request, reply) => {
    const grantedBy = `service:${principalOf(request).userId}`;
    // The grant as it is understood (as grantInTx reads it): ids are case-blind and campaignId null means none, so a
    // retry spelling the same grant otherwise replays instead of 422 idempotency_key_reused (as a purchase does).
    const { userId, items, campaignId, ...rest } = request.body;
    const asked = {
      ...rest,
      userId: userId.toLowerCase(),
      ...(items !== undefined ? { items: items.map((item) => ({ ...item, itemId: item.itemId.toLowerCase() })) } : {}),
      ...(campaignId != null ? { campaignId: campaignId.toLowerCase() } : {}),
    };
    return replyIdempotent(db, request, reply, async (tx) => ({ status: 201, body: await grants.grantInTx(tx, { ...request.body, grantedBy }) }), {
      fingerprintBody: asked,
      // After the commit and before the reply, so no reader re-caches the inventory as it was before the grant.
      afterCommit: async (response) => {
        // The grant's own (lower-case) userId: the body may spell the uuid in upper case, the cache key never does.
        if (response.status === 201 && (request.body.items?.length ?? 0) > 0) await services.inventory.invalidateUser((response.body as { userId: string }).userId);
      },
    });
  });

  await app.register(async (scope) => paymentsWebhookRoutes(scope as unknown as App, ctx, grants));
  await campaignsAdminRoutes(app, ctx);
}
