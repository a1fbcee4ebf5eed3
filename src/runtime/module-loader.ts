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

/**
 * Modules loading or loaded, by URL: a burst of spawn records for actors of a module this thread
 * has not loaded yet waits on one import, not one each (each goes through the loader's hooks).
 */
const loads = new Map<string, Promise<unknown>>();

export function loadModule(url: string): Promise<unknown> {
  let load = loads.get(url);
  if (load === undefined) {
    load = (async () => {
      if (/\.(c|m)?tsx?($|\?)/.test(url)) await enableTypeScript();
      return importing(url, () => import(url));
    })();
    loads.set(url, load);
  }
  return load;
}
