// Bearer tokens for the seeded players, signed once before the load starts (signing is not what we measure).
import { signToken } from '../src/platform/auth.js';
import { userClaims } from './seed.js';

export const BENCH_JWT_SECRET = 'battlebucks-benchmark-secret-not-for-production';

export async function signPlayerTokens(count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let start = 1; start <= count; start += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - start + 1) }, (_, i) => signToken(BENCH_JWT_SECRET, userClaims(start + i), '12h'));
    tokens.push(...(await Promise.all(batch)));
  }
  return tokens;
}
