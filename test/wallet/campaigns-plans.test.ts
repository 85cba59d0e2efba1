// The EXPLAIN check for the campaign queries, run as the repository issues them, against enough rows that the
// planner would rather scan sequentially if no index served them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database, type Executor } from '../../src/platform/db.js';
import { campaignTotals, listCampaigns } from '../../src/modules/wallet/campaigns.repository.js';
import { findCampaignWindow } from '../../src/modules/wallet/grants.repository.js';
import { createTestDatabase } from '../support/database.js';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

let database: { url: string; drop: () => Promise<void> };
let db: Database;
let campaignId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  db = await openDatabase({ url: database.url, poolSize: 2, statementTimeoutMs: 120_000 });
  // 3,000 campaigns; 60,000 grants: two thirds name one of 300 campaigns, the rest none.
  await db.query(`
    INSERT INTO users (id) SELECT md5('user' || n)::uuid FROM generate_series(1, 1000) AS n;
    INSERT INTO reward_campaigns (id, slug, name, kind, created_at)
      SELECT md5('campaign' || n)::uuid, 'campaign-' || n, 'Campaign ' || n, (ARRAY['tournament','promotion','collab','other'])[1 + n % 4],
             now() - n * interval '1 minute'
        FROM generate_series(1, 3000) AS n;
    INSERT INTO grants (user_id, gems, reason, campaign_id, granted_by)
      SELECT md5('user' || (n % 1000 + 1))::uuid, n % 50, 'seed', CASE WHEN n % 3 = 0 THEN NULL ELSE md5('campaign' || (n % 300 + 1))::uuid END, 'seed'
        FROM generate_series(1, 60000) AS n;`);
  await db.query('VACUUM ANALYZE grants');
  await db.query('VACUUM ANALYZE reward_campaigns');
  // campaign-8 is named by every n ≡ 7 (mod 300): 200 grants of 7 gems each (300 is a multiple of 3 and 50).
  campaignId = (await db.query<{ id: string }>(`SELECT md5('campaign' || 8)::uuid AS id`)).rows[0]!.id;
});
afterAll(async () => {
  await db?.close();
  await database?.drop();
});

async function plansOf(work: (executor: Executor) => Promise<unknown>): Promise<PlanNode[]> {
  const plans: PlanNode[] = [];
  const explaining: Executor = {
    async query<R>(text: string, params?: readonly unknown[]) {
      const { rows } = await db.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) ${text}`, params);
      plans.push(rows[0]!['QUERY PLAN'][0]!.Plan);
      return db.query<R>(text, params);
    },
  };
  await work(explaining);
  return plans;
}

function nodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodes)];
}

function expectIndex(plan: PlanNode, table: string, index: string): void {
  const all = nodes(plan);
  expect(all.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === table), JSON.stringify(plan)).toEqual([]);
  expect(all.some((n) => n['Index Name'] === index), JSON.stringify(plan)).toBe(true);
}

describe('campaign query plans', () => {
  it("when a campaign's totals are read, then grants_campaign_idx serves them (no sequential scan of grants)", async () => {
    const [plan] = await plansOf((x) => campaignTotals(x, campaignId));
    expectIndex(plan!, 'grants', 'grants_campaign_idx');
    expect(await campaignTotals(db, campaignId)).toMatchObject({ count: 200, gems: 200 * 7 });
  });

  it('when the campaign list is walked, then its first and next pages read reward_campaigns_created_idx', async () => {
    const first = await listCampaigns(db, { limit: 20 }, undefined);
    const plans = await plansOf(async (x) => {
      await listCampaigns(x, { limit: 20 }, undefined);
      await listCampaigns(x, { limit: 20, kind: 'collab', active: true }, first.last);
    });
    for (const plan of plans) expectIndex(plan, 'reward_campaigns', 'reward_campaigns_created_idx');
  });

  it("when a grant reads its campaign's window, then it is a primary-key lookup", async () => {
    const [plan] = await plansOf((x) => findCampaignWindow(x, campaignId));
    expectIndex(plan!, 'reward_campaigns', 'reward_campaigns_pkey');
  });
});
