// Bearer JWT (HS256, JWT_SECRET). Claims: sub (UUID), role (player|service|admin, default player), email, name.
import { jwtVerify, SignJWT, errors as joseErrors } from 'jose';
import { DomainError } from './errors.js';

export type Role = 'player' | 'service' | 'admin';
export const ROLES: readonly Role[] = ['player', 'service', 'admin'];

export interface Principal {
  userId: string;
  role: Role;
  email: string | null;
  name: string | null;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID_RE.test(value);

const MAX_TOKEN_LENGTH = 8192;

export class TokenVerifier {
  // Imported once: handing jose raw bytes re-imports the key on every request, a quarter of a cached read's CPU.
  private readonly key: Promise<CryptoKey>;

  constructor(secret: string) {
    this.key = globalThis.crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  }

  async verify(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw new DomainError('unauthorized', 'missing bearer token');
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match?.[1] || match[1].length > MAX_TOKEN_LENGTH) throw new DomainError('unauthorized', 'malformed Authorization header');
    let payload: Record<string, unknown>;
    try {
      // algorithms pins HS256: `alg: none` and algorithm-confusion tokens are rejected here.
      ({ payload } = await jwtVerify(match[1], await this.key, { algorithms: ['HS256'], clockTolerance: 5 }));
    } catch (error) {
      const reason = error instanceof joseErrors.JWTExpired ? 'token expired' : 'invalid token';
      throw new DomainError('unauthorized', reason);
    }
    const role = payload.role ?? 'player';
    if (!isUuid(payload.sub)) throw new DomainError('unauthorized', 'token subject must be a UUID');
    if (typeof role !== 'string' || !ROLES.includes(role as Role)) throw new DomainError('unauthorized', 'unknown role');
    return {
      userId: payload.sub.toLowerCase(),
      role: role as Role,
      email: typeof payload.email === 'string' && payload.email.length <= 320 ? payload.email : null,
      name: typeof payload.name === 'string' && payload.name.length <= 200 ? payload.name : null,
    };
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
