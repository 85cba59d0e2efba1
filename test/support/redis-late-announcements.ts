// A TCP proxy in front of the real Redis that delivers pub/sub messages as late as Redis may.
//
// Redis answers a script that PUBLISHes and writes the message to the channel's subscribers in one pass over its
// clients, before it reads its next command; but the pass can be interrupted (the process descheduled on a busy
// machine), and the publisher then holds its answer milliseconds before any subscriber has the message. Measured
// black-box on two instances and one Redis: about 1 write in 150 was answered before the other instance received
// the announcement, which then served the entries the write replaced to a request sent after the write's response.
//
// The proxy makes that case happen every time: once `holdMessages()` is called, what Redis sends to a subscribed
// connection is held until Redis answers a command on another connection after it. Redis finishes its pass before it
// reads another command, so whatever it answers later was sent after the message: the held bytes are delivered
// first, then that answer. Everything else passes through at once.
import net from 'node:net';
import { TEST_REDIS_URL } from './env.js';

export interface LateAnnouncements {
  /** A redis:// URL that goes through the proxy. */
  url: string;
  /** From now on, hold messages for subscribers until Redis answers a command after them. */
  holdMessages(): void;
  /** Delivers the held messages now (written to the subscribers' sockets before this returns). */
  deliverHeld(): void;
  /** Bytes currently held for subscribers (what a subscriber has not received yet). */
  heldBytes(): number;
  close(): Promise<void>;
}

interface Link {
  client: net.Socket;
  upstream: net.Socket;
  subscribed: boolean;
  held: Buffer[];
}

export async function startLateAnnouncements(): Promise<LateAnnouncements> {
  const target = new URL(TEST_REDIS_URL);
  const links = new Set<Link>();
  let holding = false;

  const release = () => {
    for (const link of links) {
      for (const chunk of link.held.splice(0)) link.client.write(chunk);
    }
  };

  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect({ host: target.hostname, port: Number(target.port || 6379) });
    upstream.setNoDelay(true);
    const link: Link = { client, upstream, subscribed: false, held: [] };
    links.add(link);
    client.on('data', (chunk) => {
      if (/subscribe/i.test(chunk.toString('latin1'))) link.subscribed = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (holding && link.subscribed) {
        link.held.push(chunk);
        return;
      }
      release();
      client.write(chunk);
    });
    const close = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const url = new URL(TEST_REDIS_URL);
  url.hostname = '127.0.0.1';
  url.port = String(port);

  return {
    url: url.toString(),
    holdMessages: () => void (holding = true),
    deliverHeld: release,
    heldBytes: () => [...links].reduce((sum, link) => sum + link.held.reduce((n, chunk) => n + chunk.length, 0), 0),
    async close() {
      for (const link of links) {
        link.client.destroy();
        link.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
