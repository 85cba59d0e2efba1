// The generator's pure core: a migrated database in, the documents' text out. The CLI and the drift test both
// call this, so what the test compares is exactly what `npm run docs:schema` writes.
import type { Executor } from '../../src/platform/db.js';
import { introspectSchema, type Schema } from './introspect.js';
import { renderMarkdown } from './markdown.js';
import { renderDbml } from './dbml.js';
import { mermaidErDiagram } from './mermaid.js';

export interface SchemaDocs {
  schema: Schema;
  markdown: string;
  dbml: string;
  /** The erDiagram alone (also embedded in the Markdown): the image is rendered from it. */
  mermaid: string;
}

export async function generateSchemaDocs(db: Executor): Promise<SchemaDocs> {
  const schema = await introspectSchema(db);
  return { schema, markdown: renderMarkdown(schema), dbml: renderDbml(schema), mermaid: mermaidErDiagram(schema) };
}
