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

export const GAME_NAME_MAX_LENGTH = 200;
/** base64url of JSON [name, id]: a name of GAME_NAME_MAX_LENGTH characters escaped as \uXXXX (6 bytes each), plus the id. */
export const GAME_CURSOR_MAX_LENGTH = Math.ceil((GAME_NAME_MAX_LENGTH * 6 + 64) / 3) * 4;

const gameFields = {
  slug: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
  name: DisplayText(GAME_NAME_MAX_LENGTH),
  slots: Type.Array(SlotKey, { maxItems: 50 }),
};

export const CreateGameBody = Type.Object(
  { slug: gameFields.slug, name: gameFields.name, slots: Type.Array(SlotKey, { maxItems: 50, default: [] }) },
  { additionalProperties: false },
);

// Built from the fields without defaults: Ajv fills defaults, and a `slots: []` default here would turn every
// rename into "remove all slots" (dropping them, or 409 when items still use one).
export const UpdateGameBody = Type.Partial(Type.Object(gameFields), { additionalProperties: false, minProperties: 1 });
