// `npm start` as a new user runs it: the embedded default (no DATABASE_URL), as a process. What stops it must stop it
// the way the README promises: a signal at any moment → exit 0; something the service cannot use (a taken port, a
// data directory that is a file) → exit 1 with one line on stderr naming the variable, never a stack trace, and the
// data directory left unlocked for the next start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { PGLITE_LOCK_FILE } from '../../src/platform/db.js';
import { DEV_JWT_SECRET } from '../../src/config.js';
import { signToken } from '../../src/platform/auth.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bb-embedded-process-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Started {
  pid: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `node --import tsx src/main.ts` (what `npm start` execs) with only these variables besides PATH and HOME. */
function start(env: Record<string, string>, imports: string[] = []): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', ...imports.flatMap((file) => ['--import', file]), 'src/main.ts'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { pid: child.pid!, stdout: () => stdout, stderr: () => stderr, exited };
}

const within = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))]);

const exists = (file: string) => access(file).then(() => true, () => false);

async function waitFor(file: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await exists(file))) {
    if (Date.now() > deadline) throw new Error(`${file} did not appear within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('npm start on the embedded default, as a process', () => {
  it('when the port is taken by another program, then it exits 1 with one line naming PORT (no stack trace) and leaves the data directory unlocked', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as net.AddressInfo).port;
    const dataDir = path.join(dir, 'port-taken');
    try {
      const service = start({ PORT: String(port), PGLITE_DATA_DIR: dataDir });
      const exit = await within(service.exited, 90_000, 'exit');
      expect(exit).toEqual({ code: 1, signal: null });
      expect(service.stderr()).toMatch(new RegExp(`^battlebucks-store: cannot start: PORT: ${port} on 127\\.0\\.0\\.1 is in use`, 'm'));
      expect(service.stderr().trim().split('\n')).toHaveLength(1);
      expect(service.stdout()).not.toMatch(/EADDRINUSE|"stack"/);
      // The runtime was closed before exiting: the next start finds no lock to judge.
      expect(await exists(path.join(dataDir, PGLITE_LOCK_FILE))).toBe(false);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  }, 120_000);

  it('when PGLITE_DATA_DIR names a file, or a path under one, then it exits 1 with one line naming PGLITE_DATA_DIR', async () => {
    const file = path.join(dir, 'not-a-directory');
    await writeFile(file, 'notes\n');
    for (const dataDir of [file, path.join(file, 'data')]) {
      const service = start({ PORT: '0', PGLITE_DATA_DIR: dataDir });
      expect(await within(service.exited, 60_000, 'exit')).toEqual({ code: 1, signal: null });
      expect(service.stderr()).toMatch(/^battlebucks-store: cannot start: PGLITE_DATA_DIR: .*not-a-directory.* is not a directory/m);
      expect(service.stderr().trim().split('\n')).toHaveLength(1);
      expect(service.stdout()).not.toMatch(/"stack"/);
    }
  }, 120_000);

  it('when SIGTERM or SIGINT arrives while it is still loading its modules, then it exits 0 at once (not killed by the signal)', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const marker = path.join(dir, `loading-${signal}`);
      const service = start({ PORT: '0', HOLD_RUNTIME_MARKER: marker }, ['./test/embedded/fixtures/hold-runtime-import.mjs']);
      await waitFor(marker, 60_000);
      process.kill(service.pid, signal);
      expect(await within(service.exited, 10_000, 'exit')).toEqual({ code: 0, signal: null });
    }
  }, 120_000);

  it('when PORT=0 lets the system pick the port, then the built-in Shopify simulator sends its webhooks to that port and a T-shirt ships', async () => {
    const service = start({ PORT: '0', LOG_LEVEL: 'info', PGLITE_DATA_DIR: path.join(dir, 'port-zero') });
    try {
      let base: string | undefined;
      const deadline = Date.now() + 60_000;
      while (!base) {
        if (Date.now() > deadline) throw new Error(`never listened: ${service.stderr()}`);
        base = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(service.stdout())?.[1];
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const me = randomUUID();
      const player = await signToken(DEV_JWT_SECRET, { sub: me, role: 'player' }, '1h');
      const serviceToken = await signToken(DEV_JWT_SECRET, { sub: randomUUID(), role: 'service' }, '1h');
      const call = async (method: string, url: string, token: string | undefined, body?: object) => {
        const response = await fetch(`${base}${url}`, {
          method,
          headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json', 'idempotency-key': randomUUID() } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
        return { status: response.status, body: await response.json() as any };
      };
      expect((await call('POST', '/service/grants', serviceToken, { userId: me, gems: 5000, reason: 'port zero' })).status).toBe(201);
      const shirts = await call('GET', '/store/items?deliveryType=shopify', undefined);
      const listing = shirts.body.items[0];
      const address = { name: 'Ada Lovelace', address1: '12 Analytical St', city: 'London', zip: 'N1 9GU', country: 'GB' };
      const order = await call('POST', '/store/purchases', player, { listingId: listing.id, shippingAddress: address });
      expect(order.status).toBe(201);
      // pending → processing (order created in the simulator) → shipped only when the simulator's webhook reaches us
      let status = 'pending';
      const shipDeadline = Date.now() + 45_000;
      while (!['shipped', 'delivered'].includes(status) && Date.now() < shipDeadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        status = (await call('GET', `/user/purchases/${order.body.id}`, player)).body.lines[0].fulfillment.status;
      }
      expect(status).toMatch(/^(shipped|delivered)$/);
    } finally {
      process.kill(service.pid, 'SIGTERM');
      await within(service.exited, 20_000, 'exit after SIGTERM');
    }
  }, 120_000);
});
