import { Type } from '@sinclair/typebox';
import { DisplayText, Nullable, Timestamp, Uuid } from '../../platform/http/schemas.js';

/** Far below 2^53 even summed over every wallet, so gem amounts stay exact as JS numbers. */
export const MAX_GEMS = 1_000_000_000;

/**
 * The most gems one wallet can hold (10^15). Balances travel as JS numbers (the int8 parser), which are exact only
 * up to 2^53 ≈ 9·10^15; a credit that would go past this answers 409 limit_reached instead. Purchases can credit far
 * more than MAX_GEMS at once (a gem pack's effect × its quantity), so the cap is on the balance, not on one credit.
 */
export const MAX_WALLET_BALANCE = 1_000_000_000_000_000;

export const Wallet = Type.Object({ balance: Type.Integer(), currency: Type.Literal('gems') }, { $id: 'Wallet' });

export const WalletTransaction = Type.Object(
  {
    id: Uuid, // the transfer id: one user leg per transfer
    amount: Type.Integer({ description: 'signed: positive = gems in, negative = gems out' }),
    balanceAfter: Type.Integer(),
    reason: Type.String({ description: 'purchase | grant | topup | adjustment | refund | functional_effect | shopify_cancellation' }),
    reference: Nullable(Type.String({ description: 'id of what caused it (order, grant, top-up event, …)' })),
    referenceType: Nullable(Type.String()),
    memo: Nullable(Type.String()),
    createdAt: Timestamp,
  },
  { $id: 'WalletTransaction' },
);

export const GrantBody = Type.Object(
  {
    userId: Uuid,
    gems: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_GEMS })),
    items: Type.Optional(
      Type.Array(Type.Object({ itemId: Uuid, quantity: Type.Integer({ minimum: 1, maximum: 10_000 }) }, { additionalProperties: false }), { maxItems: 100 }),
    ),
    // Shown to the player as the memo of the wallet entry and to operators: a visible word, not just blanks.
    reason: DisplayText(200),
    campaignId: Type.Optional(Nullable(Uuid)),
  },
  { additionalProperties: false },
);

export const Grant = Type.Object(
  {
    id: Uuid,
    userId: Uuid,
    gems: Type.Integer(),
    items: Type.Array(Type.Object({ itemId: Uuid, quantity: Type.Integer() })),
    reason: Type.String(),
    campaignId: Nullable(Uuid),
    balanceAfter: Type.Integer(),
    createdAt: Timestamp,
  },
  { $id: 'Grant' },
);

export const AdjustmentBody = Type.Object(
  {
    amount: Type.Integer({ minimum: -MAX_GEMS, maximum: MAX_GEMS, not: { const: 0 }, description: 'signed, non-zero' }),
    reason: DisplayText(200),
  },
  { additionalProperties: false },
);

export const Adjustment = Type.Object(
  {
    id: Uuid,
    userId: Uuid,
    amount: Type.Integer(),
    reason: Type.String(),
    transferId: Uuid,
    balanceAfter: Type.Integer(),
    createdAt: Timestamp,
  },
  { $id: 'Adjustment' },
);

export const PaymentEvent = Type.Object(
  {
    eventId: Type.String({ minLength: 1, maxLength: 200 }),
    userId: Uuid,
    gems: Type.Integer({ minimum: 1, maximum: MAX_GEMS }),
    amountCents: Type.Integer({ minimum: 0, maximum: 100_000_000_00 }),
    currency: Type.String({ pattern: '^[A-Za-z]{3}$' }),
  },
  { additionalProperties: true }, // providers add fields over time; the signature already vouches for the body
);

export const TopUp = Type.Object(
  {
    eventId: Type.String(),
    userId: Uuid,
    gems: Type.Integer(),
    transferId: Uuid,
    balanceAfter: Type.Integer({ description: 'the wallet balance right after this credit' }),
  },
  { $id: 'TopUp' },
);
