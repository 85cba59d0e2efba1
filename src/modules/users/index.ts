export { createUsersService, type UsersService } from './users.service.js';
