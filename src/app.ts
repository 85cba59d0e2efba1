// buildApp: the platform plugins, then each module's routes. No business logic here.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { AjvCompiler, type ValidatorFactory } from '@fastify/ajv-compiler';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { CoreDeps, RouteContext } from './context.js';
import type { Services } from './services.js';
import type { App } from './platform/http/types.js';
import { TokenVerifier } from './platform/auth.js';
import { createAuthenticate } from './platform/http/auth-hooks.js';
import { answerFrameworkError, problem, registerProblemHandlers, sendProblem } from './platform/http/problem.js';
import { ProblemSchema } from './platform/http/schemas.js';
import { recordHttpRequest } from './platform/metrics.js';
import { operationsRoutes } from './platform/http/operations.routes.js';
import { computeSecurityHeaders } from './platform/http/security-headers.js';
import { documentRateLimit, registerRateLimits } from './platform/http/rate-limit.js';
import { registerReadYourWrites } from './platform/http/read-your-writes.js';
import { gamesRoutes } from './modules/games/index.js';
import { catalogRoutes } from './modules/catalog/index.js';
import { walletRoutes } from './modules/wallet/index.js';
import { purchasesRoutes } from './modules/purchases/index.js';
import { inventoryRoutes } from './modules/inventory/index.js';
import { charactersRoutes } from './modules/characters/index.js';
import { fulfillmentRoutes } from './modules/fulfillment/index.js';
import { answerClientError } from './platform/http/client-errors.js';
import { awaitPipelinedPredecessors } from './platform/http/pipelining.js';
import { installJsonBodyParser } from './platform/http/json-body.js';
import { drainArrivals, trackConnections } from './platform/http/drain.js';
import { documentPlatformResponses } from './platform/http/openapi.js';
import { restrictDateTimeToStorableInstants } from './platform/http/date-time-format.js';
import { refuseLooseQueryNumbers } from './platform/http/query-numbers.js';
import { lazyChildLogger } from './platform/http/request-logger.js';

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,128}$/;

// Query strings, params and headers arrive as text, so they are coerced to their schema types. JSON bodies are
// already typed: coercing them would turn `{"price": null}` into 0 or `"5"` into 5, so bodies are validated
// strictly, with the same shared schemas.
type AjvOptions = { customOptions?: Record<string, unknown> } & Record<string, unknown>;

function buildValidatorWithStrictBodies(): ValidatorFactory {
  const pool = AjvCompiler() as unknown as (schemas: unknown, options: AjvOptions) => (route: { httpPart?: string }) => unknown;
  const factory = (externalSchemas: unknown, options: AjvOptions = {}) => {
    const lenient = pool(externalSchemas ?? {}, options);
    const strict = pool(externalSchemas ?? {}, { ...options, customOptions: { ...options.customOptions, coerceTypes: false } });
    return (route: { httpPart?: string }) => (route.httpPart === 'body' ? strict(route) : lenient(route));
  };
  return factory as unknown as ValidatorFactory;
}

export async function buildApp(deps: CoreDeps, services: Services): Promise<App> {
  const securityHeaders = computeSecurityHeaders();
  const app = Fastify({
    loggerInstance: deps.logger,
    childLoggerFactory: lazyChildLogger,
    bodyLimit: deps.config.bodyLimitBytes,
    trustProxy: deps.config.trustProxy,
    requestIdHeader: false,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false }, onCreate: restrictDateTimeToStorableInstants },
    schemaController: { compilersFactory: { buildValidator: buildValidatorWithStrictBodies() } },
    // Our own refusal below, as problem+json with Retry-After (Fastify's is a bare JSON 503).
    return503OnClosing: false,
    // Router-level refusals (a path parameter over maxParamLength, a malformed URL) bypass the error handler.
    frameworkErrors: answerFrameworkError(securityHeaders),
    clientErrorHandler: answerClientError,
    // Node answers an HTTP/1.1 request without Host with a bare, empty 400 before any handler; refused below instead,
    // as problem+json like every other refusal.
    // Node checks the request and headers timeouts only every connectionsCheckingInterval (30 s by default), and its
    // headersTimeout (60 s) is not derived from the requestTimeout Fastify sets later: a dribbling client held its
    // request 60–90 s. Both bounded at 30 s, checked every second.
    http: { requireHostHeader: false, headersTimeout: 30_000, connectionsCheckingInterval: 1_000 },
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 72_000,
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.decorateRequest('principal', null);
  registerProblemHandlers(app);
  installJsonBodyParser(app as unknown as FastifyInstance);
  app.addSchema(ProblemSchema);

  // Hooks that never wait are written in callback style: an async hook costs a promise and a tick per request
  // on every route, cached reads included.
  // During a shutdown in-flight requests finish and new ones are refused; their kept-alive connections would then
  // idle until keepAliveTimeout and hold close() open past the grace period: answers sent while closing end their
  // connection.
  let closing = false;
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(securityHeaders).header('x-request-id', request.id);
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1') {
      return void sendProblem(reply, problem('validation_failed', 'an HTTP/1.1 request must carry a Host header'));
    }
    if (!closing) return done();
    reply.header('retry-after', '1');
    sendProblem(reply, problem('service_unavailable', 'the service is shutting down; retry'));
  });
  app.addHook('onRequest', awaitPipelinedPredecessors);
  const connections = trackConnections(app.server);
  app.addHook('preClose', async () => {
    closing = true;
    await drainArrivals(app.server);
    connections.closeUnanswered();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  refuseLooseQueryNumbers(app);
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    recordHttpRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'BattleBucks Store API',
        version: '1.0.0',
        description: 'Store, gem wallet, inventory, characters and fulfillment for the BattleBucks platform.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
    transform: documentRateLimit(deps.config.rateLimitEnabled),
    transformObject: documentPlatformResponses as never,
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const verifier = new TokenVerifier(deps.config.jwtSecret);
  const ctx: RouteContext = { ...deps, services, authenticate: createAuthenticate(verifier, services.users.provision) };

  await registerRateLimits(app, ctx);
  registerReadYourWrites(app, ctx);
  await app.register(async (scope) => operationsRoutes(scope as unknown as App, ctx));
  for (const routes of [gamesRoutes, catalogRoutes, walletRoutes, purchasesRoutes, inventoryRoutes, charactersRoutes, fulfillmentRoutes]) {
    await app.register(async (scope) => routes(scope as unknown as App, ctx));
  }
  return app;
}
