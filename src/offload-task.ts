// The file every offload pool thread runs (built to dist/offload-task.js). It imports the task
// module by URL, through the same loader as actor modules (so TypeScript tasks work under tsx and
// vitest), and runs the named export (default: the default export) on the input.

import { loadModule } from './runtime/module-loader.js';

export interface OffloadJob {
  readonly url: string;
  readonly name: string;
  readonly input: unknown;
}

export default async function runJob(job: OffloadJob): Promise<unknown> {
  const mod = (await loadModule(job.url)) as Record<string, unknown>;
  const task = mod[job.name];
  if (typeof task !== 'function') throw new TypeError(`${job.url} has no function export named ${JSON.stringify(job.name)}`);
  return (task as (input: unknown) => unknown)(job.input);
}
