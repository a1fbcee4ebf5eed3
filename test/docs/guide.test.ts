// The docs are checked like code. Markers in README.md and docs/*.md are HTML comments on the
// line right before a ```ts fence (GitHub does not show them):
//
//   <!-- runnable -->                   the block is a complete program. It is written, verbatim,
//                                       into docs/examples/ as .runnable-<page>-<line>.ts (ignored
//                                       by git), so it imports the actor modules there as
//                                       './name.js' and troupe by its package name (which resolves
//                                       through package.json "exports" to dist/: `npm test` builds
//                                       first); type-checked against the built types, then
//                                       run with `node --import tsx`: it must exit 0 in time. A block
//                                       that checks what it shows does so with node:assert.
//   <!-- file: docs/examples/x.ts -->   the block shows the whole of that file, exactly.
//   <!-- excerpt: docs/examples/x.ts --> the block is a part of that file, exactly.
//
// Besides: every relative link in README.md and docs/*.md reaches a file (and a heading, for an
// anchor); every rule id cited in the docs or in a test's name is defined in docs/guarantees.md,
// and each test file that page names for a rule mentions that rule; and the file map of
// docs/design.md names every file under src/, and no other.

import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES = join(ROOT, 'docs/examples');
const RUN_LIMIT_MS = 15_000;
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const RULE_ID = /\b[ABDEGKLMNOPRSVWXZ][1-9]\b/g;

interface Block {
  readonly page: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly marker: string | null;
  readonly lang: string;
  readonly code: string;
}

function read(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

/** Every fenced block of a page, with the marker comment on the line before it, if any. */
function blocks(page: string): Block[] {
  const lines = read(page).split('\n');
  const found: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)/.exec(lines[i]!);
    if (open === null) continue;
    const end = lines.indexOf('```', i + 1);
    if (end < 0) throw new Error(`${page}:${i + 1}: a code fence that is never closed`);
    const marker = /^<!-- (.+) -->$/.exec(lines[i - 1] ?? '')?.[1] ?? null;
    found.push({ page, line: i + 1, marker, lang: open[1]!, code: `${lines.slice(i + 1, end).join('\n')}\n` });
    i = end;
  }
  return found;
}

/** A page without its fenced blocks (links and rule ids inside code are not prose). */
function prose(page: string): string {
  return read(page).replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
}

const all = PAGES.flatMap(blocks);
const runnable = all.filter((b) => b.marker === 'runnable');
const shown = all.filter((b) => b.marker?.startsWith('file: '));
const excerpts = all.filter((b) => b.marker?.startsWith('excerpt: '));
const fileOf = (b: Block) => join(EXAMPLES, `.runnable-${b.page.replace(/\W+/g, '-')}-${b.line}.ts`);

function exec(file: string, args: string[], timeout: number): Promise<{ code: number | null; output: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'));
  return new Promise((done) => {
    execFile(file, args, { cwd: ROOT, env, timeout, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      done({ code, output: `${stdout}${stderr}${error?.killed === true ? `\n(killed after ${timeout} ms)` : ''}` });
    });
  });
}

describe('runnable blocks', () => {
  beforeAll(() => {
    for (const b of runnable) writeFileSync(fileOf(b), b.code);
  });
  afterAll(() => {
    for (const b of runnable) rmSync(fileOf(b), { force: true });
    rmSync(join(EXAMPLES, '.tsconfig.runnable.json'), { force: true });
  });

  it('every marker sits on a ts block and names something known', () => {
    for (const b of all.filter((x) => x.marker !== null && !x.marker.startsWith('bench:'))) {
      expect(/^(runnable|file: \S+|excerpt: \S+)$/.test(b.marker!), `${b.page}:${b.line}: marker ${b.marker}`).toBe(true);
      expect(b.lang, `${b.page}:${b.line}`).toBe('ts');
    }
    for (const page of PAGES) {
      const lines = read(page).split('\n');
      lines.forEach((l, i) => {
        if (/^<!-- (runnable|file: |excerpt: )/.test(l)) expect(lines[i + 1]?.startsWith('```ts'), `${page}:${i + 1}: a marker not followed by a ts fence`).toBe(true);
      });
    }
    expect(runnable.length).toBeGreaterThan(5);
  });

  it.each(shown.map((b) => [`${b.page}:${b.line}`, b] as const))('%s shows its file exactly', (_where, b) => {
    const path = b.marker!.slice('file: '.length);
    expect(b.code).toBe(read(path));
  });

  it.each(excerpts.map((b) => [`${b.page}:${b.line}`, b] as const))('%s is an exact part of its file', (_where, b) => {
    expect(read(b.marker!.slice('excerpt: '.length))).toContain(b.code);
  });

  it('type-check, with the actor modules they import', async () => {
    const files = [...readdirSync(EXAMPLES).filter((f) => f.endsWith('.ts') && !f.startsWith('.')).map((f) => join(EXAMPLES, f)), ...runnable.map(fileOf)];
    const config = join(EXAMPLES, '.tsconfig.runnable.json');
    // The project's strict settings, with troupe resolved as a user resolves it: its built types.
    const compilerOptions = { noEmit: true, rootDir: '../..', declaration: false, allowImportingTsExtensions: true };
    writeFileSync(config, JSON.stringify({ extends: '../../tsconfig.json', compilerOptions, files, include: [] }));
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const { code, output } = await exec(process.execPath, [tsc, '-p', config], 60_000);
    expect(output.replaceAll(`${EXAMPLES}/`, 'docs/examples/'), 'tsc').toBe('');
    expect(code).toBe(0);
  }, 70_000);

  it.each(runnable.map((b) => [`${b.page}:${b.line}`, b] as const))('%s runs and exits 0', async (_where, b) => {
    expect(existsSync(join(ROOT, 'dist/index.js')), 'dist/ is built (npm test builds first)').toBe(true);
    const { code, output } = await exec(process.execPath, ['--import', 'tsx', fileOf(b)], RUN_LIMIT_MS);
    expect(code, output).toBe(0);
  }, RUN_LIMIT_MS + 5000);
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchors(page: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(page).matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const base = m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe('links', () => {
  it.each(PAGES)('every relative link in %s reaches a file, and a heading for an anchor', (page) => {
    const text = prose(page).replace(/`[^`\n]*`/g, '');
    const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) {
      const [path, anchor] = link.split('#') as [string, string | undefined];
      const target = path === '' ? page : relative(ROOT, resolve(ROOT, dirname(page), decodeURI(path)));
      expect(existsSync(join(ROOT, target)), `${page}: ${link}`).toBe(true);
      if (anchor !== undefined && target.endsWith('.md')) expect([...anchors(target)], `${page}: ${link}`).toContain(anchor);
    }
  });
});

describe('rule ids', () => {
  const guarantees = read('docs/guarantees.md');
  /** Rule id -> its entry: a list item `- **ID** …` and the indented lines that follow it. */
  const entries = new Map<string, string>();
  let current: string | null = null;
  for (const line of guarantees.split('\n')) {
    const id = /^- \*\*([A-Z][1-9])\*\* /.exec(line)?.[1];
    if (id !== undefined) {
      if (entries.has(id)) throw new Error(`docs/guarantees.md defines ${id} twice`);
      entries.set(id, line);
      current = id;
    } else if (current !== null && line.startsWith('  ')) {
      entries.set(current, `${entries.get(current)!}\n${line}`);
    } else {
      current = null;
    }
  }

  it('each cited in the docs is defined in docs/guarantees.md', () => {
    for (const page of PAGES) {
      for (const id of new Set(prose(page).match(RULE_ID) ?? [])) expect(entries.has(id), `${page} cites ${id}`).toBe(true);
    }
  });

  it("each cited in a test's name is defined in docs/guarantees.md", () => {
    const testFiles = (readdirSync(join(ROOT, 'test'), { recursive: true }) as string[]).filter((f) => f.endsWith('.test.ts'));
    let cited = 0;
    for (const file of testFiles) {
      const source = readFileSync(join(ROOT, 'test', file), 'utf8');
      for (const m of source.matchAll(/(?:\bit|\bdescribe|\]\))\(\s*(['"`])((?:(?!\1).)*)\1/g)) {
        for (const id of m[2]!.match(RULE_ID) ?? []) {
          cited++;
          expect(entries.has(id), `${file}: "${m[2]}" cites ${id}`).toBe(true);
        }
      }
    }
    expect(cited).toBeGreaterThan(50);
  });

  it('each rule names a test that mentions it', () => {
    expect(entries.size).toBeGreaterThan(50);
    for (const [id, text] of entries) {
      const tests = [...text.matchAll(/\]\((\.\.\/test\/[^)]+)\)/g)].map((m) => m[1]!);
      expect(tests.length, `${id} names no test`).toBeGreaterThan(0);
      for (const t of tests) expect(read(join('docs', t)), `${t} does not mention ${id}`).toMatch(new RegExp(`\\b${id}\\b`));
    }
  });
});

describe('the file map in docs/design.md', () => {
  it('names every source file under src/, and only those', () => {
    const map = read('docs/design.md').split('\n## File map')[1] ?? '';
    const named = new Set<string>();
    let folder = '';
    for (const line of map.split('\n')) {
      const heading = /^\*\*`(src\/[^`]*)`/.exec(line);
      if (heading !== null) folder = heading[1]!;
      else if (line.startsWith('| `')) for (const m of line.split(' | ')[0]!.matchAll(/`([^`]+\.ts)`/g)) named.add(`${folder}${m[1]}`);
    }
    const actual = (readdirSync(join(ROOT, 'src'), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => `src/${f}`);
    expect([...named].sort(), 'update the file map in docs/design.md').toEqual(actual.sort());
  });
});
