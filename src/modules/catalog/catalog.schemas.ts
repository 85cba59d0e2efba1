// Admin shapes of item definitions and listings: request bodies, query strings and responses.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Cursor, DisplayText, Fields, Limit, Nullable, Timestamp, Uuid } from '../../platform/http/schemas.js';
import { SlotKey } from '../games/games.schemas.js';

export const ItemKindSchema = Type.Union(
  [Type.Literal('game_skin'), Type.Literal('platform_skin'), Type.Literal('game_item'), Type.Literal('voucher'), Type.Literal('merch'), Type.Literal('utility'), Type.Literal('gem_pack')],
  { description: 'game_skin | platform_skin | game_item | voucher | merch | utility | gem_pack' },
);
export const DeliveryTypeSchema = Type.Union(
  [Type.Literal('inventory'), Type.Literal('email'), Type.Literal('shopify'), Type.Literal('functional')],
  { description: 'inventory | email | shopify | functional' },
);
/** A listing's delivery type: its items' common one, or `mixed` for a bundle whose lines differ. */
export const ListingDeliveryTypeSchema = Type.Union(
  [Type.Literal('inventory'), Type.Literal('email'), Type.Literal('shopify'), Type.Literal('functional'), Type.Literal('mixed')],
  { description: 'inventory | email | shopify | functional | mixed' },
);

/**
 * Nullable for request bodies. The app's Ajv coerces types, and with `anyOf: [T, null]` it coerces null → 0 for
 * an integer and 0 or "" → null for the null branch, so `stock: null` would become 0 and `perUserLimit: 0`
 * would silently become null. A type array (`["integer", "null"]`) matches by type first and never coerces.
 */
const OrNull = <T extends TSchema>(schema: T) =>
  Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type as string, 'null'] });

/** Free-form JSON objects; their serialized size is capped by the service (MAX_JSON_BYTES). */
const JsonObject = Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), { maxProperties: 100 });

// ───────────── item definitions ─────────────
export const ItemDefinitionSchema = Type.Object(
  {
    id: Uuid,
    sku: Type.String(),
    name: Type.String(),
    description: Type.String(),
    kind: ItemKindSchema,
    gameId: Nullable(Uuid),
    compatibleGameIds: Type.Array(Uuid, { description: 'platform items: the games they work in; empty = every game' }),
    slot: Nullable(Type.String()),
    consumable: Type.Boolean(),
    maxStack: Type.Integer(),
    deliveryType: DeliveryTypeSchema,
    effect: Nullable(JsonObject),
    attributes: JsonObject,
    shopifyVariantId: Nullable(Type.String()),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'ItemDefinition' },
);
export type ItemDefinitionView = Static<typeof ItemDefinitionSchema>;

const itemFields = {
  sku: Type.String({ minLength: 1, maxLength: 100, pattern: '^\\S(.*\\S)?$' }),
  name: DisplayText(200),
  description: Type.String({ maxLength: 5000 }),
  kind: ItemKindSchema,
  gameId: OrNull(Uuid),
  compatibleGameIds: Type.Array(Uuid, { maxItems: 200 }),
  slot: OrNull(SlotKey),
  consumable: Type.Boolean(),
  maxStack: Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'default: 99 for consumables, 1 otherwise' }),
  deliveryType: DeliveryTypeSchema,
  effect: OrNull(JsonObject),
  attributes: JsonObject,
  shopifyVariantId: OrNull(Type.String({ minLength: 1, maxLength: 200 })),
};

export const CreateItemBody = Type.Object(
  {
    sku: itemFields.sku,
    name: itemFields.name,
    kind: itemFields.kind,
    deliveryType: Type.Optional({ ...itemFields.deliveryType, description: 'default: email for a voucher, shopify for merch, functional for a gem_pack, inventory otherwise' }),
    description: Type.Optional(itemFields.description),
    gameId: Type.Optional(itemFields.gameId),
    compatibleGameIds: Type.Optional(itemFields.compatibleGameIds),
    slot: Type.Optional(itemFields.slot),
    consumable: Type.Optional(itemFields.consumable),
    maxStack: Type.Optional(itemFields.maxStack),
    effect: Type.Optional(itemFields.effect),
    attributes: Type.Optional(itemFields.attributes),
    shopifyVariantId: Type.Optional(itemFields.shopifyVariantId),
  },
  { additionalProperties: false },
);
export type CreateItemInput = Static<typeof CreateItemBody>;

export const UpdateItemBody = Type.Partial(Type.Object(itemFields), { additionalProperties: false, minProperties: 1 });
export type UpdateItemInput = Static<typeof UpdateItemBody>;

export const ListItemsQuery = Type.Object(
  {
    limit: Limit,
    cursor: Type.Optional(Cursor),
    gameId: Type.Optional(Uuid),
    kind: Type.Optional(ItemKindSchema),
    fields: Type.Optional(Fields),
  },
  { additionalProperties: false },
);
export type ListItemsFilter = Omit<Static<typeof ListItemsQuery>, 'fields'>;

// ───────────── listings ─────────────
export const ListingLineSchema = Type.Object({
  itemId: Uuid,
  name: Type.String(),
  kind: ItemKindSchema,
  quantity: Type.Integer(),
});

export const AdminListingSchema = Type.Object(
  {
    id: Uuid,
    title: Type.String(),
    price: Type.Integer(),
    currency: Type.Literal('gems'),
    items: Type.Array(ListingLineSchema),
    gameId: Nullable(Uuid),
    deliveryType: ListingDeliveryTypeSchema,
    kinds: Type.Array(ItemKindSchema),
    consumable: Type.Boolean(),
    startsAt: Nullable(Timestamp),
    endsAt: Nullable(Timestamp),
    stock: Nullable(Type.Integer({ description: 'total units offered; null = unlimited' })),
    stockRemaining: Nullable(Type.Integer()),
    perUserLimit: Nullable(Type.Integer()),
    tags: Type.Array(Type.String()),
    featuredRank: Nullable(Type.Integer()),
    active: Type.Boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'AdminListing' },
);
export type AdminListingView = Static<typeof AdminListingSchema>;

export const Tag = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,49}$' });

const listingFields = {
  title: DisplayText(200),
  price: Type.Integer({ minimum: 0, maximum: 1_000_000_000_000 }),
  items: Type.Array(
    Type.Object({ itemId: Uuid, quantity: Type.Integer({ minimum: 1, maximum: 10_000, default: 1 }) }, { additionalProperties: false }),
    { minItems: 1, maxItems: 50, description: 'one line sells a single item; more lines make a bundle' },
  ),
  startsAt: OrNull(Timestamp),
  endsAt: OrNull(Timestamp),
  stock: OrNull(Type.Integer({ minimum: 0, maximum: 1_000_000_000, description: 'null = unlimited' })),
  perUserLimit: OrNull(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  tags: Type.Array(Tag, { maxItems: 20 }),
  featuredRank: OrNull(Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'lower shows first; null = not featured' })),
  active: Type.Boolean(),
};

export const CreateListingBody = Type.Object(
  {
    title: listingFields.title,
    price: listingFields.price,
    items: listingFields.items,
    startsAt: Type.Optional(listingFields.startsAt),
    endsAt: Type.Optional(listingFields.endsAt),
    stock: Type.Optional(listingFields.stock),
    perUserLimit: Type.Optional(listingFields.perUserLimit),
    tags: Type.Optional(listingFields.tags),
    featuredRank: Type.Optional(listingFields.featuredRank),
    active: Type.Optional(listingFields.active),
  },
  { additionalProperties: false },
);
export type CreateListingInput = Static<typeof CreateListingBody>;

export const UpdateListingBody = Type.Partial(Type.Object(listingFields), { additionalProperties: false, minProperties: 1 });
export type UpdateListingInput = Static<typeof UpdateListingBody>;

export const ListListingsQuery = Type.Object(
  {
    limit: Limit,
    cursor: Type.Optional(Cursor),
    gameId: Type.Optional(Uuid),
    active: Type.Optional(Type.Boolean()),
    fields: Type.Optional(Fields),
  },
  { additionalProperties: false },
);
export type ListListingsFilter = Omit<Static<typeof ListListingsQuery>, 'fields'>;
