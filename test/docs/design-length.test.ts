// The written explanation is a deliverable of one to two pages: 700 to 1,300 words, counted as `wc -w` counts
// them (whitespace-separated, Markdown included), so a reviewer's count and this one agree.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DESIGN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/design.md');

describe('docs/design.md length', () => {
  it('when the design is counted like wc -w, then it holds 700 to 1,300 words', () => {
    const words = readFileSync(DESIGN, 'utf8').split(/\s+/).filter(Boolean).length;
    expect(words).toBeGreaterThanOrEqual(700);
    expect(words).toBeLessThanOrEqual(1300);
  });
});
