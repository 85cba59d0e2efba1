// Bearer JWT (HS256, JWT_SECRET). Claims: sub (UUID), role (player|service|admin, default player), email, name.
import { jwtVerify, SignJWT, errors as joseErrors } from 'jose';
import { LRUCache } from 'lru-cache';
import { DomainError } from './errors.js';

export type Role = 'player' | 'service' | 'admin';
export const ROLES: readonly Role[] = ['player', 'service', 'admin'];

export interface Principal {
  userId: string;
  role: Role;
  email: string | null;
  name: string | null;
  /**
   * The token's `iat` (seconds since the epoch), when it has one: the order in which the identity provider issued
   * its claims. Provisioning never lets an older token's email/name replace a newer one's (users.repository.ts).
   */
  iat?: number;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID_RE.test(value);

/**
 * Longer tokens are refused unread. Node's HTTP parser already refuses a header section over 16 KB (431), so this
 * only stops a token that is nearly all of it: a genuine token with a large profile claim (a 10 KB email) is served,
 * and its unstorable claim is dropped (storableClaim), rather than refused as if it were malformed.
 */
const MAX_TOKEN_LENGTH = 16_384;
/** Tokens up to this length are remembered once verified; longer ones (rare) are verified on every request, so the
 * cache's memory stays bounded by what ordinary tokens (well under 2 KB) need. */
export const MAX_CACHED_TOKEN_LENGTH = 4096;

/**
 * The request's Authorization header, exactly one of them. Node keeps the first of two Authorization headers and
 * drops the other, so a request carrying two would be served as whichever came first, while a proxy in front may
 * have read the last; a request naming two identities (or one twice) names none. `rawHeaders` is Node's flat
 * [name, value, name, value, …] list.
 */
export function singleAuthorization(authorization: string | undefined, rawHeaders: readonly string[]): string | undefined {
  if (authorization === undefined) return undefined;
  let seen = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization') seen += 1;
  }
  if (seen > 1) throw new DomainError('unauthorized', 'more than one Authorization header');
  return authorization;
}
/**
 * Leeway for `nbf` and `iat` only, against an identity provider whose clock runs a little ahead of ours. `exp` gets
 * none: RFC 7519 § 4.1.4 says a token MUST NOT be accepted on or after its expiry, and a token that expired a second
 * ago is expired (with the old 5 s leeway on `exp` too, a client could keep using it for 5 s more).
 */
const CLOCK_TOLERANCE_S = 5;
/**
 * A compact HS256 token as its issuer spells it: three unpadded base64url segments, the signature's 32 bytes in 43
 * characters. The 43rd character carries 2 spare bits that decoders ignore, and they accept padding as well, so
 * without this a genuine token re-spelled (its last character changed, `=` appended) verified as itself: a
 * "tampered" token answered 200, and one token had many spellings to cache and to deny. Only the signature is
 * malleable this way; the header and payload segments are what the signature covers, byte for byte.
 */
const COMPACT_HS256 = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
export const isCompactHs256 = (token: string): boolean => COMPACT_HS256.test(token);

/** The token of a `Bearer <token>` header, or undefined when the header is not one (or the token is too long). */
export function bearerTokenOf(authorization: string): string | undefined {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
  return token !== undefined && token.length <= MAX_TOKEN_LENGTH ? token : undefined;
}
/** Tokens without `exp` are valid for ever to jose; the cache still forgets them after this long. */
const NO_EXP_TTL_MS = 5 * 60_000;

interface Verified {
  principal: Principal;
  /** Date.now() from which the token is expired (exp, in milliseconds), or Infinity. */
  expiresAtMs: number;
}

/**
 * An optional profile claim the users table can hold, else null: the token is still valid, and a claim PostgreSQL
 * text cannot store (U+0000) must not turn every request of its holder into a refusal.
 */
function storableClaim(value: unknown, maxLength: number): string | null {
  return typeof value === 'string' && value.length <= maxLength && !value.includes('\u0000') ? value : null;
}

export class TokenVerifier {
  // Imported once: handing jose raw bytes re-imports the key on every request, a quarter of a cached read's CPU.
  private readonly key: Promise<CryptoKey>;
  // A player sends the same token with every request until it expires. Its signature and claims are checked once;
  // after that the exact token string maps to its principal until the moment jose would call it expired. Only
  // tokens that passed verification are kept, so a forged or altered token is verified (and refused) every time.
  private readonly verified = new LRUCache<string, Verified>({ max: 50_000 });

  constructor(secret: string) {
    this.key = globalThis.crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  }

  async verify(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw new DomainError('unauthorized', 'missing bearer token');
    const token = bearerTokenOf(authorization);
    if (token === undefined) throw new DomainError('unauthorized', 'malformed Authorization header');
    if (!isCompactHs256(token)) throw new DomainError('unauthorized', 'invalid token');
    const known = this.verified.get(token);
    if (known) {
      if (Date.now() < known.expiresAtMs) return known.principal;
      this.verified.delete(token);
      throw new DomainError('unauthorized', 'token expired');
    }
    const principal = await this.verifySignature(token);
    return principal;
  }

  private async verifySignature(token: string): Promise<Principal> {
    let payload: Record<string, unknown>;
    try {
      // algorithms pins HS256: `alg: none` and algorithm-confusion tokens are rejected here.
      ({ payload } = await jwtVerify(token, await this.key, { algorithms: ['HS256'], clockTolerance: CLOCK_TOLERANCE_S }));
    } catch (error) {
      const reason = error instanceof joseErrors.JWTExpired ? 'token expired' : 'invalid token';
      throw new DomainError('unauthorized', reason);
    }
    if (typeof payload.exp === 'number' && Date.now() >= payload.exp * 1000) throw new DomainError('unauthorized', 'token expired');
    // jose checks iat's type but not that it is past (only with maxTokenAge): a token issued later than now, beyond
    // the leeway, comes from a wrong clock or a forger's hand, and would outlive its issuer's idea of its lifetime.
    if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE_S) throw new DomainError('unauthorized', 'token issued in the future');
    // Only an absent role means player; `null` is a claim that names no role, refused like any unknown one.
    const role = payload.role === undefined ? 'player' : payload.role;
    if (!isUuid(payload.sub)) throw new DomainError('unauthorized', 'token subject must be a UUID');
    if (typeof role !== 'string' || !ROLES.includes(role as Role)) throw new DomainError('unauthorized', 'unknown role');
    const principal: Principal = Object.freeze({
      userId: payload.sub.toLowerCase(),
      role: role as Role,
      email: storableClaim(payload.email, 320),
      name: storableClaim(payload.name, 200),
      // A pre-1970 iat (valid JSON, accepted by jose) orders nothing: it is dropped, as if absent, rather than stored.
      ...(typeof payload.iat === 'number' && payload.iat >= 0 ? { iat: payload.iat } : {}),
    });
    // Refused from exp on (checked above, without the leeway jose applies to every time claim).
    const expiresAtMs = typeof payload.exp === 'number' ? payload.exp * 1000 : Infinity;
    if (token.length <= MAX_CACHED_TOKEN_LENGTH) this.verified.set(token, { principal, expiresAtMs }, { ttl: Number.isFinite(expiresAtMs) ? Math.max(1, expiresAtMs - Date.now()) : NO_EXP_TTL_MS });
    return principal;
  }
}

/** Issues tokens: used by tests, the benchmark and the demo tour; production tokens come from the identity provider. */
export async function signToken(
  secret: string,
  claims: { sub: string; role?: Role; email?: string; name?: string },
  expiresIn: string | number = '1h',
): Promise<string> {
  const { sub, ...rest } = claims;
  return new SignJWT(rest)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}
