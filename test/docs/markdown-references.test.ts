// The link checker's parsing, on documents made up to hold each case: a checker that finds nothing proves
// nothing, so these show what it does find and what it rightly ignores.
import { describe, expect, it } from 'vitest';
import { codePathReferences, fileNameReferences, headingAnchors, linkReferences } from './markdown-references.js';

describe('markdown references', () => {
  it('when a document has inline, image, reference and HTML links, then each relative target is found with its anchor', () => {
    const markdown = [
      'See [the guide](development.md#tests "title") and ![diagram](diagrams/a%20b.svg).',
      'Jump [up](#top), read [the code](../src/app.ts), or [the web](https://example.com/x.md).',
      '[ref]: ./answers.md#caching',
      '<img src="schema.svg"> and <a href="mailto:x@example.com">mail</a>',
    ].join('\n');
    expect(linkReferences(markdown).map((r) => [r.line, r.path, r.anchor])).toEqual([
      [1, 'development.md', 'tests'],
      [1, 'diagrams/a b.svg', null],
      [2, '', 'top'],
      [2, '../src/app.ts', null],
      [3, './answers.md', 'caching'],
      [4, 'schema.svg', null],
    ]);
  });

  it('when links sit in fenced code or inline code, then they are not links', () => {
    const markdown = ['```md', '[inside](nowhere.md)', '```', 'Write `[text](nowhere.md)` for a link.', '~~~', '[x](y.md)', '~~~'].join('\n');
    expect(linkReferences(markdown)).toEqual([]);
  });

  it('when inline code names repository paths, then they are found, with patterns reduced to their directory', () => {
    const markdown = [
      'Run `npm test`; the harness is `test/support/database.ts` and `src/app.ts:42`.',
      'Modules live in `src/modules/<name>/`; migrations are `src/db/migrations/00NN_*.sql`.',
      'Not paths: `srcs/x.ts`, `GET /store/items`, `tools`.',
      '```',
      'src/not-checked-in-a-fence.ts',
      '```',
    ].join('\n');
    expect(codePathReferences(markdown).map((r) => [r.line, r.path, r.mustExist])).toEqual([
      [1, 'test/support/database.ts', 'test/support/database.ts'],
      [1, 'src/app.ts', 'src/app.ts'],
      [2, 'src/modules/<name>/', 'src/modules/'],
      [2, 'src/db/migrations/00NN_*.sql', 'src/db/migrations/'],
    ]);
  });

  it('when inline code names files without their directory, then those names are found and patterns are not', () => {
    const markdown = [
      'The cache is `cache.ts` (`platform/cache.ts:12`); the sync `shopify/sync.ts`, the body `{"a": 1}`.',
      'Rooted `src/app.ts` is a code path; `handlers/<type>.ts` a pattern; `GET /openapi.json` and `npm test` no file.',
      '```',
      'fenced.ts',
      '```',
    ].join('\n');
    expect(fileNameReferences(markdown).map((r) => [r.line, r.name])).toEqual([
      [1, 'cache.ts'],
      [1, 'platform/cache.ts'],
      [1, 'shopify/sync.ts'],
    ]);
  });

  it('when headings repeat or hold punctuation and code, then the anchors match what code hosts generate', () => {
    const markdown = [
      '# BattleBucks Store',
      '## 2. Where would you use background jobs / queues?',
      '## `GET /store/items` — pagination',
      '## Notes',
      '## Notes',
      '### snake_case_table',
      '```',
      '# not a heading',
      '```',
      '<a name="custom-anchor"></a>',
    ].join('\n');
    expect([...headingAnchors(markdown)]).toEqual([
      'battlebucks-store',
      '2-where-would-you-use-background-jobs--queues',
      'get-storeitems--pagination',
      'notes',
      'notes-1',
      'snake_case_table',
      'custom-anchor',
    ]);
  });
});
