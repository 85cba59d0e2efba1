// The committed schema documents must be what the migrations produce: a migration without
// `npm run docs:schema` fails here, with the first line that differs.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/platform/db.js';
import { generateSchemaDocs, type SchemaDocs } from '../../tools/schema-docs/generate.js';
import { SCHEMA_DBML, SCHEMA_MD, SCHEMA_SVG } from '../../tools/schema-docs/markdown.js';
import { sourceHash, stampedHash } from '../../tools/schema-docs/render.js';
import { createTestDatabase } from '../support/database.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const REGENERATE = 'run `npm run docs:schema` and commit docs/schema.md, docs/schema.dbml and docs/schema.svg';

let scratch: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Database;
let docs: SchemaDocs;

beforeAll(async () => {
  scratch = await createTestDatabase();
  db = await openDatabase({ url: scratch.url, poolSize: 1 });
  docs = await generateSchemaDocs(db);
});

afterAll(async () => {
  await db?.close();
  await scratch?.drop();
});

async function committed(file: string): Promise<string> {
  return readFile(path.join(ROOT, file), 'utf8').catch(() => '');
}

/** Where two texts part, in words a developer can act on; null when they are equal. */
function firstDifference(file: string, actual: string, expected: string): string | null {
  if (actual === expected) return null;
  if (actual === '') return `${file} is missing: ${REGENERATE}`;
  const actualLines = actual.split('\n');
  const expectedLines = expected.split('\n');
  let line = 0;
  while (line < actualLines.length && line < expectedLines.length && actualLines[line] === expectedLines[line]) line++;
  return [
    `${file} differs from what the migrations produce: ${REGENERATE}.`,
    `First difference at line ${line + 1}:`,
    `  committed: ${actualLines[line] ?? '(end of file)'}`,
    `  generated: ${expectedLines[line] ?? '(end of file)'}`,
  ].join('\n');
}

describe('schema documents', () => {
  it('when the migrations are applied to a fresh database, then docs/schema.md is what the generator writes', async () => {
    const difference = firstDifference(SCHEMA_MD, await committed(SCHEMA_MD), docs.markdown);
    expect(difference, difference ?? '').toBeNull();
  });

  it('when the migrations are applied to a fresh database, then docs/schema.dbml is what the generator writes', async () => {
    const difference = firstDifference(SCHEMA_DBML, await committed(SCHEMA_DBML), docs.dbml);
    expect(difference, difference ?? '').toBeNull();
  });

  it('when the diagram is generated, then the committed image was rendered from this very diagram', async () => {
    const stamped = stampedHash(await committed(SCHEMA_SVG));
    const message = `${SCHEMA_SVG} was rendered from ${stamped ? 'an older diagram' : 'no known diagram'}: run \`npm run docs:schema\` (or \`npm run docs:schema:render\`) on a machine with Chromium (apt-get install -y chromium) and commit ${SCHEMA_SVG}`;
    expect(stamped, message).toBe(sourceHash(docs.mermaid));
  });

  it('when the generator runs twice on the same database, then the output is byte-for-byte the same', async () => {
    const again = await generateSchemaDocs(db);
    expect(again.markdown).toBe(docs.markdown);
    expect(again.dbml).toBe(docs.dbml);
  });

  it('when the schema is read, then the bookkeeping table and the job queue schema are left out', async () => {
    const { rows } = await db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'pgboss' AND c.relkind = 'r'`,
    );
    // The template database carries pg-boss's tables, so leaving them out is a real choice, not an accident.
    expect(rows.length).toBeGreaterThan(0);
    const documented = docs.schema.tables.map((t) => t.name);
    expect(documented).not.toContain('schema_migrations');
    for (const { name } of rows) expect(docs.markdown).not.toContain(`### ${name}\n`);
    expect(documented).toEqual(expect.arrayContaining(['users', 'ledger_accounts', 'orders', 'inventory_items']));
  });
});
