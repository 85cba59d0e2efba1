// What both servers the benchmark starts (the service and the bare route) do as children: tell the parent their
// port, exit when the parent goes away, and record a CPU profile of a scenario on request.
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';

export type ProfileMessage = { type: 'profile-start' } | { type: 'profile-stop'; path: string };

export function reportListening(port: number): void {
  process.send?.({ type: 'listening', port });
}

export function serveParent(stop: () => Promise<void>): void {
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  // The parent died (even by SIGKILL): nobody will stop this process otherwise.
  process.on('disconnect', shutdown);

  let session: Session | undefined;
  process.on('message', (message: ProfileMessage) => {
    void (async () => {
      if (message.type === 'profile-start') {
        session = new Session();
        session.connect();
        await session.post('Profiler.enable');
        // 1 ms sampling (the default is 1 ms too, but say it: the summaries count samples as milliseconds).
        await session.post('Profiler.setSamplingInterval', { interval: 1000 });
        await session.post('Profiler.start');
        process.send?.({ type: 'profile-started' });
      } else if (message.type === 'profile-stop' && session) {
        const { profile } = await session.post('Profiler.stop');
        session.disconnect();
        session = undefined;
        await writeFile(message.path, JSON.stringify(profile));
        process.send?.({ type: 'profile-stopped', path: message.path });
      }
    })().catch((error: unknown) => process.send?.({ type: 'profile-error', error: String(error) }));
  });
}

/** The listen backlog of both servers: a burst of thousands of connects must not overflow the accept queue. */
export const LISTEN_BACKLOG = 4096;
