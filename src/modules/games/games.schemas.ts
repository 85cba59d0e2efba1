import { Type } from '@sinclair/typebox';
import { DisplayText, Timestamp, Uuid } from '../../platform/http/schemas.js';

export const SlotKey = Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' });

export const Game = Type.Object(
  {
    id: Uuid,
    slug: Type.String(),
    name: Type.String(),
    slots: Type.Array(Type.String()),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Game' },
);

const gameFields = {
  slug: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
  name: DisplayText(200),
  slots: Type.Array(SlotKey, { maxItems: 50 }),
};

export const CreateGameBody = Type.Object(
  { slug: gameFields.slug, name: gameFields.name, slots: Type.Array(SlotKey, { maxItems: 50, default: [] }) },
  { additionalProperties: false },
);

// Built from the fields without defaults: Ajv fills defaults, and a `slots: []` default here would turn every
// rename into "remove all slots" (dropping them, or 409 when items still use one).
export const UpdateGameBody = Type.Partial(Type.Object(gameFields), { additionalProperties: false, minProperties: 1 });
