import { Type } from '@sinclair/typebox';
import { Timestamp, Uuid } from '../../platform/http/schemas.js';

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

export const CreateGameBody = Type.Object(
  {
    slug: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    slots: Type.Array(SlotKey, { maxItems: 50, default: [] }),
  },
  { additionalProperties: false },
);

export const UpdateGameBody = Type.Partial(CreateGameBody, { additionalProperties: false, minProperties: 1 });
