// What a Markdown document points at: relative links (with their #anchors), the headings it offers as anchors,
// and the repository paths it names in inline code. Only what a reader would follow: fenced code blocks and
// inline code are not links, and external URLs are someone else's business.

export interface LinkReference {
  line: number;
  /** The path part, URL-decoded; '' for a same-document `#anchor`. */
  path: string;
  anchor: string | null;
  raw: string;
}

export interface CodePathReference {
  line: number;
  /** The path as written, without a `:line` or `#L…` suffix. */
  path: string;
  /**
   * What must exist: the path itself, or, for a pattern (`src/modules/<name>/`, `src/db/migrations/*.sql`), the
   * directory in front of the first placeholder.
   */
  mustExist: string;
}

const CODE_PATH_ROOTS = /^(src|test|tools|bench|docs)\//;
const PLACEHOLDER = /[<*{[…$]|\.\.\./;

/** Lines outside fenced code blocks, with their 1-based numbers. */
export function proseLines(markdown: string): Array<{ line: number; text: string }> {
  const result: Array<{ line: number; text: string }> = [];
  let fence: { char: string; length: number } | null = null;
  markdown.split('\n').forEach((text, index) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(text);
    if (fence) {
      if (marker && marker[1]![0] === fence.char && marker[1]!.length >= fence.length && /^ {0,3}[`~]+\s*$/.test(text)) fence = null;
      return;
    }
    if (marker) {
      fence = { char: marker[1]![0]!, length: marker[1]!.length };
      return;
    }
    result.push({ line: index + 1, text });
  });
  return result;
}

function codeSpans(text: string): string[] {
  return [...text.matchAll(/(`+)(?!`)([\s\S]*?[^`])\1(?!`)/g)].map((m) => m[2]!.trim());
}

function withoutCodeSpans(text: string): string {
  return text.replace(/(`+)(?!`)([\s\S]*?[^`])\1(?!`)/g, '');
}

function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');
}

function toReference(line: number, raw: string): LinkReference | null {
  if (isExternal(raw)) return null;
  const hash = raw.indexOf('#');
  const rawPath = hash === -1 ? raw : raw.slice(0, hash);
  const anchor = hash === -1 ? null : raw.slice(hash + 1);
  let path = rawPath.replace(/\?.*$/, '');
  try {
    path = decodeURI(path);
  } catch {
    // A malformed escape stays as written; the existence check will report it.
  }
  return { line, path, anchor: anchor === null ? null : decodeURIComponentSafe(anchor), raw };
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function linkReferences(markdown: string): LinkReference[] {
  const references: LinkReference[] = [];
  for (const { line, text } of proseLines(markdown)) {
    const prose = withoutCodeSpans(text);
    const targets: string[] = [];
    // [text](target "title") and ![alt](target); the text may hold one level of brackets.
    for (const m of prose.matchAll(/!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g)) {
      targets.push(m[1]!.replace(/^<|>$/g, ''));
    }
    // [label]: target (reference definitions)
    const definition = /^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(prose);
    if (definition) targets.push(definition[1]!.replace(/^<|>$/g, ''));
    // Inline HTML: <a href="…">, <img src="…">
    for (const m of prose.matchAll(/<(?:a|img)\s[^>]*?(?:href|src)\s*=\s*"([^"]*)"/gi)) targets.push(m[1]!);
    for (const target of targets) {
      const reference = toReference(line, target);
      if (reference) references.push(reference);
    }
  }
  return references;
}

export function codePathReferences(markdown: string): CodePathReference[] {
  const references: CodePathReference[] = [];
  for (const { line, text } of proseLines(markdown)) {
    for (const span of codeSpans(text)) {
      const first = span.split(/\s+/)[0]!;
      if (!CODE_PATH_ROOTS.test(first)) continue;
      const path = first.replace(/#L?\d.*$/, '').replace(/:\d+(-\d+)?$/, '').replace(/[.,;:)]+$/, '');
      const placeholder = PLACEHOLDER.exec(path);
      const mustExist = placeholder ? path.slice(0, path.lastIndexOf('/', placeholder.index) + 1) : path;
      references.push({ line, path, mustExist });
    }
  }
  return references;
}

export interface FileNameReference {
  line: number;
  /** A file named by its name or a tail of its path (`cache.ts`, `shopify/sync.ts`), as written. */
  name: string;
}

const FILE_NAME = /^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*\.(?:ts|mjs|js|sql|md|json|svg|dbml)$/;

/**
 * Files a document names without their directory (`cache.ts`, `shopify/sync.ts`): each should be some file in the
 * repository whose path ends with that name. Paths under a code root are `codePathReferences`' business; names with
 * placeholders (`handlers/<type>.ts`) are patterns, not files.
 */
export function fileNameReferences(markdown: string): FileNameReference[] {
  const references: FileNameReference[] = [];
  for (const { line, text } of proseLines(markdown)) {
    for (const span of codeSpans(text)) {
      const first = span.split(/\s+/)[0]!.replace(/#L?\d.*$/, '').replace(/:\d+(-\d+)?$/, '').replace(/[,;:)]+$/, '');
      if (CODE_PATH_ROOTS.test(first) || PLACEHOLDER.test(first) || !FILE_NAME.test(first)) continue;
      references.push({ line, name: first });
    }
  }
  return references;
}

/** GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, repeats numbered -1, -2, … */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text } of proseLines(markdown)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(text);
    if (heading) {
      const base = heading[1]!
        .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
        .replace(/<[^>]*>/g, '')
        .toLowerCase()
        .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
        .replace(/ /g, '-');
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    // Explicit anchors: <a name="x"></a>, <span id="x">
    for (const m of text.matchAll(/<[a-z]+\s[^>]*?(?:name|id)\s*=\s*"([^"]+)"/gi)) anchors.add(m[1]!);
  }
  return anchors;
}
