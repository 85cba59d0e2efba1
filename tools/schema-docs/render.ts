// Renders the erDiagram of docs/schema.md to docs/schema.svg with Mermaid's CLI driving the system Chromium.
// Optional by design: CI machines may have no browser, so `npm test` never renders; it only checks that the
// committed image carries the hash of the diagram it was rendered from.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

// Pinned: the 11.x line still runs on Node 20 (12.x needs Node 22), and puppeteer 24 is the peer it supports.
export const MERMAID_CLI = '@mermaid-js/mermaid-cli@11.17.0';
export const PUPPETEER = 'puppeteer@24.43.1';

const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
const STAMP = /<!-- mermaid-source-sha256: ([0-9a-f]{64}) -->/;

export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  const configured = env.PUPPETEER_EXECUTABLE_PATH ?? env.CHROMIUM_PATH;
  if (configured) return existsSync(configured) ? configured : null;
  return CHROMIUM_CANDIDATES.find((candidate) => existsSync(candidate)) ?? null;
}

/** The erDiagram inside the generated Markdown: the image's single source. */
export function mermaidFromMarkdown(markdown: string): string {
  const match = /```mermaid\n([\s\S]*?)\n```/.exec(markdown);
  if (!match) throw new Error('no ```mermaid block in the schema Markdown');
  return match[1]!;
}

export function sourceHash(mermaid: string): string {
  return createHash('sha256').update(mermaid).digest('hex');
}

/** The hash an SVG was stamped with when rendered, or null for an unstamped (hand-made or foreign) image. */
export function stampedHash(svg: string): string | null {
  return STAMP.exec(svg)?.[1] ?? null;
}

export function puppeteerConfig(chromium: string): { executablePath: string; args: string[] } {
  return { executablePath: chromium, args: ['--no-sandbox', '--headless', '--disable-gpu'] };
}

/** The exact command, for the docs and the log. */
export function renderCommand(input: string, output: string, puppeteerConfig: string): string[] {
  return ['npx', '-y', '-p', PUPPETEER, '-p', MERMAID_CLI, 'mmdc', '-i', input, '-o', output, '-p', puppeteerConfig, '-b', 'white'];
}

export async function renderSvg(mermaid: string, outputFile: string, chromium: string): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bb-schema-render-'));
  try {
    const input = path.join(dir, 'schema.mmd');
    const config = path.join(dir, 'puppeteer.json');
    const rendered = path.join(dir, 'schema.svg');
    await writeFile(input, `${mermaid}\n`);
    await writeFile(config, JSON.stringify(puppeteerConfig(chromium)));
    const [command, ...args] = renderCommand(input, rendered, config);
    // The system Chromium is used, so puppeteer must not try to download its own browser.
    await promisify(execFile)(command!, args, {
      env: { ...process.env, PUPPETEER_SKIP_DOWNLOAD: '1', PUPPETEER_EXECUTABLE_PATH: chromium },
      timeout: 10 * 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const svg = await readFile(rendered, 'utf8');
    await writeFile(outputFile, `<!-- mermaid-source-sha256: ${sourceHash(mermaid)} -->\n${svg.trimEnd()}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
