export { createGamesService, type GamesService, GAMES_CACHE_NS } from './games.service.js';
export { gamesRoutes } from './games.routes.js';
