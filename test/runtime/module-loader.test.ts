import { describe, expect, it } from 'vitest';
import { loadModule } from '../../src/runtime/module-loader.js';

describe('loading actor modules on a thread', () => {
  it('imports a module once however many spawns wait for it: one promise per URL', async () => {
    const url = new URL('../fixtures/actors.ts', import.meta.url).href;
    const first = loadModule(url);
    expect(loadModule(url)).toBe(first);
    const mod = (await first) as Record<string, unknown>;
    expect(typeof mod.Recorder).toBe('object');
    expect(loadModule(url)).toBe(first);
  });
});
