// `npm run ledger:verify` as an operator runs it: a process of its own, with only the environment given here.
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';

export function verifyTool(env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/tools/verify-ledger.ts'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}
