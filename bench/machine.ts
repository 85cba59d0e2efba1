// What the numbers were measured on, and where the machine's CPU went during each scenario: the service, the
// load generator (this process) and everything else (PostgreSQL, Redis, and whatever else runs on the box —
// on a shared machine this column is how you see that a run was disturbed).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { Redis } from 'ioredis';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  postgres: string;
  redis: string;
  loadAverageAtStart: number[];
}

export async function describeMachine(databaseUrl: string, redisUrl: string): Promise<MachineInfo> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const postgres = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? '?';
  await client.end();
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let redisVersion = '?';
  try {
    await redis.connect();
    redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
  } finally {
    redis.disconnect();
  }
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? '?',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres,
    redis: redisVersion,
    loadAverageAtStart: os.loadavg().map((value) => Math.round(value * 100) / 100),
  };
}

/** Cores used on average over an interval (1.0 = one core fully busy). */
export interface CpuShare {
  service: number;
  loadGenerator: number;
  other: number;
  idle: number;
}

interface CpuSnapshot {
  at: number;
  busyTicks: number;
  idleTicks: number;
  serviceTicks: number;
  selfMicros: number;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function readTotals(): { busy: number; idle: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, idle };
}

function processTicks(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0;
  }
}

export class CpuSampler {
  private start: CpuSnapshot | undefined;

  constructor(private readonly servicePid: () => number | undefined) {}

  private snapshot(): CpuSnapshot {
    const totals = readTotals();
    const self = process.cpuUsage();
    return { at: Date.now(), busyTicks: totals.busy, idleTicks: totals.idle, serviceTicks: processTicks(this.servicePid()), selfMicros: self.user + self.system };
  }

  begin(): void {
    this.start = this.snapshot();
  }

  end(): CpuShare {
    const start = this.start ?? this.snapshot();
    const now = this.snapshot();
    const seconds = Math.max(0.001, (now.at - start.at) / 1000);
    const cores = (ticks: number) => ticks / TICKS_PER_SECOND / seconds;
    const service = cores(now.serviceTicks - start.serviceTicks);
    const loadGenerator = (now.selfMicros - start.selfMicros) / 1e6 / seconds;
    const busy = cores(now.busyTicks - start.busyTicks);
    const round = (value: number) => Math.round(Math.max(0, value) * 100) / 100;
    return { service: round(service), loadGenerator: round(loadGenerator), other: round(busy - service - loadGenerator), idle: round(cores(now.idleTicks - start.idleTicks)) };
  }
}
