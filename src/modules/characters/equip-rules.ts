// Whether an owned inventory entry may be worn in a slot of a character. Pure: the repository gathers the facts
// under row locks, this decides. The table in docs/inventory-and-characters.md is this function, row by row.
import type { EquippableEntry } from './characters.repository.js';

export type EquipRefusal =
  | { code: 'not_owned'; reason: string }
  | { code: 'not_compatible'; reason: string };

export function checkEquip(
  character: { gameId: string | null },
  slot: string,
  entry: EquippableEntry | undefined,
): EquipRefusal | null {
  // A missing entry and someone else's entry are the same answer: nothing about other players leaks.
  if (!entry || entry.quantity < 1) return { code: 'not_owned', reason: 'the inventory entry is not owned by this character\'s player' };
  if (entry.consumable) return { code: 'not_compatible', reason: 'consumable items cannot be equipped' };
  if (entry.itemSlot === null) return { code: 'not_compatible', reason: 'the item has no equipment slot' };
  if (entry.itemSlot !== slot) return { code: 'not_compatible', reason: `the item goes in the "${entry.itemSlot}" slot, not "${slot}"` };

  if (character.gameId === null) {
    // A platform-wide avatar wears platform items only, in whatever slot the item declares.
    if (entry.itemGameId !== null) return { code: 'not_compatible', reason: 'a platform-wide character wears platform items only' };
    return null;
  }
  if (!entry.slotInCharacterGame) return { code: 'not_compatible', reason: `the character's game has no "${slot}" slot` };
  if (entry.itemGameId !== null) {
    return entry.itemGameId === character.gameId ? null : { code: 'not_compatible', reason: 'the item belongs to another game' };
  }
  // Platform item: every game when it lists none, else only the games it lists.
  if (entry.compatibleGameIds.length > 0 && !entry.compatibleGameIds.includes(character.gameId)) {
    return { code: 'not_compatible', reason: 'the platform item is not available in this character\'s game' };
  }
  return null;
}
