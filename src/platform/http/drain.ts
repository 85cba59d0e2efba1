// Node's server.close() destroys every connection that has no request being parsed, including one whose request
// bytes already sit unread in its socket because the event loop was busy: the client, who sent its request before
// the shutdown, gets a connection reset and cannot tell whether it ran. Before close() reaps the idle connections
// we let such requests be read (and answered 503 with Connection: close, as every request during a shutdown is),
// until no request or connection has arrived for a quiet period.
import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export function drainArrivals(server: Server, options: { quietMs?: number; maxMs?: number } = {}): Promise<void> {
  const quietMs = options.quietMs ?? 250;
  const maxMs = options.maxMs ?? 3000;
  if (!server.listening) return Promise.resolve();
  const started = Date.now();
  let last = started;
  const arrived = () => {
    last = Date.now();
  };
  server.on('request', arrived);
  server.on('connection', arrived);
  return new Promise((resolve) => {
    // setImmediate runs after the poll phase, so bytes that were waiting behind a long timer wait are read first.
    const check = () =>
      setImmediate(() => {
        const now = Date.now();
        if (now - last < quietMs && now - started < maxMs) return void setTimeout(check, quietMs - (now - last));
        server.off('request', arrived);
        server.off('connection', arrived);
        resolve();
      });
    setTimeout(check, quietMs);
  });
}

/**
 * Connections in the middle of a request's headers (a slow client, a stalled link) are neither idle, which
 * server.close() destroys, nor answered: close() would wait for them for ever, since Node stops checking its request
 * timeouts once the server closes, and the shutdown guard would end the process with exit code 1; so would a
 * request whose body is still dribbling in. Tracks the server's connections from the start; `closeUnanswered`,
 * called once the drain is over, destroys those with no response in progress or with a request body still
 * incomplete (nothing of their request has run). A connection whose request is being answered keeps it: the answer
 * carries `Connection: close`.
 */
export function trackConnections(server: Server): { closeUnanswered(): void } {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    closeUnanswered() {
      // `_httpMessage` is the response Node is writing on the connection (null between requests); http-terminator and
      // stoppable read it the same way. A request whose body is still arriving has not reached its handler either
      // (bodies are parsed whole first), and would hold close() as long as its client dribbles.
      for (const socket of sockets) {
        const response = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
        if (!response || !response.req.complete) socket.destroy();
      }
    },
  };
}
