// Prints a JWT for local exploration: `npx tsx tools/dev-token.ts [player|service|admin] [user-uuid]`.
// Signed with JWT_SECRET, or the development secret the service also falls back to.
import { randomUUID } from 'node:crypto';
import { DEV_JWT_SECRET } from '../src/config.js';
import { ROLES, signToken, type Role } from '../src/platform/auth.js';

const role = (process.argv[2] ?? 'player') as Role;
if (!ROLES.includes(role)) {
  console.error(`role must be one of ${ROLES.join(', ')}`);
  process.exit(2);
}
const sub = process.argv[3] ?? randomUUID();
// The service answers 401 to a `sub` that is not a UUID: say so here instead of printing a token that never works.
if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(sub)) {
  console.error(`the user id must be a UUID (got "${sub}"); leave it out for a new random one`);
  process.exit(2);
}
// The service refuses to start with a blank JWT_SECRET; a token signed with it could never be checked.
const secret = process.env.JWT_SECRET;
if (secret !== undefined && secret.trim() === '') {
  console.error('JWT_SECRET is set but empty (the service refuses to start with it): set it, or unset it for the development secret');
  process.exit(2);
}
const token = await signToken(secret ?? DEV_JWT_SECRET, { sub, role, email: `${sub.slice(0, 8)}@example.com`, name: `dev ${role}` }, '12h');
console.log(token);
