// Reads a V8 .cpuprofile (written by the service during a scenario, BENCH_PROFILE=1) and says where the time
// went: by function (self time) and by area (a package in node_modules, a file of ours, Node's internals, GC).
// Also runnable alone: `npx tsx bench/profile.ts bench/profiles/inventory.cpuprofile`.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  functions: Array<{ name: string; where: string; selfMs: number; share: number }>;
  areas: Array<{ area: string; selfMs: number; share: number }>;
}

function areaOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const ours = /\/(src|bench)\/(.+)$/.exec(url);
  return ours ? `${ours[1]}/${ours[2]}` : url;
}

function shortWhere(url: string, line: number): string {
  if (!url) return '';
  const modules = /node_modules\/(.+)$/.exec(url);
  const file = modules ? modules[1]! : (/\/((?:src|bench)\/.+)$/.exec(url)?.[1] ?? url.replace(/^file:\/\//, ''));
  return `${file}:${line + 1}`;
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, index) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));

  const functions = new Map<string, { name: string; where: string; micros: number }>();
  const areas = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  for (const [id, micros] of selfMicros) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (frame.functionName === '(idle)') {
      idle += micros;
      continue;
    }
    busy += micros;
    const name = frame.functionName || '(anonymous)';
    const where = shortWhere(frame.url, frame.lineNumber);
    const key = `${name}@${where}`;
    const entry = functions.get(key) ?? { name, where, micros: 0 };
    entry.micros += micros;
    functions.set(key, entry);
    const area = areaOf(frame.url, name);
    areas.set(area, (areas.get(area) ?? 0) + micros);
  }
  const share = (micros: number) => Math.round((micros / Math.max(1, busy)) * 1000) / 10;
  return {
    busyMs: Math.round(busy / 1000),
    idleMs: Math.round(idle / 1000),
    functions: [...functions.values()].sort((a, b) => b.micros - a.micros).slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfMs: Math.round(f.micros / 1000), share: share(f.micros) })),
    areas: [...areas.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
      .map(([area, micros]) => ({ area, selfMs: Math.round(micros / 1000), share: share(micros) })),
  };
}

export function formatProfile(summary: ProfileSummary): string {
  const lines = [`busy ${summary.busyMs} ms, idle ${summary.idleMs} ms`, 'by area (self time):'];
  for (const area of summary.areas) lines.push(`  ${String(area.share).padStart(5)}%  ${area.area}`);
  lines.push('by function (self time):');
  for (const f of summary.functions) lines.push(`  ${String(f.share).padStart(5)}%  ${f.name}  ${f.where}`);
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const file of process.argv.slice(2)) console.log(`${file}\n${formatProfile(summarizeProfile(file, 25))}\n`);
}
