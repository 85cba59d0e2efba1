export { createCharactersService, type CharactersService, MAX_CHARACTERS_PER_USER, MAX_LOADOUT_BATCH } from './characters.service.js';
export { charactersRoutes } from './characters.routes.js';
