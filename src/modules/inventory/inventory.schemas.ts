// Shapes of the inventory endpoints: entries, the list's query string, use/consume bodies and results.
import { Type } from '@sinclair/typebox';
import { Cursor, Fields, Limit, Nullable, Timestamp, Uuid } from '../../platform/http/schemas.js';

export const ITEM_KINDS = ['game_skin', 'platform_skin', 'game_item', 'voucher', 'merch', 'utility', 'gem_pack'] as const;
const Kind = Type.Union(ITEM_KINDS.map((kind) => Type.Literal(kind)), { description: ITEM_KINDS.join(' | ') });

const entryFields = {
  id: Uuid,
  itemId: Uuid,
  name: Type.String(),
  kind: Kind,
  gameId: Nullable(Uuid),
  quantity: Type.Integer({ minimum: 1 }),
  consumable: Type.Boolean(),
  slot: Nullable(Type.String()),
  equippedBy: Type.Array(Uuid, { description: 'ids of the caller\'s characters wearing this entry' }),
  acquiredAt: Timestamp,
  source: Type.String({ description: 'purchase | grant | migration' }),
  sourceRef: Nullable(Type.String({ description: 'the order or grant id the entry first came from' })),
};
export const INVENTORY_ENTRY_FIELDS = Object.keys(entryFields);

/** With `fields=` only some properties are present; `id` always is. */
export const InventoryEntry = Type.Object(
  { ...Type.Partial(Type.Object(entryFields)).properties, id: Uuid },
  { $id: 'InventoryEntry', additionalProperties: false },
);

export const InventoryQuery = Type.Object(
  {
    gameId: Type.Optional(Uuid),
    kind: Type.Optional(Kind),
    consumable: Type.Optional(Type.Boolean()),
    equipped: Type.Optional(Type.Boolean({ description: 'true: worn by at least one character; false: worn by none' })),
    limit: Limit,
    cursor: Type.Optional(Cursor),
    fields: Type.Optional(Fields),
  },
  { additionalProperties: false },
);

export const UseBody = Type.Object(
  { quantity: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }) },
  { additionalProperties: false },
);

export const EntryParams = Type.Object({ id: Uuid });
export const ServiceEntryParams = Type.Object({ userId: Uuid, id: Uuid });

export const UseResult = Type.Object(
  {
    id: Uuid,
    itemId: Uuid,
    quantity: Type.Integer({ minimum: 0, description: 'what is left of the stack' }),
    effects: Type.Record(Type.String(), Type.Object({ added: Type.Integer(), total: Type.Integer() }), {
      description: 'effects the item applied, by name (e.g. lives, nameChange), with the counter after it',
    }),
  },
  { $id: 'InventoryUseResult' },
);
