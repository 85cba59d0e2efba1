import type { Executor } from '../../platform/db.js';

export async function insertGrant(
  db: Executor,
  grant: { id: string; userId: string; gems: number; reason: string; campaignId: string | null; grantedBy: string; items: ReadonlyArray<{ itemId: string; quantity: number }> },
): Promise<{ created_at: Date }> {
  const { rows } = await db.query<{ created_at: Date }>(
    `WITH g AS (
       INSERT INTO grants (id, user_id, gems, reason, campaign_id, granted_by) VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING id, created_at
     ), gi AS (
       INSERT INTO grant_items (grant_id, item_id, quantity)
       SELECT g.id, x.item_id, x.quantity FROM g, unnest($7::uuid[], $8::int[]) AS x(item_id, quantity)
     )
     SELECT created_at FROM g`,
    [grant.id, grant.userId, grant.gems, grant.reason, grant.campaignId, grant.grantedBy, grant.items.map((i) => i.itemId), grant.items.map((i) => i.quantity)],
  );
  return rows[0]!;
}

export interface CampaignWindow {
  slug: string;
  starts_at: Date | null;
  ends_at: Date | null;
  /** Against [starts_at, ends_at) at the transaction's now(), the instant the grant is recorded at. */
  state: 'open' | 'not_started' | 'ended';
}

/**
 * The campaign's window, read under FOR SHARE: a PATCH that closes the window waits for grants in flight, and a
 * grant that waits on such a PATCH re-reads the new window (the lock re-evaluates the row), so no grant commits
 * against a window that no longer holds.
 */
export async function findCampaignWindow(db: Executor, campaignId: string): Promise<CampaignWindow | undefined> {
  const { rows } = await db.query<CampaignWindow>(
    `SELECT slug, starts_at, ends_at,
            CASE WHEN starts_at > now() THEN 'not_started' WHEN ends_at <= now() THEN 'ended' ELSE 'open' END AS state
       FROM reward_campaigns
      WHERE id = $1
      FOR SHARE`,
    [campaignId],
  );
  return rows[0];
}

/** Records a payment event once: the unique (source, external_id) makes a redelivery insert nothing. */
/** The body a payment event was first recorded with (the one that was credited), or null when it is unknown. */
export async function recordedPaymentEvent(db: Executor, eventId: string): Promise<Record<string, unknown> | null> {
  const { rows } = await db.query<{ payload: Record<string, unknown> }>(
    `SELECT payload FROM webhook_events WHERE source = 'payments' AND external_id = $1`,
    [eventId],
  );
  return rows[0]?.payload ?? null;
}

export async function recordPaymentEvent(db: Executor, eventId: string, payload: unknown): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO webhook_events (source, external_id, topic, payload, processed_at)
     VALUES ('payments', $1, 'payment.succeeded', $2::jsonb, now())
     ON CONFLICT (source, external_id) DO NOTHING`,
    [eventId, JSON.stringify(payload)],
  );
  return rowCount === 1;
}
