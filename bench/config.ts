// The benchmark's knobs, all from the environment (see docs/performance.md, "Running it"). Parsed once.
import os from 'node:os';

export interface BenchConfig {
  databaseUrl: string;
  redisUrl: string;
  /** Seconds each measured scenario runs (after its warm-up). */
  durationS: number;
  warmupS: number;
  /** Connections of the throughput scenarios (the same for their ceiling, the bare route). */
  connections: number;
  users: number;
  listings: number;
  games: number;
  /** Users whose tokens the inventory and purchase scenarios rotate through. */
  activeUsers: number;
  /** Concurrent users (one keep-alive connection each) of the mixed workload. */
  mixedUsers: number;
  /** Mean pause between one user's requests in the paced mixed workload. */
  mixedThinkMs: number;
  /** Seconds over which the mixed workload's users connect (and make their first request) before measuring. */
  mixedRampS: number;
  pgbenchClients: number;
  pgbenchScale: number;
  /** Comma-separated scenario names to run (default: all). */
  only: Set<string> | null;
  /** Record a CPU profile of the service during each scenario (bench/profiles/). */
  profile: boolean;
  reportPath: string;
  resultsPath: string;
}

function int(name: string, fallback: number, min = 1): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got "${raw}"`);
  return value;
}

export function loadBenchConfig(): BenchConfig {
  const users = int('BENCH_USERS', 100_000, 100);
  const durationS = int('BENCH_DURATION', 15);
  const only = process.env.BENCH_SCENARIOS?.trim();
  return {
    databaseUrl: process.env.BENCH_DATABASE_URL?.trim() || 'postgres://postgres@127.0.0.1:5432/bb_bench',
    redisUrl: process.env.BENCH_REDIS_URL?.trim() || 'redis://127.0.0.1:6379',
    durationS,
    warmupS: int('BENCH_WARMUP', Math.min(5, Math.max(1, Math.round(durationS / 3))), 0),
    connections: int('BENCH_CONNECTIONS', 100),
    users,
    listings: int('BENCH_LISTINGS', 5_000, 100),
    games: int('BENCH_GAMES', 8),
    activeUsers: Math.min(users, int('BENCH_ACTIVE_USERS', 10_000)),
    mixedUsers: Math.min(users, int('BENCH_MIXED_USERS', 10_000)),
    mixedThinkMs: int('BENCH_MIXED_THINK_MS', 5_000),
    mixedRampS: int('BENCH_MIXED_RAMP_S', 20),
    pgbenchClients: int('BENCH_PGBENCH_CLIENTS', 16),
    pgbenchScale: int('BENCH_PGBENCH_SCALE', 10),
    only: only ? new Set(only.split(',').map((name) => name.trim()).filter(Boolean)) : null,
    profile: ['1', 'true', 'yes'].includes(process.env.BENCH_PROFILE?.trim().toLowerCase() ?? ''),
    reportPath: process.env.BENCH_REPORT?.trim() || 'docs/performance.md',
    resultsPath: process.env.BENCH_RESULTS?.trim() || 'bench/results/latest.json',
  };
}

/** A run too short or too small to quote: the report says so at the top of its numbers. */
export function isSmokeRun(config: BenchConfig): boolean {
  return config.durationS < 10 || config.users < 100_000 || config.mixedUsers < 10_000 || config.listings < 1_000;
}

export const cpuCount = () => os.cpus().length;
