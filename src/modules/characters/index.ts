export { createCharactersService, type CharactersService } from './characters.service.js';
export { charactersRoutes } from './characters.routes.js';
