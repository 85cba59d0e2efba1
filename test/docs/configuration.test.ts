// The configuration tables are how an operator learns what to set: every variable the service reads must be in
// them, and every literal default they state must be the one loadConfig applies. A default is checked by setting
// the variable to the documented value and asserting that the configuration does not change.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { proseLines } from './markdown-references.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const TABLES = ['README.md', 'docs/rate-limiting.md'];

interface DocumentedDefault {
  where: string;
  name: string;
  value: string;
}

/** Rows `| `A`, `B` | meaning | `1`, `2` |` of a configuration table: one literal default per variable. */
function documentedDefaults(file: string): DocumentedDefault[] {
  const found: DocumentedDefault[] = [];
  for (const { line, text } of proseLines(read(file))) {
    const cells = text.split('|').map((cell) => cell.trim());
    if (cells.length < 5 || !cells[1]!.startsWith('`')) continue;
    const names = [...cells[1]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!);
    const last = cells[cells.length - 2]!;
    if (names.length === 0 || last.startsWith('unset')) continue;
    const values = [...last.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    // "`true` when embedded, else `false`", `<REDIS_KEY_PREFIX>:rl:`, `http://127.0.0.1:$PORT`: not literals.
    if (values.length !== names.length || values.some((value) => /[<$]/.test(value))) continue;
    names.forEach((name, i) => found.push({ where: `${file}:${line}`, name, value: values[i]! }));
  }
  return found;
}

describe('configuration documentation', () => {
  it('when src/config.ts reads a variable, then the README or a page under docs/ names it', () => {
    const source = read('src/config.ts');
    const variables = new Set([...source.matchAll(/\(env, '([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1]!));
    expect(variables.size).toBeGreaterThan(20);
    const documents = [read('README.md'), ...['rate-limiting.md', 'read-replica.md', 'development.md'].map((f) => read(`docs/${f}`))].join('\n');
    expect([...variables].filter((name) => !documents.includes(`\`${name}\``))).toEqual([]);
  });

  it('when a configuration table states a literal default, then setting the variable to it changes nothing', () => {
    const defaults = TABLES.flatMap(documentedDefaults);
    expect(defaults.map((d) => d.name)).toEqual(expect.arrayContaining(['PORT', 'RATE_LIMIT_PURCHASES', 'JOB_MAX_ATTEMPTS', 'DB_POOL_SIZE']));
    const baseline = loadConfig({});
    const wrong = defaults.filter(({ name, value }) => JSON.stringify(loadConfig({ [name]: value })) !== JSON.stringify(baseline));
    expect(wrong.map(({ where, name, value }) => `${where}: ${name} = ${value}`)).toEqual([]);
  });
});
