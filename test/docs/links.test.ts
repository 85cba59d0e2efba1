// The documentation's links and the code paths it names must lead somewhere: a renamed file or heading breaks
// this test, not a reader's trust.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { codePathReferences, fileNameReferences, headingAnchors, linkReferences } from './markdown-references.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function markdownFilesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return markdownFilesUnder(full);
    return entry.name.endsWith('.md') ? [full] : [];
  });
}

const DOCUMENTS = ['README.md', ...markdownFilesUnder(path.join(ROOT, 'docs')).map((file) => path.relative(ROOT, file))]
  .filter((file) => existsSync(path.join(ROOT, file)))
  .sort();

const anchorCache = new Map<string, Set<string>>();
function anchorsOf(file: string): Set<string> {
  let anchors = anchorCache.get(file);
  if (!anchors) {
    anchors = headingAnchors(readFileSync(file, 'utf8'));
    anchorCache.set(file, anchors);
  }
  return anchors;
}

// The team's contract and style guide live beside the repository, not in it; the documents name them as such.
const OUTSIDE_REPOSITORY = new Set(['API.md', 'STYLE.md']);

function repositoryFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name === '.git') return [];
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? repositoryFiles(path.join(dir, entry.name), relative) : [relative];
  });
}

let filesCache: string[] | undefined;
function namesAFile(name: string): boolean {
  filesCache ??= repositoryFiles(ROOT);
  return OUTSIDE_REPOSITORY.has(name) || filesCache.some((file) => file === name || file.endsWith(`/${name}`));
}

/** Every broken link or code path of one document, as "file:line: what" lines. */
function brokenReferences(document: string): string[] {
  const file = path.join(ROOT, document);
  const markdown = readFileSync(file, 'utf8');
  const problems: string[] = [];

  for (const link of linkReferences(markdown)) {
    const where = `${document}:${link.line}: link (${link.raw})`;
    // A leading slash is the repository root on code hosts, not the file system's root.
    const target = link.path === '' ? file : link.path.startsWith('/') ? path.join(ROOT, link.path) : path.resolve(path.dirname(file), link.path);
    const inside = path.relative(ROOT, target);
    if (inside.startsWith('..') || path.isAbsolute(inside)) {
      problems.push(`${where} leaves the repository`);
      continue;
    }
    if (!existsSync(target)) {
      problems.push(`${where} points at ${inside}, which does not exist`);
      continue;
    }
    if (link.anchor && target.endsWith('.md') && statSync(target).isFile() && !anchorsOf(target).has(link.anchor.toLowerCase())) {
      problems.push(`${where}: ${inside} has no heading #${link.anchor}`);
    }
  }

  for (const reference of codePathReferences(markdown)) {
    if (!existsSync(path.join(ROOT, reference.mustExist))) {
      problems.push(`${document}:${reference.line}: code path \`${reference.path}\` does not exist`);
    }
  }
  for (const reference of fileNameReferences(markdown)) {
    if (!namesAFile(reference.name)) problems.push(`${document}:${reference.line}: file \`${reference.name}\` is no file of the repository`);
  }
  return problems;
}

describe('documentation links', () => {
  it('when the documents are listed, then README.md and docs/schema.md are among them', () => {
    expect(DOCUMENTS).toContain('README.md');
    expect(DOCUMENTS).toContain(path.join('docs', 'schema.md'));
  });

  it.each(DOCUMENTS)('when %s is read, then every relative link, #anchor, code path and file name in it resolves', (document) => {
    const problems = brokenReferences(document);
    expect(problems, `broken references:\n${problems.join('\n')}`).toEqual([]);
  });
});
