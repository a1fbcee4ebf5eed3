// troupe as a user gets it: `npm pack`, the tarball unpacked into a fresh app's node_modules (its
// dependencies linked from this checkout: no network), then a plain-JavaScript consumer run with
// node, and a TypeScript consumer compiled under a strict Node-only tsconfig and run. A consumer
// that sends a message its actor has no handler for does not compile, and the error names it.
// The tarball carries the LICENSE, and source maps that hold their sources, since src/ stays out.
// prom-client, an optional peer, is linked into the app only for the troupe/prometheus consumer:
// the others run without it.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
let app = '';
/** The paths in the tarball. */
let files: string[] = [];

const ACTORS_JS = `import { defineActor } from 'troupe';
export const Counter = defineActor(import.meta.url, 'Counter', {
  init: (start) => ({ n: start }),
  handlers: {
    add: (ctx, k) => void (ctx.state.n += k),
    get: (ctx) => ctx.state.n,
  },
});
`;

const MAIN_JS = `import { createSystem } from 'troupe';
import { Counter } from './actors.mjs';
const system = await createSystem({ threads: 1 });
const counter = system.spawn(Counter, 40, { placement: { thread: 1 } });
counter.tell('add', 2);
console.log('js', await counter.ask('get'));
await system.shutdown();
`;

const PROMETHEUS_JS = `import { createSystem } from 'troupe';
import { registerMetrics } from 'troupe/prometheus';
import { Registry } from 'prom-client';
import { Counter } from './actors.mjs';
const system = await createSystem({ threads: 1 });
const registry = new Registry();
const unregister = registerMetrics(system, { registry });
await system.spawn(Counter, 40, { placement: { thread: 1 } }).ask('get');
const line = (await registry.metrics()).split('\\n').find((l) => l.startsWith('troupe_actors{thread="1"}'));
unregister();
await system.shutdown();
console.log('prometheus', line);
`;

const ACTORS_TS = `import { defineActor } from 'troupe';
export const Counter = defineActor(import.meta.url, 'Counter', {
  init: (start: number) => ({ n: start }),
  handlers: {
    add: (ctx, k: number) => void (ctx.state.n += k),
    get: (ctx) => ctx.state.n,
  },
});
`;

const MAIN_TS = `import { createSystem } from 'troupe';
import { Counter } from './actors.js';
{
  await using system = await createSystem({ threads: 1 });
  const counter = system.spawn(Counter, 40, { placement: { thread: 1 } });
  counter.tell('add', 2);
  const n: unknown = await counter.ask('get');
  console.log('ts', n);
}
console.log('disposed');
`;

const WRONG_TS = `import { createSystem } from 'troupe';
import { Counter } from './actors.js';
const system = await createSystem({ threads: 1 });
system.spawn(Counter, 1).tell('ad', 2);
`;

const TSCONFIG = JSON.stringify({
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023', 'ESNext.Disposable'],
    types: ['node'],
    strict: true,
    skipLibCheck: false,
    rootDir: 'src',
    outDir: 'out',
  },
  include: ['src'],
});

function run(file: string): string {
  return execFileSync(process.execPath, [file], { cwd: app, encoding: 'utf8', timeout: 30_000 });
}

describe('the published package, installed from its tarball into a fresh app', () => {
  beforeAll(() => {
    app = mkdtempSync(join(tmpdir(), 'troupe-app-'));
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', app], { cwd: root, encoding: 'utf8' })) as { filename: string; files: { path: string }[] }[];
    files = packed[0]!.files.map((f) => f.path);
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/worker.js');
    expect(files).toContain('dist/prometheus/index.js');
    expect(files).toContain('dist/prometheus/index.d.ts');
    expect(files.filter((f) => !f.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(f))).toEqual([]);
    const modules = join(app, 'node_modules');
    mkdirSync(join(modules, 'troupe'), { recursive: true });
    execFileSync('tar', ['-xzf', join(app, packed[0]!.filename), '-C', join(modules, 'troupe'), '--strip-components=1']);
    const manifest = JSON.parse(readFileSync(join(modules, 'troupe', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const dep of Object.keys(manifest.dependencies)) symlinkSync(join(root, 'node_modules', dep), join(modules, dep), 'dir');
    mkdirSync(join(modules, '@types'));
    symlinkSync(join(root, 'node_modules', '@types', 'node'), join(modules, '@types', 'node'), 'dir');
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    writeFileSync(join(app, 'actors.mjs'), ACTORS_JS);
    writeFileSync(join(app, 'main.mjs'), MAIN_JS);
    writeFileSync(join(app, 'prometheus.mjs'), PROMETHEUS_JS);
    mkdirSync(join(app, 'src'));
    writeFileSync(join(app, 'src', 'actors.ts'), ACTORS_TS);
    writeFileSync(join(app, 'src', 'main.ts'), MAIN_TS);
    writeFileSync(join(app, 'tsconfig.json'), TSCONFIG);
  }, 120_000);

  afterAll(() => {
    if (app !== '') rmSync(app, { recursive: true, force: true });
  });

  it('ships the LICENSE, and source maps that carry their sources (src/ is not shipped)', () => {
    expect(files).toContain('LICENSE');
    const maps = files.filter((f) => f.endsWith('.map'));
    expect(maps).toContain('dist/index.js.map');
    expect(maps.filter((f) => !f.endsWith('.js.map'))).toEqual([]);
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(join(app, 'node_modules', 'troupe', map), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      expect(sourcesContent?.length, map).toBe(sources.length);
      for (const content of sourcesContent!) expect(content, map).toMatch(/\S/);
    }
  });

  it('runs a plain-JavaScript consumer with an actor on a worker thread', () => {
    expect(run('main.mjs')).toBe('js 42\n');
  });

  it('compiles a TypeScript consumer under a strict Node-only tsconfig, and it runs, disposing the system with await using', () => {
    const compiled = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8' });
    expect(compiled.stdout + compiled.stderr).toBe('');
    expect(compiled.status).toBe(0);
    expect(run('out/main.js')).toBe('ts 42\ndisposed\n');
  });

  it('refuses to compile a message the actor has no handler for, naming the ones it has', () => {
    writeFileSync(join(app, 'src', 'wrong.ts'), WRONG_TS);
    try {
      const compiled = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit'], { cwd: app, encoding: 'utf8' });
      expect(compiled.status).not.toBe(0);
      expect(compiled.stdout).toContain('src/wrong.ts(4,');
      expect(compiled.stdout).toMatch(/"ad"/);
      expect(compiled.stdout).toMatch(/"add"/);
    } finally {
      rmSync(join(app, 'src', 'wrong.ts'));
    }
  });

  it("registers its metrics in the app's prom-client through troupe/prometheus", () => {
    const linked = join(app, 'node_modules', 'prom-client');
    symlinkSync(join(root, 'node_modules', 'prom-client'), linked, 'dir');
    try {
      expect(run('prometheus.mjs')).toBe('prometheus troupe_actors{thread="1"} 1\n');
    } finally {
      rmSync(linked);
    }
  });
});
