// Public storefront shapes. The page schema's properties (except id) are optional because `fields=` drops
// them, and the response serializer must accept a page without them.
import { Type, type Static, type TProperties } from '@sinclair/typebox';
import { Cursor, Fields, Limit, Nullable, Timestamp, Uuid } from '../../platform/http/schemas.js';
import { ItemKindSchema, ListingDeliveryTypeSchema, ListingLineSchema, Tag } from './catalog.schemas.js';

const storeListingProperties = {
  id: Uuid,
  title: Type.String(),
  price: Type.Integer({ description: 'gems' }),
  currency: Type.Literal('gems'),
  items: Type.Array(ListingLineSchema),
  gameId: Nullable(Uuid),
  deliveryType: ListingDeliveryTypeSchema,
  consumable: Type.Boolean({ description: 'true when every item of the listing is consumable' }),
  startsAt: Nullable(Timestamp),
  endsAt: Nullable(Timestamp),
  stockRemaining: Nullable(Type.Integer({ description: 'null = unlimited; refreshed after every sale and refund of this listing (the purchase checks real stock)' })),
  perUserLimit: Nullable(Type.Integer()),
  tags: Type.Array(Type.String()),
  featuredRank: Nullable(Type.Integer()),
  createdAt: Timestamp,
} satisfies TProperties;

export const StoreListingSchema = Type.Object(storeListingProperties, { $id: 'StoreListing' });

const { id, ...optionalProperties } = storeListingProperties;
export const StoreListingFieldsSchema = Type.Object({ id, ...Type.Partial(Type.Object(optionalProperties)).properties });

export const StorePageSchema = Type.Object({
  items: Type.Array(StoreListingFieldsSchema),
  nextCursor: Nullable(Type.String()),
});

export const StoreSortSchema = Type.Union(
  [Type.Literal('featured'), Type.Literal('price_asc'), Type.Literal('price_desc'), Type.Literal('newest')],
  { default: 'featured', description: 'featured (rank, then newest) | price_asc | price_desc | newest' },
);

const Price = Type.Integer({ minimum: 0, maximum: 1_000_000_000_000 });

export const StoreItemsQuery = Type.Object(
  {
    gameId: Type.Optional(Uuid),
    kind: Type.Optional(ItemKindSchema),
    deliveryType: Type.Optional(ListingDeliveryTypeSchema),
    tag: Type.Optional(Tag),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'case-insensitive substring of the title or an item name' })),
    minPrice: Type.Optional(Price),
    maxPrice: Type.Optional(Price),
    featured: Type.Optional(Type.Boolean({ description: 'true: only featured listings; false: only the others' })),
    sort: StoreSortSchema,
    limit: Limit,
    cursor: Type.Optional(Cursor),
    fields: Type.Optional(Fields),
  },
  { additionalProperties: false },
);
export type StoreItemsQueryInput = Static<typeof StoreItemsQuery>;
