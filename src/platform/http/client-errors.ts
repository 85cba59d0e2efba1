// Requests that Node's HTTP parser refuses before Fastify sees them — a control byte in a header value, a
// malformed request line, headers past the size limit, a request that took too long to arrive. Fastify's default
// answers them with a bare JSON body; ours is problem+json like every other refusal. The connection is closed
// afterwards: the parser cannot find the next request on it. The refusal carries helmet's headers like every other
// answer (it is written to the socket by hand, so no hook adds them).
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '../errors.js';
import { problem, type Problem } from './problem.js';
import { computeSecurityHeaders } from './security-headers.js';

const SECURITY_HEADER_LINES = Object.entries(computeSecurityHeaders())
  .map(([name, value]) => `${name}: ${value}\r\n`)
  .join('');

const REFUSALS: Record<string, [ErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: ['headers_too_large', 'the request headers are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: ['request_timeout', 'the request did not arrive in time'],
};

function writeRefusal(socket: Duplex, refusal: Problem, extraHeaderLines = ''): void {
  const body = JSON.stringify(refusal);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${refusal.status} ${refusal.title}\r\n` +
      SECURITY_HEADER_LINES +
      extraHeaderLines +
      `Content-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
}

// The parser counts the request line with the headers, so a huge URL overflows like huge headers. When the chunk it
// overflowed in starts a request and holds no line break, the request line alone passed the limit: RFC 9112 §3
// wants 414 for that. A line that arrived split over several chunks is not told apart and stays 431.
const UNFINISHED_REQUEST_LINE = /^[A-Z]{1,20} [^\r\n]*$/;

function isRequestLineTooLong(error: NodeJS.ErrnoException & { rawPacket?: unknown }): boolean {
  if (error.code !== 'HPE_HEADER_OVERFLOW' || !Buffer.isBuffer(error.rawPacket)) return false;
  return UNFINISHED_REQUEST_LINE.test(error.rawPacket.toString('latin1'));
}

export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, detail] = isRequestLineTooLong(error)
    ? (['uri_too_long', 'the request target (path and query) is too long'] as const)
    : REFUSALS[error.code ?? ''] ?? ['validation_failed', 'the request is not well-formed HTTP'];
  writeRefusal(socket, problem(code, detail));
  socket.destroy(error);
}

/**
 * CONNECT never reaches Fastify: Node hands it to the server's 'connect' event and, with no listener, drops the
 * connection without a word. The service is no proxy, so the method is not allowed on any target: 405 problem+json,
 * then the connection is closed (what follows a CONNECT is tunnel bytes, not HTTP).
 */
export function answerConnect(request: IncomingMessage, socket: Duplex): void {
  if (socket.destroyed) return;
  writeRefusal(socket, { ...problem('method_not_allowed', 'CONNECT is not supported: this service is not a proxy'), instance: request.url ?? '' });
  socket.end(() => socket.destroy());
}
