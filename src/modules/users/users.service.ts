import { LRUCache } from 'lru-cache';
import type { Database, Executor } from '../../platform/db.js';
import type { Principal } from '../../platform/auth.js';
import * as repo from './users.repository.js';

export type UsersService = ReturnType<typeof createUsersService>;

export function createUsersService(db: Database) {
  // Remembers which claims are already stored for a user, so a hot player costs no write per request: a token with
  // the same claims and an `iat` no later than the remembered one would change nothing (the row holds claims at
  // least that new, users.repository.ts), so it is served without a statement. Another instance may store a newer
  // token's claims meanwhile; a token this memo skips is older than those and must not replace them anyway. Tokens
  // without `iat` cannot be ordered and are remembered by their claims alone, as before.
  const synced = new LRUCache<string, { fingerprint: string; iat: number }>({ max: 100_000, ttl: 10 * 60_000 });
  // Two tokens with different claims racing: their writes may commit in one order and their answers arrive in the
  // other, so the last one remembered need not be the one stored. Only a write no other claims overlapped may be
  // remembered; after a race the next request writes again (and matches nothing if the row is already right).
  const inFlight = new Map<string, { count: number; fingerprints: Set<string> }>();

  return {
    /** Just-in-time provisioning from the token's claims. */
    async provision(principal: Principal): Promise<void> {
      const { userId } = principal;
      const fingerprint = `${principal.email ?? ''}\u0000${principal.name ?? ''}`;
      // No iat sorts before every iat: such a token is skipped only when its claims are the remembered ones.
      const iat = principal.iat ?? -Infinity;
      const known = synced.get(userId);
      if (known && known.fingerprint === fingerprint && iat <= known.iat) return;
      let flight = inFlight.get(userId);
      if (flight) flight.count += 1;
      else inFlight.set(userId, (flight = { count: 1, fingerprints: new Set() }));
      flight.fingerprints.add(fingerprint);
      try {
        await repo.upsertUserWithWallet(db, { id: userId, email: principal.email, name: principal.name, iat: principal.iat });
      } finally {
        flight.count -= 1;
        if (flight.count === 0) inFlight.delete(userId);
      }
      if (flight.fingerprints.size === 1) {
        // Two tokens with the same claims may answer out of order: keep the later iat (the row holds at least it).
        const current = synced.get(userId);
        synced.set(userId, { fingerprint, iat: current?.fingerprint === fingerprint ? Math.max(current.iat, iat) : iat });
      } else synced.delete(userId);
    },
    ensureUserExistsInTx(tx: Executor, userId: string): Promise<void> {
      return repo.ensureUserExists(tx, userId);
    },
    findUser(executor: Executor, userId: string) {
      return repo.findUser(executor, userId);
    },
  };
}
