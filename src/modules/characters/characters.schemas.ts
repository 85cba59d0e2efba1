// Shapes of the character, equipment and loadout endpoints.
import { Type } from '@sinclair/typebox';
import { Cursor, Fields, Limit, Nullable, Timestamp, Uuid } from '../../platform/http/schemas.js';
import { SlotKey } from '../games/games.schemas.js';
import { MAX_LOADOUT_BATCH } from './characters.service.js';

export const Equipment = Type.Object(
  {
    slot: Type.String(),
    inventoryItemId: Uuid,
    itemId: Uuid,
    name: Type.String(),
    kind: Type.String(),
  },
  { $id: 'Equipment' },
);

const characterFields = {
  id: Uuid,
  name: Type.String(),
  gameId: Nullable(Uuid),
  equipment: Type.Array(Type.Ref(Equipment)),
  createdAt: Timestamp,
  updatedAt: Timestamp,
};

export const Character = Type.Object(characterFields, { $id: 'Character' });
export const CHARACTER_FIELDS = Object.keys(characterFields);
/** An item of the list: a Character, or with `fields=` only the named properties (`id` always). */
export const CharacterListItem = Type.Object(
  { ...Type.Partial(Type.Object(characterFields)).properties, id: Uuid },
  { $id: 'CharacterListItem', additionalProperties: false },
);
export const Loadout = Type.Object({ ...characterFields, userId: Uuid }, { $id: 'Loadout' });

// Names are shown to other players. Starts and ends with a visible character: no blank or invisible edge (a format
// character such as a zero-width space or BOM, or a filler that renders as nothing: Hangul fillers U+115F, U+1160,
// U+3164, U+FFA0 and the Braille blank U+2800, the classic "invisible name"), and no combining mark first (it has
// nothing to sit on), so a name can never look empty. Anywhere: no control character, no line or paragraph
// separator (a name is one line), and no lone surrogate (PostgreSQL would store U+FFFD: the name would change).
// A joiner inside an emoji sequence, an accent after a letter, a filler between words are fine.
const INVISIBLE_FILLERS = '\\u115F\\u1160\\u3164\\uFFA0\\u2800';
const NEVER = '\\p{Cc}\\p{Cs}\\p{Zl}\\p{Zp}';
const NOT_AT_EDGE = `\\s${NEVER}\\p{Cf}${INVISIBLE_FILLERS}`;
const CHARACTER_NAME_PATTERN = `^[^${NOT_AT_EDGE}\\p{M}]([^${NEVER}]*[^${NOT_AT_EDGE}])?$`;
const CharacterName = Type.String({ minLength: 1, maxLength: 64, pattern: CHARACTER_NAME_PATTERN });

export const CreateCharacterBody = Type.Object(
  { name: CharacterName, gameId: Type.Optional(Nullable(Uuid)) },
  { additionalProperties: false },
);
export const RenameCharacterBody = Type.Object({ name: CharacterName }, { additionalProperties: false });

export const CharactersQuery = Type.Object(
  {
    gameId: Type.Optional({ ...Uuid, description: "only this game's characters (platform-wide avatars have none); a game the player has no character in: an empty page" }),
    limit: Limit,
    cursor: Type.Optional(Cursor),
    fields: Type.Optional(Fields),
  },
  { additionalProperties: false },
);
export const EquipmentParams = Type.Object({ id: Uuid, slot: SlotKey });
export const EquipBody = Type.Object({ inventoryItemId: Uuid }, { additionalProperties: false });

export const LoadoutsBody = Type.Object(
  { characterIds: Type.Array(Uuid, { minItems: 1, maxItems: MAX_LOADOUT_BATCH }) },
  { additionalProperties: false },
);
export const LoadoutsResult = Type.Object({
  items: Type.Array(Type.Ref(Loadout)),
  missing: Type.Array(Uuid, { description: 'requested ids that match no character' }),
});
