import { describe, expect, it } from 'vitest';
import type { FastifyRequest } from 'fastify';
import { toProblem } from '../../src/platform/http/problem.js';

const request = { log: { warn: () => undefined, error: () => undefined } } as unknown as FastifyRequest;
const pgError = (code: string) => Object.assign(new Error('pg'), { code });

describe('toProblem', () => {
  it('when a deadlock or serialization failure escapes to the handler, then 503 service_unavailable, not 500', () => {
    for (const code of ['40P01', '40001']) {
      expect(toProblem(pgError(code), request)).toMatchObject({ status: 503, code: 'service_unavailable' });
    }
  });
});
