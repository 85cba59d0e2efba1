// The generator's reading of the catalog, on a made-up schema holding every shape a foreign key can take:
// the cardinalities must follow from nullability and unique keys, not from names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/platform/db.js';
import { introspectSchema, type Schema } from '../../tools/schema-docs/introspect.js';
import { mermaidErDiagram } from '../../tools/schema-docs/mermaid.js';
import { renderDbml } from '../../tools/schema-docs/dbml.js';
import { renderMarkdown } from '../../tools/schema-docs/markdown.js';
import { createTestDatabase } from '../support/database.js';

let scratch: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Database;
let schema: Schema;

beforeAll(async () => {
  scratch = await createTestDatabase();
  db = await openDatabase({ url: scratch.url, poolSize: 1 });
  await db.query(`
    CREATE SCHEMA probe;
    CREATE TABLE probe.parents (id int PRIMARY KEY, code text NOT NULL, region text NOT NULL, UNIQUE (code, region));
    CREATE TABLE probe.required_children (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      parent_id int NOT NULL REFERENCES probe.parents(id) ON DELETE CASCADE);
    CREATE TABLE probe.optional_children (id int PRIMARY KEY, parent_id int REFERENCES probe.parents(id) ON DELETE SET NULL);
    CREATE TABLE probe.profiles (parent_id int PRIMARY KEY REFERENCES probe.parents(id));
    CREATE TABLE probe.badges (id int PRIMARY KEY, parent_id int UNIQUE REFERENCES probe.parents(id));
    CREATE TABLE probe.partials (
      id int PRIMARY KEY,
      parent_id int NOT NULL REFERENCES probe.parents(id),
      active boolean NOT NULL DEFAULT true,
      amount int CONSTRAINT partials_amount_positive CHECK (amount > 0));
    CREATE UNIQUE INDEX partials_active_idx ON probe.partials (parent_id) WHERE active;
    CREATE TABLE probe.composite_children (
      id int PRIMARY KEY, code text, region text,
      FOREIGN KEY (code, region) REFERENCES probe.parents(code, region));
    CREATE INDEX composite_children_lower_idx ON probe.composite_children (lower(code));
  `);
  schema = await introspectSchema(db, 'probe');
});

afterAll(async () => {
  await db?.close();
  await scratch?.drop();
});

describe('schema generator', () => {
  it('when foreign keys have every shape, then the Mermaid ends follow nullability and unique keys', () => {
    const diagram = mermaidErDiagram(schema);
    expect(diagram).toContain('parents ||--o{ required_children : "parent_id"');
    expect(diagram).toContain('parents |o--o{ optional_children : "parent_id"');
    // The FK is the primary key: at most one profile per parent.
    expect(diagram).toContain('parents ||--o| profiles : "parent_id"');
    expect(diagram).toContain('parents |o--o| badges : "parent_id"');
    // A partial unique index promises nothing outside its WHERE: still one-to-many.
    expect(diagram).toContain('parents ||--o{ partials : "parent_id"');
    expect(diagram).toContain('parents |o--o{ composite_children : "code, region"');
    expect(diagram.match(/--/g)).toHaveLength(6);
  });

  it('when a table has keys, then its columns carry PK, FK and UK markers', () => {
    const diagram = mermaidErDiagram(schema);
    expect(diagram).toContain('    integer id PK');
    expect(diagram).toContain('    integer parent_id PK, FK');
    expect(diagram).toContain('    integer parent_id FK, UK "nullable"');
    expect(diagram).toContain('    text code UK');
  });

  it('when the DBML is written, then refs use > for many-to-one and - for one-to-one, with composite columns', () => {
    const dbml = renderDbml(schema);
    expect(dbml).toContain('Ref profiles_parent_id_fkey: profiles.parent_id - parents.id [delete: no action, update: no action]');
    expect(dbml).toContain('Ref required_children_parent_id_fkey: required_children.parent_id > parents.id [delete: cascade, update: no action]');
    expect(dbml).toContain('composite_children.(code, region) > parents.(code, region)');
    expect(dbml).toContain('  id bigint [pk, not null, increment, note: \'generated always as identity\']');
    expect(dbml).toContain('(`lower(code)`) [name: \'composite_children_lower_idx\', type: btree');
    expect(dbml).toContain("partials_amount_positive: CHECK (amount > 0)");
  });

  it('when the Markdown is written, then each table lists its checks and index definitions', () => {
    const markdown = renderMarkdown(schema);
    expect(markdown).toContain('| `partials_amount_positive` | check | `CHECK (amount > 0)` |');
    expect(markdown).toMatch(/\| `partials_active_idx` \| `CREATE UNIQUE INDEX partials_active_idx ON probe\.partials USING btree \(parent_id\) WHERE active` \|/);
    expect(markdown).toContain('| `active` | `boolean` | not null | `true` |');
    expect(markdown).toContain('### parents');
  });
});
