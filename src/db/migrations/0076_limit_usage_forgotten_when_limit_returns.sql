-- purchase_limit_usage (purchases module) counts a player's units only while the listing has a per-user limit: a
-- purchase of an unlimited listing counts nothing. When a lifted limit came back, the counters from before were
-- behind the orders bought meanwhile and were trusted again; the orders sum in the counting upsert only guards
-- the first insert, so two parallel purchases could both pass a stale counter and take the player past the
-- limit (test/purchases/limit-reimposed.test.ts). A listing that gets a limit again forgets its counters in the
-- same transaction; each player's next purchase seeds a fresh one from their completed orders. The admin update
-- first waits for the listing's running purchases (FOR UPDATE in catalog/listings.repository.ts), so every
-- order bought without the limit has committed by then and is in that sum.
CREATE FUNCTION forget_limit_usage_of_relimited_listing() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM purchase_limit_usage WHERE listing_id = NEW.id;
  RETURN NULL;
END
$$;

CREATE TRIGGER listings_limit_returns_forget_usage
  AFTER UPDATE OF per_user_limit ON listings
  FOR EACH ROW
  WHEN (OLD.per_user_limit IS NULL AND NEW.per_user_limit IS NOT NULL)
  EXECUTE FUNCTION forget_limit_usage_of_relimited_listing();
