-- Storefront indexes that keyset pagination can seek into (see docs/query-plans.md).

-- Featured order is "rank ascending, newest first". Mixed directions cannot be one row comparison, so the key
-- is the negated rank: every column descends and `(key, created_at, id) < (…)` seeks straight into the index.
-- The rank is bounded so negating it never overflows.
ALTER TABLE listings ADD CONSTRAINT listing_featured_rank_range CHECK (featured_rank BETWEEN 0 AND 1000000);
DROP INDEX listings_featured_idx;
CREATE INDEX listings_featured_idx ON listings ((-coalesce(featured_rank, 2147483647)) DESC, created_at DESC, id DESC) WHERE active;

-- Per-game pages for the other sorts (listings_game_idx already serves gameId with the price sorts).
CREATE INDEX listings_game_featured_idx ON listings (game_id, (-coalesce(featured_rank, 2147483647)) DESC, created_at DESC, id DESC) WHERE active;
CREATE INDEX listings_game_newest_idx ON listings (game_id, created_at DESC, id DESC) WHERE active;

-- The time-window schedule the storefront cache keys on: the next start or end of an active listing.
CREATE INDEX listings_starts_idx ON listings (starts_at) WHERE active AND starts_at IS NOT NULL;
CREATE INDEX listings_ends_idx ON listings (ends_at) WHERE active AND ends_at IS NOT NULL;

-- `q` is a substring search (ILIKE) over titles and item names. pg_trgm makes it an index lookup on PostgreSQL;
-- embedded PGlite starts without the extension, and there a sequential filter over the small demo catalog is fine.
DO $$
BEGIN
  BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
  EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable: storefront text search runs without a trigram index';
  END;
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
    EXECUTE 'CREATE INDEX listings_search_trgm_idx ON listings USING gin (search_text gin_trgm_ops) WHERE active';
  END IF;
END
$$;
