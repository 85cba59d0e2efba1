// Reads the application's schema (`public`, without the migration bookkeeping) from the PostgreSQL catalog into
// a plain model that the Markdown and DBML renderers share. Everything is sorted here, so both outputs are
// byte-for-byte stable for the same migrations.
import type { Executor } from '../../src/platform/db.js';

/** Tables the diagram leaves out: bookkeeping, not part of the data model. */
export const EXCLUDED_TABLES: ReadonlySet<string> = new Set(['schema_migrations']);

export interface Column {
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
  /** 'always' / 'by default' for identity columns; an identity has no pg_attrdef default. */
  identity: 'always' | 'by default' | null;
  generated: string | null;
  comment: string | null;
}

export type ConstraintKind = 'primary key' | 'unique' | 'foreign key' | 'check' | 'exclusion';

export interface Constraint {
  name: string;
  kind: ConstraintKind;
  columns: string[];
  definition: string;
}

export interface ForeignKey {
  name: string;
  table: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  onDelete: ReferentialAction;
  onUpdate: ReferentialAction;
}

export type ReferentialAction = 'no action' | 'restrict' | 'cascade' | 'set null' | 'set default';

export interface Index {
  name: string;
  unique: boolean;
  primary: boolean;
  partial: boolean;
  method: string;
  /** Key columns or expressions, in index order. */
  keys: string[];
  definition: string;
  /** The constraint this index enforces, if any (so renderers need not list it twice). */
  constraint: string | null;
}

export interface Table {
  name: string;
  comment: string | null;
  columns: Column[];
  constraints: Constraint[];
  indexes: Index[];
  foreignKeys: ForeignKey[];
}

export interface Schema {
  tables: Table[];
  /** Every foreign key of every table, sorted by (table, name). */
  foreignKeys: ForeignKey[];
}

const CONSTRAINT_KINDS: Record<string, ConstraintKind> = {
  p: 'primary key',
  u: 'unique',
  f: 'foreign key',
  c: 'check',
  x: 'exclusion',
};

const ACTIONS: Record<string, ReferentialAction> = {
  a: 'no action',
  r: 'restrict',
  c: 'cascade',
  n: 'set null',
  d: 'set default',
};

// Plain byte order, not the locale's: the output must not depend on the machine's collation.
const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export async function introspectSchema(db: Executor, schemaName = 'public'): Promise<Schema> {
  const tables = await db.query<{ oid: number; name: string; comment: string | null }>(
    `SELECT c.oid::int AS oid, c.relname AS name, obj_description(c.oid, 'pg_class') AS comment
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition`,
    [schemaName],
  );
  const columns = await db.query<{
    table_oid: number;
    name: string;
    type: string;
    not_null: boolean;
    default: string | null;
    identity: string;
    generated: string;
    comment: string | null;
  }>(
    `SELECT a.attrelid::int AS table_oid, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default,
            a.attidentity::text AS identity, a.attgenerated::text AS generated,
            col_description(a.attrelid, a.attnum) AS comment
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [schemaName],
  );
  const constraints = await db.query<{
    table_oid: number;
    name: string;
    type: string;
    columns: string[] | null;
    definition: string;
    ref_table: string | null;
    ref_columns: string[] | null;
    on_delete: string;
    on_update: string;
  }>(
    `SELECT con.conrelid::int AS table_oid, con.conname AS name, con.contype::text AS type,
            (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS columns,
            pg_get_constraintdef(con.oid, true) AS definition,
            ref.relname AS ref_table,
            (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum) AS ref_columns,
            con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update
       FROM pg_constraint con
       JOIN pg_class c ON c.oid = con.conrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_class ref ON ref.oid = con.confrelid
      WHERE n.nspname = $1 AND con.contype IN ('p', 'u', 'f', 'c', 'x')`,
    [schemaName],
  );
  const indexes = await db.query<{
    table_oid: number;
    name: string;
    unique: boolean;
    primary: boolean;
    partial: boolean;
    method: string;
    keys: string[];
    definition: string;
    constraint: string | null;
  }>(
    `SELECT i.indrelid::int AS table_oid, ic.relname AS name, i.indisunique AS unique, i.indisprimary AS primary,
            i.indpred IS NOT NULL AS partial, am.amname AS method,
            (SELECT array_agg(CASE WHEN k.attnum > 0 THEN a.attname::text
                                   ELSE pg_get_indexdef(i.indexrelid, k.ord::int, true) END ORDER BY k.ord)
               FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
               LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE k.ord <= i.indnkeyatts) AS keys,
            pg_get_indexdef(i.indexrelid, 0, true) AS definition,
            (SELECT con.conname FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                AND con.contype IN ('p', 'u', 'x') LIMIT 1) AS constraint
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_am am ON am.oid = ic.relam
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`,
    [schemaName],
  );

  const result: Table[] = [];
  for (const table of tables.rows) {
    if (EXCLUDED_TABLES.has(table.name)) continue;
    const own = <R extends { table_oid: number }>(rows: R[]) => rows.filter((row) => row.table_oid === table.oid);
    const tableConstraints = own(constraints.rows);
    result.push({
      name: table.name,
      comment: table.comment,
      // Column order stays the table's own (attnum): it is deterministic and reads like the migration.
      columns: own(columns.rows).map((c) => ({
        name: c.name,
        type: c.type,
        nullable: !c.not_null,
        // For a generated column pg_attrdef holds the generation expression, not a default.
        default: c.generated === 's' ? null : c.default,
        identity: c.identity === 'a' ? 'always' : c.identity === 'd' ? 'by default' : null,
        generated: c.generated === 's' ? c.default : null,
        comment: c.comment,
      })),
      constraints: tableConstraints
        .map((c) => ({ name: c.name, kind: CONSTRAINT_KINDS[c.type]!, columns: c.columns ?? [], definition: c.definition }))
        .sort(byName),
      indexes: own(indexes.rows)
        .map((i) => ({
          name: i.name,
          unique: i.unique,
          primary: i.primary,
          partial: i.partial,
          method: i.method,
          keys: i.keys,
          definition: i.definition,
          constraint: i.constraint,
        }))
        .sort(byName),
      foreignKeys: tableConstraints
        .filter((c) => c.type === 'f')
        .map((c) => ({
          name: c.name,
          table: table.name,
          columns: c.columns ?? [],
          refTable: c.ref_table!,
          refColumns: c.ref_columns ?? [],
          onDelete: ACTIONS[c.on_delete]!,
          onUpdate: ACTIONS[c.on_update]!,
        }))
        .sort(byName),
    });
  }
  result.sort(byName);
  return { tables: result, foreignKeys: result.flatMap((t) => t.foreignKeys) };
}

/**
 * Columns whose values are unique on their own or as a set: the primary key, unique constraints and full
 * (non-partial, non-expression) unique indexes. A partial unique index guarantees nothing outside its predicate.
 */
export function uniqueKeys(table: Table): string[][] {
  const columnNames = new Set(table.columns.map((c) => c.name));
  return table.indexes
    .filter((i) => i.unique && !i.partial && i.keys.every((k) => columnNames.has(k)))
    .map((i) => i.keys);
}

/** True when the FK columns contain a unique key, so each parent row has at most one child: one-to-one. */
export function isOneToOne(table: Table, fk: ForeignKey): boolean {
  return uniqueKeys(table).some((key) => key.every((column) => fk.columns.includes(column)));
}

/** True when some FK column may be NULL: under MATCH SIMPLE such a child row references no parent at all. */
export function isOptional(table: Table, fk: ForeignKey): boolean {
  return fk.columns.some((name) => table.columns.find((c) => c.name === name)?.nullable ?? true);
}

export function tableByName(schema: Schema, name: string): Table {
  const table = schema.tables.find((t) => t.name === name);
  if (!table) throw new Error(`table ${name} is not in the introspected schema`);
  return table;
}
