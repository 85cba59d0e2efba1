-- Indexes found missing by the EXPLAIN check (test/platform/query-plans.test.ts).

-- "Featured only" sorted by price: featured listings are a small slice of the catalog, so without this the
-- planner reads every active listing and sorts; with it, the page is the first rows of a small index.
CREATE INDEX listings_featured_price_idx ON listings (price, id) WHERE active AND featured_rank IS NOT NULL;
