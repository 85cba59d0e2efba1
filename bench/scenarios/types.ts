// What a scenario is: a named load against the running service, compared with one ceiling, held to one target.
import type { BenchConfig } from '../config.js';
import type { Fixtures } from '../seed.js';
import type { LoadResult } from '../load/result.js';

export interface ServiceUnderTest {
  baseUrl: string;
  host: string;
  port: number;
}

export interface BenchContext {
  config: BenchConfig;
  fixtures: Fixtures;
  service: ServiceUnderTest;
  /** Bearer token of seeded user n (1-based, up to max(activeUsers, mixedUsers)). */
  token(n: number): string;
  /** Storefront pages players open most (first pages of the common sorts and filters, and their second pages). */
  popularPages: string[];
  /** A fresh Idempotency-Key: unique across runs, so no request is ever a replay. */
  idempotencyKey(): string;
}

export type Target =
  | { kind: 'ratio'; ceiling: 'bare' | 'pgbench'; atLeast: number; text: string }
  | { kind: 'latency'; p99BelowMs: number; noErrors: true; text: string };

export interface Scenario {
  name: string;
  title: string;
  /** One paragraph for the report: what is sent and why it measures what it claims. */
  what: string;
  /** Informational scenarios have no target; they explain the ones that do. */
  target?: Target;
  /** Compared with this ceiling in the report even without a target. */
  ceiling?: 'bare' | 'bare-page' | 'pgbench';
  /** Unrecorded work before the warm-up (e.g. one read per player, so the measured reads find their caches). */
  prepare?(ctx: BenchContext): Promise<void>;
  /** Seconds of unrecorded load first (JIT, caches, connection pools); defaults to BENCH_WARMUP. */
  warmupS?: number;
  run(ctx: BenchContext, durationS: number): Promise<LoadResult>;
}
