import { LRUCache } from 'lru-cache';
import type { Database, Executor } from '../../platform/db.js';
import type { Principal } from '../../platform/auth.js';
import * as repo from './users.repository.js';

export type UsersService = ReturnType<typeof createUsersService>;

export function createUsersService(db: Database) {
  // Remembers which (id, email, name) triple is already stored, so a hot player costs no write per request.
  const synced = new LRUCache<string, string>({ max: 100_000, ttl: 10 * 60_000 });

  return {
    /** Just-in-time provisioning from the token's claims. */
    async provision(principal: Principal): Promise<void> {
      const fingerprint = `${principal.email ?? ''}\u0000${principal.name ?? ''}`;
      if (synced.get(principal.userId) === fingerprint) return;
      await repo.upsertUserWithWallet(db, { id: principal.userId, email: principal.email, name: principal.name });
      synced.set(principal.userId, fingerprint);
    },
    ensureUserExistsInTx(tx: Executor, userId: string): Promise<void> {
      return repo.ensureUserExists(tx, userId);
    },
    findUser(executor: Executor, userId: string) {
      return repo.findUser(executor, userId);
    },
  };
}
