// CPU-heavy stateless work that an actor hands off (ctx.offload), run on a small piscina pool so
// that one long computation does not stall every actor on the thread. One pool per thread that
// offloads, created on first use; its threads exit when idle, so a thread that never offloads
// pays nothing.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Piscina } from 'piscina';
import { OffloadError } from '../errors.js';
import { invalid } from '../validate.js';

function taskFileUrl(): string {
  const here = import.meta.url;
  // Same rule as the actor workers (thread-pool.ts): always the built JavaScript entry.
  const url = here.endsWith('.ts') ? new URL('../../dist/offload-task.js', here) : new URL('../offload-task.js', here);
  if (!existsSync(fileURLToPath(url))) throw new Error(`offload entry ${fileURLToPath(url)} is missing: run \`npm run build\` first`);
  return url.href;
}

export class OffloadPool {
  readonly #threads: number;
  /** piscina is imported on first use: a thread that never offloads does not load it (faster thread start). */
  #pool: Promise<Piscina> | null = null;

  constructor(threads: number) {
    this.#threads = threads;
  }

  /**
   * Runs export `name` of the task module at `url` on the pool. A bad URL is an
   * InvalidArgumentError; anything that goes wrong in the task is an OffloadError.
   */
  async run(url: string, name: string, input: unknown): Promise<unknown> {
    if (typeof url !== 'string' || !/^(file|data):/.test(url)) throw invalid('offload(taskModuleUrl)', 'a file: URL', url);
    try {
      return await this.#run(url, name, input);
    } catch (error) {
      throw new OffloadError(`offloaded task ${name} of ${url} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async #run(url: string, name: string, input: unknown): Promise<unknown> {
    this.#pool ??= import('piscina').then(
      ({ Piscina }) =>
        new Piscina({
          filename: taskFileUrl(),
          minThreads: 0,
          maxThreads: this.#threads,
          idleTimeout: 1000,
        }),
    );
    return (await this.#pool).run({ url, name, input });
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    await (await pool)?.destroy();
  }
}
