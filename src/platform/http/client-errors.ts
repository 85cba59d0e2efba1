// Requests that Node's HTTP parser refuses before Fastify sees them — a control byte in a header value, a
// malformed request line, headers past the size limit, a request that took too long to arrive. Fastify's default
// answers them with a bare JSON body; ours is problem+json like every other refusal. The connection is closed
// afterwards: the parser cannot find the next request on it. The refusal carries helmet's headers like every other
// answer (it is written to the socket by hand, so no hook adds them).
import type { Socket } from 'node:net';
import type { ErrorCode } from '../errors.js';
import { problem } from './problem.js';
import { computeSecurityHeaders } from './security-headers.js';

const SECURITY_HEADER_LINES = Object.entries(computeSecurityHeaders())
  .map(([name, value]) => `${name}: ${value}\r\n`)
  .join('');

const REFUSALS: Record<string, [ErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: ['headers_too_large', 'the request headers are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: ['request_timeout', 'the request did not arrive in time'],
};

export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, detail] = REFUSALS[error.code ?? ''] ?? ['validation_failed', 'the request is not well-formed HTTP'];
  const refusal = problem(code, detail);
  const body = JSON.stringify(refusal);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${refusal.status} ${refusal.title}\r\n` +
      SECURITY_HEADER_LINES +
      `Content-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
