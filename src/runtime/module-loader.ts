// How a thread loads code by URL: the one place that decides it. Plain JavaScript is imported
// directly. A TypeScript URL turns on tsx's ESM loader first (Node 20 cannot strip types, and
// vitest does not transform what a Worker loads), once per thread.

import { importing } from './thread-role.js';

let typeScriptReady: Promise<void> | null = null;

function enableTypeScript(): Promise<void> {
  typeScriptReady ??= (async () => {
    const api = (await import('tsx/esm/api')) as { register: () => unknown };
    api.register();
  })();
  return typeScriptReady;
}

export async function loadModule(url: string): Promise<unknown> {
  if (/\.(c|m)?tsx?($|\?)/.test(url)) await enableTypeScript();
  return importing(url, () => import(url));
}
