import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { lazyChildLogger } from '../../src/platform/http/request-logger.js';

function capture(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

describe('the per-request logger made on first use', () => {
  it('writes what the parent level allows, bound to the request id, and skips the rest', () => {
    const { logger, lines } = capture('warn');
    const log = lazyChildLogger(logger, { reqId: 'r-1' }, {});
    log.info('not written');
    log.debug({ a: 1 }, 'not written');
    log.warn({ detail: 'x' }, 'written');
    log.error(new Error('boom'), 'also written');
    expect(lines.map((line) => [line.msg, line.reqId, line.level])).toEqual([
      ['written', 'r-1', 40],
      ['also written', 'r-1', 50],
    ]);
    expect(lines[0]!.detail).toBe('x');
    expect((lines[1]!.err as { message: string }).message).toBe('boom');
  });

  it('follows the parent at info, and its children keep the request id', () => {
    const { logger, lines } = capture('info');
    const log = lazyChildLogger(logger, { reqId: 'r-2' }, {});
    expect(log.level).toBe('info');
    log.info('hello');
    log.child({ part: 'p' }).info('from a child');
    expect(lines.map((line) => [line.msg, line.reqId, line.part])).toEqual([
      ['hello', 'r-2', undefined],
      ['from a child', 'r-2', 'p'],
    ]);
  });

  it('honours a level set on it, and a route level given by Fastify', () => {
    const { logger, lines } = capture('warn');
    const lowered = lazyChildLogger(logger, { reqId: 'r-3' }, {});
    lowered.level = 'debug';
    lowered.debug('now written');
    const routeLevel = lazyChildLogger(logger, { reqId: 'r-4' }, { level: 'info' });
    routeLevel.info('route level');
    expect(lines.map((line) => [line.msg, line.reqId])).toEqual([
      ['now written', 'r-3'],
      ['route level', 'r-4'],
    ]);
  });
});
