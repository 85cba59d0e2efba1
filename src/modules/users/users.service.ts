import { LRUCache } from 'lru-cache';
import type { Database, Executor } from '../../platform/db.js';
import type { Principal } from '../../platform/auth.js';
import * as repo from './users.repository.js';

export type UsersService = ReturnType<typeof createUsersService>;

export function createUsersService(db: Database) {
  // Remembers which (id, email, name) triple is already stored, so a hot player costs no write per request.
  const synced = new LRUCache<string, string>({ max: 100_000, ttl: 10 * 60_000 });
  // Two tokens with different claims racing: their writes may commit in one order and their answers arrive in the
  // other, so the last one remembered need not be the one stored. Only a write no other claims overlapped may be
  // remembered; after a race the next request writes again (and matches nothing if the row is already right).
  const inFlight = new Map<string, { count: number; fingerprints: Set<string> }>();

  return {
    /** Just-in-time provisioning from the token's claims. */
    async provision(principal: Principal): Promise<void> {
      const { userId } = principal;
      const fingerprint = `${principal.email ?? ''}\u0000${principal.name ?? ''}`;
      if (synced.get(userId) === fingerprint) return;
      let flight = inFlight.get(userId);
      if (flight) flight.count += 1;
      else inFlight.set(userId, (flight = { count: 1, fingerprints: new Set() }));
      flight.fingerprints.add(fingerprint);
      try {
        await repo.upsertUserWithWallet(db, { id: userId, email: principal.email, name: principal.name });
      } finally {
        flight.count -= 1;
        if (flight.count === 0) inFlight.delete(userId);
      }
      if (flight.fingerprints.size === 1) synced.set(userId, fingerprint);
      else synced.delete(userId);
    },
    ensureUserExistsInTx(tx: Executor, userId: string): Promise<void> {
      return repo.ensureUserExists(tx, userId);
    },
    findUser(executor: Executor, userId: string) {
      return repo.findUser(executor, userId);
    },
  };
}
