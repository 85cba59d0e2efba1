// Rate limits (docs/rate-limiting.md). Every request spends from exactly one budget, chosen by what it does and
// who sends it: purchases, grants, webhooks and admin writes have their own stricter budgets; everything else
// spends the caller's general budget, per user when the token verifies and per IP otherwise. Requests carrying a
// token that does not verify spend a small per-IP budget, so guessing tokens is slow. Counters are shared through
// Redis when it is up and kept per instance when it is not (rate-limit-store.ts).
import { isIPv6 } from 'node:net';
import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { errors as joseErrors, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import type { FastifyRequest, FastifySchema } from 'fastify';
import type { App } from './types.js';
import type { RouteContext } from '../../context.js';
import type { RateLimitConfig } from '../../config.js';
import { bearerTokenOf, isCompactHs256, isUuid, MAX_CACHED_TOKEN_LENGTH, singleAuthorization } from '../auth.js';
import { FailoverStore } from './rate-limit-store.js';

export type BudgetName = 'user' | 'ip' | 'purchases' | 'grants' | 'webhooks' | 'admin_writes' | 'auth_failures';

/** Probes and scrapes are never limited: a load balancer or Prometheus must not be locked out. */
const EXEMPT_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

type Caller = { kind: 'user'; id: string } | { kind: 'anonymous' } | { kind: 'bad_token' };

interface Charge {
  budget: BudgetName;
  key: string;
}

export function namedBudgetFor(method: string, route: string): BudgetName | undefined {
  if (method === 'POST' && route === '/store/purchases') return 'purchases';
  if (method === 'POST' && route === '/service/grants') return 'grants';
  if (method === 'POST' && route.startsWith('/webhooks/')) return 'webhooks';
  if (!SAFE_METHODS.has(method) && route.startsWith('/admin/')) return 'admin_writes';
  return undefined;
}

function maxOf(limits: RateLimitConfig, budget: BudgetName): number {
  switch (budget) {
    case 'user': return limits.perUser;
    case 'ip': return limits.perIp;
    case 'purchases': return limits.purchases;
    case 'grants': return limits.grants;
    case 'webhooks': return limits.webhooks;
    case 'admin_writes': return limits.adminWrites;
    case 'auth_failures': return limits.authFailures;
  }
}

/**
 * Who the caller is, for counting only: a verified token's subject, or nobody. Verification (HS256, ~10 µs) runs
 * here, before the route's own guard, because an unverified `sub` would let anyone pick a fresh bucket per request.
 * Verified tokens are remembered until they expire, so a client's repeated token is checked once.
 */
function createCallerResolver(jwtSecret: string) {
  const key = new TextEncoder().encode(jwtSecret);
  const verified = new LRUCache<string, { sub: string; expiresAt: number }>({ max: 50_000 });

  return async function callerOf(request: FastifyRequest): Promise<Caller> {
    let header: string | undefined;
    try {
      header = singleAuthorization(request.headers.authorization, request.raw.rawHeaders);
    } catch {
      return { kind: 'bad_token' };
    }
    if (!header) return { kind: 'anonymous' };
    // The guard's own reading of the header (auth.ts): a token it would refuse unverified is a bad one here too.
    const token = bearerTokenOf(header);
    if (token === undefined || !isCompactHs256(token)) return { kind: 'bad_token' };
    const known = verified.get(token);
    if (known && known.expiresAt > Date.now()) return { kind: 'user', id: known.sub };
    try {
      const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], clockTolerance: 5 });
      if (!isUuid(payload.sub)) return { kind: 'bad_token' };
      // As auth.ts: no leeway on exp, so a token refused as expired is counted as an expired one.
      if (typeof payload.exp === 'number' && Date.now() >= payload.exp * 1000) return { kind: 'anonymous' };
      const sub = payload.sub.toLowerCase();
      if (token.length <= MAX_CACHED_TOKEN_LENGTH) verified.set(token, { sub, expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : Date.now() + 60_000 });
      return { kind: 'user', id: sub };
    } catch (error) {
      // A correctly signed but expired token is an honest client that must refresh, not someone guessing.
      return error instanceof joseErrors.JWTExpired ? { kind: 'anonymous' } : { kind: 'bad_token' };
    }
  };
}

/**
 * The per-IP bucket of an address. An IPv6 client holds at least a /64 and can send each request from another
 * address in it, so IPv6 is counted per /64; an IPv4-mapped address (`::ffff:192.0.2.1`) is the IPv4 client.
 */
export function ipBucketOf(ip: string): string {
  if (!isIPv6(ip)) return ip;
  const [head = '', tail] = ip.split('%')[0]!.split('::');
  const hextets = (part: string | undefined) => (part ? part.split(':').flatMap((group) => (group.includes('.') ? dottedToHextets(group) : [parseInt(group, 16)])) : []);
  const groups = tail === undefined ? hextets(head) : [...hextets(head), ...Array<number>(8 - hextets(head).length - hextets(tail).length).fill(0), ...hextets(tail)];
  // ::ffff:0:0/96 in any spelling (dotted, hex, uncompressed) is the IPv4 client itself.
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  return `${groups.slice(0, 4).map((group) => group.toString(16)).join(':')}::/64`;
}

function dottedToHextets(dotted: string): number[] {
  const [a = 0, b = 0, c = 0, d = 0] = dotted.split('.').map(Number);
  return [(a << 8) | b, (c << 8) | d];
}

export function chargeFor(method: string, route: string, caller: Caller, address: string): Charge {
  const ip = ipBucketOf(address);
  if (caller.kind === 'bad_token') return { budget: 'auth_failures', key: `auth_failures:ip:${ip}` };
  const named = namedBudgetFor(method, route);
  // Webhook senders (Shopify, the payment provider) carry no token: their address is who they are.
  const who = caller.kind === 'user' && named !== 'webhooks' ? `u:${caller.id}` : `ip:${ip}`;
  const budget = named ?? (caller.kind === 'user' ? 'user' : 'ip');
  return { budget, key: `${budget}:${who}` };
}

const RATE_LIMITED_HEADERS = {
  'retry-after': { type: 'integer', description: 'Seconds until the budget is whole again' },
  'ratelimit-limit': { type: 'integer', description: 'Requests per window of the budget this request spent' },
  'ratelimit-remaining': { type: 'integer', description: 'Requests left in this window (0)' },
  'ratelimit-reset': { type: 'integer', description: 'Seconds until the window resets' },
  'ratelimit-policy': { type: 'string', description: 'The budget: `<limit>;w=<window seconds>;comment="<budget name>"`' },
};

/**
 * The OpenAPI document's view of a route (swagger `transform`): every limited route may answer 429 rate_limited,
 * which no route schema lists because the limiter, not the route, sends it.
 */
export function documentRateLimit(enabled: boolean) {
  return ({ schema, url }: { schema: FastifySchema; url: string }) => {
    const response = schema?.response as Record<string, unknown> | undefined;
    if (!enabled || !schema || !response || EXEMPT_ROUTES.has(url)) return { schema, url };
    const tooMany = { $ref: 'Problem', description: 'Too Many Requests: problem+json with code `rate_limited`', headers: RATE_LIMITED_HEADERS };
    return { schema: { ...schema, response: { ...response, 429: tooMany } }, url };
  };
}

export async function registerRateLimits(app: App, ctx: RouteContext): Promise<void> {
  // Benchmarks measure the service, not the limiter.
  if (!ctx.config.rateLimitEnabled) return;
  const limits = ctx.config.rateLimit;
  const callerOf = createCallerResolver(ctx.config.jwtSecret);
  const charges = new WeakMap<FastifyRequest, Charge>();
  const storeOptions = { redis: ctx.redis, keyPrefix: limits.keyPrefix, logger: ctx.logger };

  await app.register(rateLimit, {
    // Not the plugin's per-route hooks: those run after a route's own onRequest hooks, so a route that
    // authenticates in onRequest would turn away forged tokens before they were counted. One app-level hook
    // (below) runs before every route-level hook instead.
    global: false,
    timeWindow: limits.windowMs,
    enableDraftSpec: true, // RateLimit-Limit / -Remaining / -Reset, and Retry-After on 429
    // The store never fails (it falls back to process memory), but a limiter bug must not turn into 500s.
    skipOnError: true,
    // The plugin's typings declare incr(key, callback), but it calls incr(key, callback, timeWindow, max).
    store: class extends FailoverStore {
      constructor() {
        super(storeOptions);
      }
    } as unknown as FastifyRateLimitStoreCtor,
    keyGenerator: async (request) => {
      const route = request.routeOptions.url ?? request.url.split('?')[0] ?? '/';
      const charge = chargeFor(request.method, route, await callerOf(request), request.ip);
      charges.set(request, charge);
      return charge.key;
    },
    max: (request) => maxOf(limits, charges.get(request)?.budget ?? 'ip'),
    // Thrown into the global error handler, which renders 429 problem+json with code rate_limited.
    errorResponseBuilder: (request, context) => {
      const budget = charges.get(request)?.budget ?? 'ip';
      return Object.assign(new Error(`rate limit of ${context.max} requests per ${Math.ceil(limits.windowMs / 1000)} s for "${budget}" exceeded; retry in ${context.after}`), {
        statusCode: 429,
      });
    },
  });

  const limit = app.rateLimit();
  // onRequest: before the body is read (an over-budget upload is never parsed) and before any route's guard.
  app.addHook('onRequest', async function rateLimitHook(request, reply) {
    if (EXEMPT_ROUTES.has(request.routeOptions.url ?? '')) return;
    await limit.call(this, request, reply);
  });

  // The draft's RateLimit-Policy names the quota and window the other RateLimit-* headers report on. Clients
  // written against a later draft read one `RateLimit` field, and many older ones read X-RateLimit-*: the same
  // three numbers are sent in each form, so no client has to guess which one we speak.
  app.addHook('onSend', async (request, reply) => {
    const charge = charges.get(request);
    if (!charge) return;
    reply.header('ratelimit-policy', `${maxOf(limits, charge.budget)};w=${Math.ceil(limits.windowMs / 1000)};comment="${charge.budget}"`);
    const limit = reply.getHeader('ratelimit-limit');
    const remaining = reply.getHeader('ratelimit-remaining');
    const reset = reply.getHeader('ratelimit-reset');
    if (limit === undefined || remaining === undefined || reset === undefined) return;
    reply.header('ratelimit', `limit=${limit}, remaining=${remaining}, reset=${reset}`);
    reply.header('x-ratelimit-limit', limit);
    reply.header('x-ratelimit-remaining', remaining);
    reply.header('x-ratelimit-reset', reset);
  });
}
