// Which methods the router serves at a path, for the not-found handler: a request whose path exists under other
// methods is 405 method_not_allowed with an Allow header (RFC 9110 § 15.5.6), not 404 — `DELETE /games` names a
// resource that exists. Fastify's router answers 404 for both, so the route table is kept here as well, filled by
// an onRoute hook while the modules register their routes.
import type { FastifyInstance } from 'fastify';

interface Pattern {
  regex: RegExp;
  methods: Set<string>;
}

/** `/user/characters/:id/equipment/:slot` → a regex over the raw path; `*` matches the rest of the path. */
function toRegex(url: string): RegExp {
  let source = '';
  for (const segment of url.split(/(:[A-Za-z0-9_]+(?:\([^)]*\))?|\*)/)) {
    if (segment === '') continue;
    if (segment === '*') source += '.*';
    else if (segment.startsWith(':')) source += '[^/]+';
    else source += segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

export function trackAllowedMethods(app: FastifyInstance): (path: string) => string[] {
  const patterns = new Map<string, Pattern>();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const url = route.url ?? route.path;
    let pattern = patterns.get(url);
    if (!pattern) patterns.set(url, (pattern = { regex: toRegex(url), methods: new Set() }));
    for (const method of methods) pattern.methods.add(method.toUpperCase());
    // Fastify answers HEAD for every GET route (exposeHeadRoutes).
    if (pattern.methods.has('GET')) pattern.methods.add('HEAD');
  });
  return (path) => {
    const allowed = new Set<string>();
    for (const { regex, methods } of patterns.values()) if (regex.test(path)) for (const method of methods) allowed.add(method);
    return [...allowed].sort();
  };
}
