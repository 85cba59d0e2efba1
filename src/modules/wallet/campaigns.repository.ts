// SQL for reward campaigns (admin side). The grant's own read of a campaign is in grants.repository.ts.
import type { Executor } from '../../platform/db.js';
import { pageOf } from '../../platform/http/pagination.js';
import type { CampaignTotals, CampaignView } from './campaigns.schemas.js';

interface CampaignRow {
  id: string;
  slug: string;
  name: string;
  kind: CampaignView['kind'];
  starts_at: Date | null;
  ends_at: Date | null;
  attributes: Record<string, unknown>;
  created_at: Date;
  /** created_at with microseconds: a Date keeps only milliseconds, so the cursor could skip or repeat rows. */
  created_key: string;
}

export interface CampaignColumns {
  name: string;
  startsAt: string | null;
  endsAt: string | null;
  attributes: Record<string, unknown>;
}

export type Keyset = { createdAt: string; id: string };

const RETURNING = `id, slug, name, kind, starts_at, ends_at, attributes, created_at,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key`;

function toView(row: CampaignRow): CampaignView {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    kind: row.kind,
    startsAt: row.starts_at?.toISOString() ?? null,
    endsAt: row.ends_at?.toISOString() ?? null,
    attributes: row.attributes,
    createdAt: row.created_at.toISOString(),
  };
}

export async function insertCampaign(db: Executor, campaign: CampaignColumns & { slug: string; kind: string }): Promise<CampaignView> {
  const { rows } = await db.query<CampaignRow>(
    `INSERT INTO reward_campaigns (slug, name, kind, starts_at, ends_at, attributes)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb)
     RETURNING ${RETURNING}`,
    [campaign.slug, campaign.name, campaign.kind, campaign.startsAt, campaign.endsAt, JSON.stringify(campaign.attributes)],
  );
  return toView(rows[0]!);
}

export async function findCampaign(db: Executor, id: string, options: { forUpdate?: boolean } = {}): Promise<CampaignView | undefined> {
  const { rows } = await db.query<CampaignRow>(`SELECT ${RETURNING} FROM reward_campaigns WHERE id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] && toView(rows[0]);
}

/** Replaces the mutable columns; the service has merged the patch into the locked row. */
export async function updateCampaign(db: Executor, id: string, campaign: CampaignColumns): Promise<CampaignView | undefined> {
  const { rows } = await db.query<CampaignRow>(
    `UPDATE reward_campaigns SET name = $2, starts_at = $3, ends_at = $4, attributes = $5::jsonb
      WHERE id = $1
      RETURNING ${RETURNING}`,
    [id, campaign.name, campaign.startsAt, campaign.endsAt, JSON.stringify(campaign.attributes)],
  );
  return rows[0] && toView(rows[0]);
}

/**
 * Newest first, keyset on (created_at, id). `active` compares with the statement's now(): true = within
 * [starts_at, ends_at), false = not started yet or ended. One row more than the page is read, so a cursor is given
 * only when there is a next page (an exactly full last page used to hand out a cursor to an empty one).
 */
export async function listCampaigns(
  db: Executor,
  filter: { limit: number; kind?: string; active?: boolean },
  after: Keyset | undefined,
): Promise<{ items: CampaignView[]; last?: Keyset }> {
  const { rows } = await db.query<CampaignRow>(
    `SELECT ${RETURNING}
       FROM reward_campaigns
      WHERE ($1::text IS NULL OR kind = $1)
        AND ($2::boolean IS NULL
             OR $2 = ((starts_at IS NULL OR starts_at <= now()) AND (ends_at IS NULL OR now() < ends_at)))
        AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
      ORDER BY created_at DESC, id DESC
      LIMIT $5`,
    [filter.kind ?? null, filter.active ?? null, after?.createdAt ?? null, after?.id ?? null, filter.limit + 1],
  );
  const page = pageOf(rows, filter.limit);
  return { items: page.rows.map(toView), last: page.last && { createdAt: page.last.created_key, id: page.last.id } };
}

/** What a campaign has given out. Served by grants_campaign_idx (migration 0070), index-only when vacuumed. */
export async function campaignTotals(db: Executor, campaignId: string): Promise<CampaignTotals> {
  const { rows } = await db.query<CampaignTotals>(
    `SELECT count(*)::int AS count, coalesce(sum(gems), 0)::bigint AS gems, count(DISTINCT user_id)::int AS players
       FROM grants
      WHERE campaign_id = $1`,
    [campaignId],
  );
  return rows[0]!;
}
