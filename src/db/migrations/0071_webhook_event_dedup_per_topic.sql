-- X-Shopify-Event-Id names the shop event behind a webhook. A repeat of the same topic with that id is a duplicate
-- (a retry, or a second subscription), but one event may also fire webhooks of several topics (an order fulfilled
-- sends orders/fulfilled and fulfillments/create): deduplicating on the id alone stored the first and dropped the
-- others. Our handlers only move state forward, so processing each topic once is always safe.
DROP INDEX webhook_events_event_idx;
CREATE UNIQUE INDEX webhook_events_event_idx ON webhook_events (source, topic, event_id) WHERE event_id IS NOT NULL;
