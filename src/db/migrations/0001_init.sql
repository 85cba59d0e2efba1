-- BattleBucks Store: the whole data model. Constraints guard correctness; application checks only make the
-- error messages nice. Money is bigint gems; every gem movement is a ledger transfer with two entries.

-- ───────────────────────────── games ─────────────────────────────
CREATE TABLE games (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE game_slots (
  game_id     uuid NOT NULL REFERENCES games(id) ON DELETE CASCADE,
  slot        text NOT NULL CHECK (slot ~ '^[a-z][a-z0-9_]{0,62}$'),
  position    int  NOT NULL DEFAULT 0,
  PRIMARY KEY (game_id, slot)
);

-- ───────────────────────────── catalog ─────────────────────────────
CREATE TABLE item_definitions (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  sku                 text NOT NULL UNIQUE CHECK (length(sku) BETWEEN 1 AND 100),
  name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description         text NOT NULL DEFAULT '',
  kind                text NOT NULL CHECK (kind IN ('game_skin','platform_skin','game_item','voucher','merch','utility','gem_pack')),
  game_id             uuid REFERENCES games(id) ON DELETE RESTRICT,
  slot                text CHECK (slot ~ '^[a-z][a-z0-9_]{0,62}$'),
  consumable          boolean NOT NULL DEFAULT false,
  max_stack           int NOT NULL DEFAULT 1 CHECK (max_stack >= 1),
  delivery_type       text NOT NULL CHECK (delivery_type IN ('inventory','email','shopify','functional')),
  effect              jsonb,
  attributes          jsonb NOT NULL DEFAULT '{}'::jsonb,
  shopify_variant_id  text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  -- A non-consumable is owned once, so it never stacks.
  CONSTRAINT item_stack_only_if_consumable CHECK (consumable OR max_stack = 1),
  -- Game-scoped kinds belong to a game; platform skins belong to none.
  CONSTRAINT item_game_kinds_have_game CHECK (kind NOT IN ('game_skin','game_item') OR game_id IS NOT NULL),
  CONSTRAINT item_platform_skin_has_no_game CHECK (kind <> 'platform_skin' OR game_id IS NULL),
  -- Worn items are never used up.
  CONSTRAINT item_slot_not_consumable CHECK (slot IS NULL OR NOT consumable),
  CONSTRAINT item_shopify_has_variant CHECK (delivery_type <> 'shopify' OR shopify_variant_id IS NOT NULL),
  CONSTRAINT item_functional_has_effect CHECK (delivery_type <> 'functional' OR effect IS NOT NULL),
  CONSTRAINT item_effect_is_object CHECK (effect IS NULL OR jsonb_typeof(effect) = 'object'),
  CONSTRAINT item_attributes_is_object CHECK (jsonb_typeof(attributes) = 'object'),
  -- A game item's slot must be one of its game's slots (MATCH SIMPLE: platform items, game_id NULL, skip it).
  CONSTRAINT item_slot_in_game FOREIGN KEY (game_id, slot) REFERENCES game_slots(game_id, slot) ON DELETE RESTRICT
);
CREATE INDEX item_definitions_game_idx ON item_definitions (game_id);

-- Platform items usable only in some games; no rows = usable in every game.
CREATE TABLE item_compatible_games (
  item_id  uuid NOT NULL REFERENCES item_definitions(id) ON DELETE CASCADE,
  game_id  uuid NOT NULL REFERENCES games(id) ON DELETE CASCADE,
  PRIMARY KEY (item_id, game_id)
);
CREATE INDEX item_compatible_games_game_idx ON item_compatible_games (game_id);

CREATE TABLE listings (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  title            text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  price            bigint NOT NULL CHECK (price >= 0),
  starts_at        timestamptz,
  ends_at          timestamptz,
  stock_total      int CHECK (stock_total >= 0),
  stock_remaining  int CHECK (stock_remaining >= 0),
  per_user_limit   int CHECK (per_user_limit >= 1),
  tags             text[] NOT NULL DEFAULT '{}',
  featured_rank    int,
  active           boolean NOT NULL DEFAULT true,
  -- Denormalized from the listing's items so the storefront filters without joins (kept by the catalog service).
  game_id          uuid REFERENCES games(id) ON DELETE RESTRICT,
  delivery_type    text NOT NULL CHECK (delivery_type IN ('inventory','email','shopify','functional','mixed')),
  kinds            text[] NOT NULL DEFAULT '{}',
  consumable       boolean NOT NULL DEFAULT false,
  search_text      text NOT NULL DEFAULT '',
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT listing_window CHECK (ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at),
  CONSTRAINT listing_stock_pair CHECK ((stock_total IS NULL) = (stock_remaining IS NULL)),
  CONSTRAINT listing_stock_bounded CHECK (stock_remaining IS NULL OR stock_remaining <= stock_total)
);
-- Storefront sorts: each serves "active listings ordered by X, id" with keyset pagination.
CREATE INDEX listings_featured_idx ON listings ((coalesce(featured_rank, 2147483647)), created_at DESC, id) WHERE active;
CREATE INDEX listings_price_idx ON listings (price, id) WHERE active;
CREATE INDEX listings_newest_idx ON listings (created_at DESC, id DESC) WHERE active;
CREATE INDEX listings_game_idx ON listings (game_id, price, id) WHERE active;
CREATE INDEX listings_tags_idx ON listings USING gin (tags) WHERE active;
CREATE INDEX listings_kinds_idx ON listings USING gin (kinds) WHERE active;

CREATE TABLE listing_items (
  listing_id  uuid NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  item_id     uuid NOT NULL REFERENCES item_definitions(id) ON DELETE RESTRICT,
  quantity    int NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
  position    int NOT NULL DEFAULT 0,
  PRIMARY KEY (listing_id, item_id)
);
CREATE INDEX listing_items_item_idx ON listing_items (item_id);

CREATE TABLE reward_campaigns (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug        text NOT NULL UNIQUE,
  name        text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('tournament','promotion','collab','other')),
  starts_at   timestamptz,
  ends_at     timestamptz,
  attributes  jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- ───────────────────────────── users ─────────────────────────────
CREATE TABLE users (
  id          uuid PRIMARY KEY, -- the identity provider's subject
  email       text,
  name        text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Counters granted by functional items (extra lives, name-change credits, …): one row per user and kind.
CREATE TABLE user_entitlements (
  user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  entitlement  text NOT NULL CHECK (entitlement ~ '^[a-z][a-z0-9_]{0,62}$'),
  quantity     bigint NOT NULL DEFAULT 0 CHECK (quantity >= 0),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, entitlement)
);

-- ───────────────────────────── wallet: double-entry ledger ─────────────────────────────
-- User wallets keep their balance on the row (fast reads, CHECK >= 0). System accounts (issuance, revenue, …)
-- never update their row: their balance is derived from entries, so they are not a hot row every purchase locks.
CREATE TABLE ledger_accounts (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind        text NOT NULL CHECK (kind IN ('user_wallet','issuance','store_revenue','refunds','topups','adjustments','promotions')),
  user_id     uuid UNIQUE REFERENCES users(id) ON DELETE RESTRICT,
  balance     bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT account_user_iff_wallet CHECK ((kind = 'user_wallet') = (user_id IS NOT NULL)),
  CONSTRAINT account_system_balance_derived CHECK (kind = 'user_wallet' OR balance = 0)
);
CREATE UNIQUE INDEX ledger_accounts_system_kind_idx ON ledger_accounts (kind) WHERE kind <> 'user_wallet';
INSERT INTO ledger_accounts (kind) VALUES ('issuance'), ('store_revenue'), ('refunds'), ('topups'), ('adjustments'), ('promotions');

CREATE TABLE ledger_transfers (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  reason          text NOT NULL CHECK (reason IN ('purchase','grant','topup','adjustment','refund','functional_effect','shopify_cancellation')),
  amount          bigint NOT NULL CHECK (amount > 0),
  reference_type  text,
  reference_id    text,
  memo            text,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_transfers_reference_idx ON ledger_transfers (reference_type, reference_id);

-- Exactly two entries per transfer (one negative, one positive, summing to zero); checked by the verifier.
CREATE TABLE ledger_entries (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transfer_id    uuid NOT NULL REFERENCES ledger_transfers(id) ON DELETE RESTRICT,
  account_id     uuid NOT NULL REFERENCES ledger_accounts(id) ON DELETE RESTRICT,
  amount         bigint NOT NULL CHECK (amount <> 0),
  balance_after  bigint CHECK (balance_after >= 0), -- set for user wallets; NULL for derived system accounts
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (transfer_id, account_id)
);
-- Serves GET /user/wallet/transactions (newest first, keyset) and the per-account balance check.
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account_id, id DESC);

-- ───────────────────────────── purchases ─────────────────────────────
CREATE TABLE orders (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id           uuid NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
  listing_id        uuid NOT NULL REFERENCES listings(id) ON DELETE RESTRICT,
  quantity          int NOT NULL CHECK (quantity BETWEEN 1 AND 100),
  unit_price        bigint NOT NULL CHECK (unit_price >= 0),
  total_price       bigint NOT NULL CHECK (total_price >= 0),
  status            text NOT NULL DEFAULT 'completed' CHECK (status IN ('completed','refunded')),
  idempotency_key   text,
  shipping_address  jsonb,
  created_at        timestamptz NOT NULL DEFAULT now(),
  refunded_at       timestamptz,
  CONSTRAINT order_total CHECK (total_price = unit_price * quantity),
  -- One order per caller and key, whatever the application does.
  CONSTRAINT orders_user_idempotency_key UNIQUE (user_id, idempotency_key)
);
CREATE INDEX orders_user_idx ON orders (user_id, created_at DESC, id DESC);
-- Per-user limit check: how many of this listing has the user bought.
CREATE INDEX orders_user_listing_idx ON orders (user_id, listing_id) WHERE status = 'completed';
CREATE INDEX orders_status_idx ON orders (status, created_at DESC, id DESC);

CREATE TABLE order_lines (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id       uuid NOT NULL REFERENCES orders(id) ON DELETE RESTRICT,
  item_id        uuid NOT NULL REFERENCES item_definitions(id) ON DELETE RESTRICT,
  quantity       int NOT NULL CHECK (quantity >= 1),
  delivery_type  text NOT NULL CHECK (delivery_type IN ('inventory','email','shopify','functional')),
  UNIQUE (order_id, item_id)
);

-- ───────────────────────────── inventory ─────────────────────────────
-- One entry per user and item: a non-consumable is owned once (quantity 1), a consumable stacks up to max_stack.
CREATE TABLE inventory_items (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id       uuid NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
  item_id       uuid NOT NULL REFERENCES item_definitions(id) ON DELETE RESTRICT,
  quantity      int NOT NULL CHECK (quantity >= 0),
  consumable    boolean NOT NULL,
  max_stack     int NOT NULL CHECK (max_stack >= 1),
  source        text NOT NULL CHECK (source IN ('purchase','grant','migration')),
  source_ref    text,
  acquired_at   timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT inventory_owned_once UNIQUE (user_id, item_id),
  CONSTRAINT inventory_within_stack CHECK (quantity <= max_stack),
  CONSTRAINT inventory_non_consumable_single CHECK (consumable OR quantity = 1)
);
-- Serves GET /user/inventory keyset pages (newest first).
CREATE INDEX inventory_items_user_idx ON inventory_items (user_id, acquired_at DESC, id DESC);

-- Usage history: every change of quantity, with its cause.
CREATE TABLE inventory_events (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id            uuid NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
  item_id            uuid NOT NULL REFERENCES item_definitions(id) ON DELETE RESTRICT,
  inventory_item_id  uuid REFERENCES inventory_items(id) ON DELETE SET NULL,
  delta              int NOT NULL CHECK (delta <> 0),
  reason             text NOT NULL CHECK (reason IN ('purchase','grant','use','consume','revoke')),
  reference          text,
  actor              text,
  created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inventory_events_user_idx ON inventory_events (user_id, id DESC);

-- ───────────────────────────── characters ─────────────────────────────
CREATE TABLE characters (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
  game_id     uuid REFERENCES games(id) ON DELETE RESTRICT, -- NULL = platform-wide avatar
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX characters_user_idx ON characters (user_id, created_at, id);

-- One item per slot; deleting the inventory entry (revocation) unequips it in the same statement.
CREATE TABLE character_equipment (
  character_id       uuid NOT NULL REFERENCES characters(id) ON DELETE CASCADE,
  slot               text NOT NULL,
  inventory_item_id  uuid NOT NULL REFERENCES inventory_items(id) ON DELETE CASCADE,
  equipped_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (character_id, slot)
);
CREATE INDEX character_equipment_inventory_idx ON character_equipment (inventory_item_id);

-- ───────────────────────────── fulfillment ─────────────────────────────
CREATE TABLE fulfillments (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id          uuid NOT NULL REFERENCES orders(id) ON DELETE RESTRICT,
  order_line_id     uuid NOT NULL UNIQUE REFERENCES order_lines(id) ON DELETE RESTRICT,
  user_id           uuid NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
  delivery_type     text NOT NULL CHECK (delivery_type IN ('inventory','email','shopify','functional')),
  status            text NOT NULL CHECK (status IN ('pending','processing','shipped','delivered','failed','cancelled')),
  attempts          int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error        text,
  external_id       text,           -- Shopify order GID
  tracking_number   text,
  tracking_company  text,
  tracking_url      text,
  delivery_started_at timestamptz,  -- set before an outside call, so a crash after it is visible (email)
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fulfillments_order_idx ON fulfillments (order_id);
CREATE INDEX fulfillments_status_idx ON fulfillments (status, created_at, id);
CREATE UNIQUE INDEX fulfillments_external_idx ON fulfillments (external_id) WHERE external_id IS NOT NULL;

CREATE TABLE fulfillment_events (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  fulfillment_id  uuid NOT NULL REFERENCES fulfillments(id) ON DELETE CASCADE,
  status          text NOT NULL,
  detail          text,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fulfillment_events_fulfillment_idx ON fulfillment_events (fulfillment_id, id);

CREATE TABLE voucher_codes (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  item_id         uuid NOT NULL REFERENCES item_definitions(id) ON DELETE RESTRICT,
  code            text NOT NULL CHECK (length(code) BETWEEN 1 AND 200),
  fulfillment_id  uuid UNIQUE REFERENCES fulfillments(id) ON DELETE SET NULL,
  claimed_at      timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (item_id, code)
);
-- Claiming takes the oldest free code with FOR UPDATE SKIP LOCKED; counting free codes gives voucher stock.
CREATE INDEX voucher_codes_available_idx ON voucher_codes (item_id, created_at) WHERE claimed_at IS NULL;

-- ───────────────────────────── idempotency & webhooks ─────────────────────────────
-- Stripe's semantics: a key is claimed (in_progress) in its own short transaction, then completed with the
-- response in the same transaction as the work it guards. lock_token fences a takeover of a stale claim.
CREATE TABLE idempotency_keys (
  scope            text NOT NULL,           -- the caller (user id / service subject)
  key              text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  request_hash     text NOT NULL,
  status           text NOT NULL CHECK (status IN ('in_progress','completed')),
  lock_token       uuid NOT NULL,
  locked_at        timestamptz NOT NULL DEFAULT now(),
  response_status  int,
  response_body    jsonb,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

CREATE TABLE webhook_events (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  source        text NOT NULL CHECK (source IN ('shopify','payments')),
  external_id   text NOT NULL,   -- X-Shopify-Webhook-Id / payment eventId
  event_id      text,            -- X-Shopify-Event-Id
  topic         text NOT NULL,
  payload       jsonb NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  processed_at  timestamptz,
  error         text,
  UNIQUE (source, external_id)
);
CREATE UNIQUE INDEX webhook_events_event_idx ON webhook_events (source, event_id) WHERE event_id IS NOT NULL;

-- ───────────────────────────── grants ─────────────────────────────
CREATE TABLE grants (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id      uuid NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
  gems         bigint NOT NULL DEFAULT 0 CHECK (gems >= 0),
  reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
  campaign_id  uuid REFERENCES reward_campaigns(id) ON DELETE RESTRICT,
  granted_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX grants_user_idx ON grants (user_id, created_at DESC);

CREATE TABLE grant_items (
  grant_id  uuid NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
  item_id   uuid NOT NULL REFERENCES item_definitions(id) ON DELETE RESTRICT,
  quantity  int NOT NULL CHECK (quantity >= 1),
  PRIMARY KEY (grant_id, item_id)
);
