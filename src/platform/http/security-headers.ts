// helmet's headers, computed once. They depend on nothing in the request (CSP is off: every route but /docs
// answers JSON), yet @fastify/helmet runs helmet's middleware chain on every reply, ten setHeader calls deep:
// 7–8 % of a cached read's CPU in the profiles (docs/performance.md). Running the same middleware once against a
// recording response keeps helmet as the source of truth for which headers and values are sent.
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';

export const HELMET_OPTIONS: Readonly<HelmetOptions> = {
  contentSecurityPolicy: false,
  crossOriginResourcePolicy: { policy: 'cross-origin' },
};

export function computeSecurityHeaders(options: Readonly<HelmetOptions> = HELMET_OPTIONS): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let finished = false;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
    finished = true;
  });
  // helmet's middleware is synchronous today; if a release made it asynchronous this would silently send nothing.
  if (!finished) throw new Error('helmet did not finish synchronously: security headers cannot be precomputed');
  return Object.freeze(headers);
}
