// The Mermaid `erDiagram` of the schema: every table with its columns, every foreign key as a relationship whose
// crow's-foot ends come from the catalog (nullability of the FK columns, unique keys covering them).
import { isOneToOne, isOptional, tableByName, type ForeignKey, type Schema, type Table } from './introspect.js';

// Mermaid attribute types are one word of [A-Za-z0-9_()[\]-]: PostgreSQL's long type names are shortened.
const SHORT_TYPES: Array<[RegExp, string]> = [
  [/^timestamp with time zone/, 'timestamptz'],
  [/^timestamp without time zone/, 'timestamp'],
  [/^time with time zone/, 'timetz'],
  [/^time without time zone/, 'time'],
  [/^character varying/, 'varchar'],
  [/^double precision/, 'float8'],
  [/^bit varying/, 'varbit'],
];

export function mermaidType(type: string): string {
  let short = type;
  for (const [pattern, replacement] of SHORT_TYPES) short = short.replace(pattern, replacement);
  return short.replace(/,\s*/g, '_').replace(/[^A-Za-z0-9_()[\]-]/g, '_');
}

function keyMarkers(table: Table, column: string): string[] {
  const markers: string[] = [];
  const pk = table.constraints.find((c) => c.kind === 'primary key');
  if (pk?.columns.includes(column)) markers.push('PK');
  if (table.foreignKeys.some((fk) => fk.columns.includes(column))) markers.push('FK');
  const inUniqueKey = table.indexes.some((i) => i.unique && !i.primary && !i.partial && i.keys.includes(column));
  if (inUniqueKey) markers.push('UK');
  return markers;
}

/**
 * `parent A--B child : "columns"`. A is how many parents a child row has: `||` exactly one (FK columns NOT NULL)
 * or `|o` zero or one (a nullable FK column). B is how many children a parent row has: `o{` zero or more, or
 * `o|` zero or one when a unique key covers the FK columns. No constraint makes a parent need a child, so the
 * parent end never reads "one or more".
 */
export function relationshipEnds(child: Table, fk: ForeignKey): string {
  const parentEnd = isOptional(child, fk) ? '|o' : '||';
  const childEnd = isOneToOne(child, fk) ? 'o|' : 'o{';
  return `${parentEnd}--${childEnd}`;
}

export function relationship(schema: Schema, fk: ForeignKey): string {
  const ends = relationshipEnds(tableByName(schema, fk.table), fk);
  return `${fk.refTable} ${ends} ${fk.table} : "${fk.columns.join(', ')}"`;
}

export function mermaidErDiagram(schema: Schema): string {
  const lines = ['erDiagram'];
  for (const table of schema.tables) {
    lines.push(`  ${table.name} {`);
    for (const column of table.columns) {
      const markers = keyMarkers(table, column.name);
      const parts = [mermaidType(column.type), column.name];
      if (markers.length) parts.push(markers.join(', '));
      if (column.nullable) parts.push('"nullable"');
      lines.push(`    ${parts.join(' ')}`);
    }
    lines.push('  }');
  }
  for (const fk of schema.foreignKeys) lines.push(`  ${relationship(schema, fk)}`);
  return lines.join('\n');
}
