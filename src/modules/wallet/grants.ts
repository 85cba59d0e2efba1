// Gems and items handed out by game servers and the tournament system (rewards, promotions, collabs), and gems
// bought through the payment provider. Each is one transaction: the record, the ledger transfer and the items.
import type { Tx } from '../../platform/db.js';
import { DomainError, invalid, notFound } from '../../platform/errors.js';
import type { Services } from '../../services.js';
import * as repo from './grants.repository.js';
import * as walletRepo from './wallet.repository.js';
import { newRowId } from '../../platform/ids.js';

export interface GrantInput {
  userId: string;
  gems?: number;
  items?: ReadonlyArray<{ itemId: string; quantity: number }>;
  reason: string;
  campaignId?: string | null;
  grantedBy: string;
}

export interface GrantView {
  id: string;
  userId: string;
  gems: number;
  items: Array<{ itemId: string; quantity: number }>;
  reason: string;
  campaignId: string | null;
  balanceAfter: number;
  createdAt: string;
}

export interface TopUpInput {
  eventId: string;
  userId: string;
  gems: number;
  amountCents: number;
  currency: string;
}

export interface TopUpView {
  eventId: string;
  userId: string;
  gems: number;
  transferId: string;
  balanceAfter: number;
}

/** The same item named twice in one grant is one line with the quantities added up. */
function mergeItems(items: ReadonlyArray<{ itemId: string; quantity: number }>): Array<{ itemId: string; quantity: number }> {
  const byId = new Map<string, number>();
  for (const item of items) byId.set(item.itemId, (byId.get(item.itemId) ?? 0) + item.quantity);
  return [...byId].map(([itemId, quantity]) => ({ itemId, quantity }));
}

/** True when a string or key anywhere in a JSON value holds U+0000, which PostgreSQL text and jsonb cannot store. */
export function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(containsNul);
  if (typeof value === 'object' && value !== null) return Object.entries(value).some(([key, inner]) => key.includes('\u0000') || containsNul(inner));
  return false;
}

/** A grant may name a campaign only while it runs: unknown → 404, outside [startsAt, endsAt) → 409 not_available. */
async function checkCampaignOpen(tx: Tx, campaignId: string): Promise<void> {
  const campaign = await repo.findCampaignWindow(tx, campaignId);
  if (!campaign) throw notFound('campaign');
  if (campaign.state === 'open') return;
  const startsAt = campaign.starts_at?.toISOString() ?? null;
  const endsAt = campaign.ends_at?.toISOString() ?? null;
  throw new DomainError(
    'not_available',
    campaign.state === 'not_started'
      ? `campaign "${campaign.slug}" has not started yet: it starts at ${startsAt}`
      : `campaign "${campaign.slug}" has ended: it ended at ${endsAt}`,
    { campaignId, startsAt, endsAt },
  );
}

export function createGrantsFlow(services: Pick<Services, 'users' | 'catalog' | 'inventory' | 'wallet'>) {
  return {
    async grantInTx(tx: Tx, raw: GrantInput): Promise<GrantView> {
      // PostgreSQL reads a uuid in any case; caches, the item lookup and the answer use the canonical (lower-case)
      // form, as tokens and the database do (an item named in upper case was "not found", and the same item in two
      // spellings was two lines).
      const input = { ...raw, userId: raw.userId.toLowerCase(), campaignId: raw.campaignId?.toLowerCase() ?? null };
      const gems = input.gems ?? 0;
      const items = mergeItems((input.items ?? []).map((item) => ({ itemId: item.itemId.toLowerCase(), quantity: item.quantity })));
      if (gems === 0 && items.length === 0) throw new DomainError('validation_failed', 'a grant needs gems or items');
      if (items.some((item) => item.quantity > 10_000)) throw new DomainError('validation_failed', 'at most 10000 of an item per grant');
      if (containsNul(input.reason)) throw invalid('reason cannot contain the character U+0000');
      const campaignId = input.campaignId;

      if (items.length > 0) {
        const definitions = new Map((await services.catalog.getItemsInTx(tx, items.map((i) => i.itemId))).map((d) => [d.id, d]));
        const missing = items.find((i) => !definitions.has(i.itemId));
        if (missing) throw new DomainError('not_found', `item ${missing.itemId} not found`, { itemId: missing.itemId });
        // A grant has no order, fulfillment or address: a voucher mail, a parcel or an effect could not be delivered
        // (a gem pack would have landed in the inventory as an inert row). Gems are granted as `gems`.
        const undeliverable = [...definitions.values()].find((d) => d.deliveryType !== 'inventory');
        if (undeliverable) {
          throw new DomainError('not_available', `item ${undeliverable.id} is delivered by ${undeliverable.deliveryType}: a grant hands out gems and inventory items only`, {
            itemId: undeliverable.id,
            deliveryType: undeliverable.deliveryType,
          });
        }
      }
      if (campaignId) await checkCampaignOpen(tx, campaignId);

      await services.users.ensureUserExistsInTx(tx, input.userId);
      const id = newRowId();
      const { created_at } = await repo.insertGrant(tx, { id, userId: input.userId, gems, reason: input.reason, campaignId, grantedBy: input.grantedBy, items });

      const balanceAfter = gems > 0
        ? (await services.wallet.creditUserInTx(tx, {
            userId: input.userId,
            amount: gems,
            counterparty: campaignId ? 'promotions' : 'issuance',
            reason: 'grant',
            referenceType: 'grant',
            referenceId: id,
            memo: input.reason,
          })).balanceAfter
        : ((await walletRepo.findBalance(tx, input.userId)) ?? 0);
      if (items.length > 0) {
        await services.inventory.grantItemsInTx(tx, { userId: input.userId, items, source: 'grant', sourceRef: id, actor: input.grantedBy });
      }
      return { id, userId: input.userId, gems, items, reason: input.reason, campaignId, balanceAfter, createdAt: created_at.toISOString() };
    },

    /**
     * Credits a signed top-up once per eventId. A redelivery (sequential or concurrent: the second insert waits
     * on the first's unique-index entry, then sees it) answers with the first credit instead of crediting again.
     */
    async topUpInTx(tx: Tx, signed: TopUpInput, payload: unknown): Promise<{ view: TopUpView; duplicate: boolean }> {
      const event = { ...signed, userId: signed.userId.toLowerCase() };
      // A signed event can still carry U+0000 (in eventId or any field); storing it would fail inside PostgreSQL as a 500.
      if (containsNul(payload)) throw invalid('the event contains the character U+0000, which cannot be stored');
      if (await repo.recordPaymentEvent(tx, event.eventId, payload)) {
        await services.users.ensureUserExistsInTx(tx, event.userId);
        const credit = await services.wallet.creditUserInTx(tx, {
          userId: event.userId,
          amount: event.gems,
          counterparty: 'topups',
          reason: 'topup',
          referenceType: 'topup',
          referenceId: event.eventId,
          memo: paidAmount(event.amountCents, event.currency),
        });
        return { view: { eventId: event.eventId, userId: event.userId, gems: event.gems, ...credit }, duplicate: false };
      }
      // A redelivery carries the same event; the same eventId with another user, amount or price is not one. Replaying
      // the first credit would tell the provider that this body was credited: it is refused instead (nothing moves).
      const recorded = await repo.recordedPaymentEvent(tx, event.eventId);
      if (recorded && !sameTopUp(recorded, event)) {
        throw new DomainError('idempotency_conflict', `payment event ${event.eventId} was already credited with another userId, gems, amountCents or currency`);
      }
      const first = await walletRepo.findUserEntryByReference(tx, 'topup', event.eventId);
      if (!first) throw new Error(`payment event ${event.eventId} is recorded without its credit`);
      return {
        view: { eventId: event.eventId, userId: first.user_id, gems: first.amount, transferId: first.transfer_id, balanceAfter: first.balance_after },
        duplicate: true,
      };
    },
  };
}

/**
 * What a top-up paid, as the player reads it in the wallet's history: the webhook's `amountCents` is in the
 * currency's minor unit, so 499 USD cents is "4.99 USD", 500 JPY (no minor unit) "500 JPY", 1234 KWD fils "1.234 KWD".
 * Integer arithmetic only; a code Intl does not know gets two decimals.
 */
export function paidAmount(amountMinor: number, currency: string): string {
  const code = currency.toUpperCase();
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    // not a well-formed currency code: keep two decimals
  }
  if (digits === 0) return `${amountMinor} ${code}`;
  const padded = String(amountMinor).padStart(digits + 1, '0');
  return `${padded.slice(0, -digits)}.${padded.slice(-digits)} ${code}`;
}

/** Whether a recorded payment event and a new delivery describe the same top-up (the fields that move money). */
function sameTopUp(recorded: Record<string, unknown>, event: TopUpInput): boolean {
  return String(recorded.userId ?? '').toLowerCase() === event.userId.toLowerCase()
    && recorded.gems === event.gems
    && recorded.amountCents === event.amountCents
    && String(recorded.currency ?? '').toUpperCase() === event.currency.toUpperCase();
}
