// The effects a used (or consumed) inventory item applies: the ONE place that knows them.
// An item definition's `effect` is an object such as `{ "name_change": 1 }`; each key must be registered here (names
// in lower case with underscores, as functional effects are written).
// Using `quantity` units of an item applies every key `quantity` times, in the same transaction as the
// decrement, so an item is never used up without its effect (or the reverse).
//
// To add an effect: add an entry below (a counter in user_entitlements needs only `entitlementEffect(name)`;
// anything else implements `EffectHandler` with SQL inside `tx`), document it in docs/inventory-and-characters.md,
// and test it. No schema change is needed for a new counter.
//
// `gems` is deliberately absent: gem packs are applied at purchase by fulfillment (a wallet transfer), never
// from the inventory. An item whose effect names an unregistered key is refused on use (not_available), so a
// typo in an item definition can never silently swallow a purchase.
import type { Tx } from '../../platform/db.js';
import { DomainError } from '../../platform/errors.js';

export interface AppliedEffect {
  added: number;
  /** The counter's value after the effect, when the effect keeps one. */
  total: number;
}

export interface EffectHandler {
  /** Undefined when the effect cannot take `amount` more (a counter at its cap): the use is refused, limit_reached. */
  apply(tx: Tx, input: { userId: string; amount: number }): Promise<AppliedEffect | undefined>;
}

/**
 * The most a counter may hold: answers carry it as a JSON number, exact only up to 2^53 - 1 (bigint would also
 * overflow a little later, as a 400). A use that would go past it is refused whole (409 limit_reached).
 */
export const MAX_ENTITLEMENT = Number.MAX_SAFE_INTEGER;

const counterFull = (name: string, itemId: string) =>
  new DomainError('limit_reached', `the "${name}" counter can hold at most ${MAX_ENTITLEMENT}`, { itemId, effect: name, max: MAX_ENTITLEMENT });

/** An effect that adds to a per-user counter in user_entitlements (extra lives, name-change credits, …). */
export function entitlementEffect(entitlement: string): EffectHandler {
  return {
    async apply(tx, { userId, amount }) {
      // The cap is the conditional DO UPDATE (the caller keeps `amount` itself within it): no row back, nothing added.
      const { rows } = await tx.query<{ quantity: number }>(
        `INSERT INTO user_entitlements (user_id, entitlement, quantity) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, entitlement) DO UPDATE
            SET quantity = user_entitlements.quantity + EXCLUDED.quantity, updated_at = now()
          WHERE user_entitlements.quantity + EXCLUDED.quantity <= $4::bigint
         RETURNING quantity`,
        [userId, entitlement, amount, MAX_ENTITLEMENT],
      );
      if (!rows[0]) return undefined;
      return { added: amount, total: rows[0].quantity };
    },
  };
}

export const EFFECTS: Readonly<Record<string, EffectHandler>> = {
  /** A name-change card: one credit the profile service spends on a rename. */
  name_change: entitlementEffect('name_change'),
  /** The same card under its older key (the demo catalog's and earlier items' spelling). */
  nameChange: entitlementEffect('name_change'),
  /** Extra lives banked on the account (a game server spends them from user_entitlements). */
  lives: entitlementEffect('lives'),
};

/** Applies every effect of `effect` `times` times; refuses (rolls back the use) on anything not registered. */
export async function applyItemEffect(
  tx: Tx,
  input: { userId: string; itemId: string; effect: Record<string, unknown> | null; times: number },
): Promise<Record<string, AppliedEffect>> {
  const applied: Record<string, AppliedEffect> = {};
  if (!input.effect) return applied;
  for (const [name, perUnit] of Object.entries(input.effect).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const handler = Object.hasOwn(EFFECTS, name) ? EFFECTS[name] : undefined;
    if (!handler || typeof perUnit !== 'number' || !Number.isSafeInteger(perUnit) || perUnit < 1) {
      throw new DomainError('not_available', `this item's effect "${name}" cannot be applied from the inventory`, { itemId: input.itemId, effect: name });
    }
    const amount = perUnit * input.times;
    const effect = Number.isSafeInteger(amount) && amount <= MAX_ENTITLEMENT ? await handler.apply(tx, { userId: input.userId, amount }) : undefined;
    if (!effect) throw counterFull(name, input.itemId);
    applied[name] = effect;
  }
  return applied;
}
