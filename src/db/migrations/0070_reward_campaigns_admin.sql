-- Reward campaigns get an admin API (src/modules/wallet/campaigns.*). The API checks these rules first for precise
-- messages; the constraints are the truth for every writer, including operators' SQL.

-- A window that ends before it starts would silently refuse every grant.
ALTER TABLE reward_campaigns
  ADD CONSTRAINT reward_campaign_window CHECK (ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at),
  ADD CONSTRAINT reward_campaign_attributes_object CHECK (jsonb_typeof(attributes) = 'object');

-- GET /admin/campaigns: newest first, keyset-paginated on (created_at, id).
CREATE INDEX reward_campaigns_created_idx ON reward_campaigns (created_at DESC, id DESC);

-- GET /admin/campaigns/:id sums a campaign's grants (count, gems, distinct players). Partial: most grants name no
-- campaign and cost this index nothing. INCLUDE lets the sum be an index-only scan on a large campaign. It also
-- serves the foreign key's RESTRICT check when a campaign row is deleted.
CREATE INDEX grants_campaign_idx ON grants (campaign_id) INCLUDE (user_id, gems) WHERE campaign_id IS NOT NULL;
