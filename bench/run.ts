// `npm run bench`: runs every bench in a fresh Node process (no JIT or GC state carried over),
// prints each bench's table and a summary of the ratios against the baselines measured in the
// same run, and writes bench/results/latest.json. `--quick` for a short run.

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchReport } from './lib.js';

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const benches = [
  { file: 'tell.bench.ts', flags: [] as string[] },
  { file: 'ask.bench.ts', flags: [] },
  { file: 'local.bench.ts', flags: [] },
  { file: 'spawn.bench.ts', flags: ['--expose-gc'] },
].filter((b) => only === undefined || b.file.startsWith(only));

function runOne(file: string, flags: string[]): Promise<BenchReport | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, '--import', 'tsx', fileURLToPath(new URL(file, import.meta.url)), ...(quick ? ['--quick'] : [])], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let result: BenchReport | null = null;
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith('RESULT ')) result = JSON.parse(line.slice('RESULT '.length)) as BenchReport;
        else console.log(line);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(result) : reject(new Error(`${file} exited with ${code}`))));
  });
}

const machine = {
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: availableParallelism(),
  platform: `${process.platform}-${process.arch}`,
  date: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
};
console.log(`troupe benchmarks: Node ${machine.node}, ${machine.cores} cores (${machine.cpu}), ${machine.mode} run`);

const reports: BenchReport[] = [];
for (const bench of benches) {
  const report = await runOne(bench.file, bench.flags);
  if (report !== null) reports.push(report);
}

console.log('\n## Summary: ratios against baselines measured in the same run (medians)');
console.table(
  reports.flatMap((r) =>
    r.ratios.map((x) => ({
      bench: r.bench,
      comparison: `${x.subject} / ${x.baseline}`,
      ratio: `${x.ratio.toFixed(2)}x`,
      floor: x.floor === undefined ? '' : `${x.floor}x`,
      met: x.floor === undefined ? '' : x.ratio >= x.floor ? 'yes' : 'NO',
    })),
  ),
);
const out = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(`${out}latest.json`, `${JSON.stringify({ machine, reports }, null, 2)}\n`);
console.log(`results written to bench/results/latest.json`);
