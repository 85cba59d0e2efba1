// Real Redis connections for a test file, each closed after it; the file fails at once when Redis is not there.
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { TEST_REDIS_URL } from './env.js';

export function useRedisConnections(): () => Redis {
  const connections: Redis[] = [];
  const connection = () => {
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    connections.push(redis);
    return redis;
  };
  beforeAll(async () => {
    await connection().ping();
  });
  afterAll(() => connections.forEach((redis) => redis.disconnect()));
  return connection;
}
