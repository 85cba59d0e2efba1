// Node's server.close() destroys every connection that has no request being parsed, including one whose request
// bytes already sit unread in its socket because the event loop was busy: the client, who sent its request before
// the shutdown, gets a connection reset and cannot tell whether it ran. Before close() reaps the idle connections
// we let such requests be read (and answered 503 with Connection: close, as every request during a shutdown is),
// until no request or connection has arrived for a quiet period.
import type { Server } from 'node:http';

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
