// `npm run docs:schema`: migrate a scratch database, write docs/schema.md and docs/schema.dbml from its catalog,
// then render docs/schema.svg when a Chromium is installed (skipped with a warning otherwise).
// `npm run docs:schema:render` (--render-only): re-render the image from the committed docs/schema.md.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { generateSchemaDocs } from './generate.js';
import { SCHEMA_DBML, SCHEMA_MD, SCHEMA_SVG } from './markdown.js';
import { findChromium, mermaidFromMarkdown, renderSvg, sourceHash, stampedHash } from './render.js';
import { withScratchDatabase } from './scratch-database.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const inRoot = (file: string) => path.join(ROOT, file);

async function render(markdown: string, required: boolean): Promise<void> {
  const mermaid = mermaidFromMarkdown(markdown);
  const current = await readFile(inRoot(SCHEMA_SVG), 'utf8').catch(() => '');
  if (stampedHash(current) === sourceHash(mermaid)) {
    console.log(`${SCHEMA_SVG} is already rendered from this diagram`);
    return;
  }
  const chromium = findChromium();
  if (!chromium) {
    const message = `no Chromium found (set PUPPETEER_EXECUTABLE_PATH, or apt-get install -y chromium): ${SCHEMA_SVG} is stale and the drift test will say so`;
    if (required) throw new Error(message);
    console.warn(`warning: ${message}`);
    return;
  }
  console.log(`rendering ${SCHEMA_SVG} with ${chromium} (the first run downloads Mermaid's CLI through npx)…`);
  await renderSvg(mermaid, inRoot(SCHEMA_SVG), chromium);
  console.log(`wrote ${SCHEMA_SVG}`);
}

async function main(): Promise<void> {
  const renderOnly = process.argv.includes('--render-only');
  const skipRender = process.argv.includes('--no-render');
  if (renderOnly) {
    await render(await readFile(inRoot(SCHEMA_MD), 'utf8'), true);
    return;
  }
  const docs = await withScratchDatabase(async (db, info) => {
    console.log(`migrated a scratch database on ${info.where}`);
    if (info.engine === 'pglite') {
      console.warn('warning: generated on PGlite, which lacks some extensions (pg_trgm) and may print expressions differently; the drift test compares against a PostgreSQL server, so regenerate with one before committing');
    }
    return generateSchemaDocs(db);
  });
  await writeFile(inRoot(SCHEMA_MD), docs.markdown);
  await writeFile(inRoot(SCHEMA_DBML), docs.dbml);
  console.log(`wrote ${SCHEMA_MD} and ${SCHEMA_DBML}: ${docs.schema.tables.length} tables, ${docs.schema.foreignKeys.length} foreign keys`);
  if (!skipRender) await render(docs.markdown, false);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
