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

export async function campaignExists(db: Executor, campaignId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM reward_campaigns WHERE id = $1', [campaignId]);
  return rowCount === 1;
}

/** Records a payment event once: the unique (source, external_id) makes a redelivery insert nothing. */
export async function recordPaymentEvent(db: Executor, eventId: string, payload: unknown): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO webhook_events (source, external_id, topic, payload, processed_at)
     VALUES ('payments', $1, 'payment.succeeded', $2::jsonb, now())
     ON CONFLICT (source, external_id) DO NOTHING`,
    [eventId, JSON.stringify(payload)],
  );
  return rowCount === 1;
}
