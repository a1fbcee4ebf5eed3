// `npm run bench`: runs every bench in a fresh Node process (no JIT or GC state carried over),
// prints each bench's table and a summary of the ratios against the baselines measured in the
// same run, and writes bench/results/latest.json. `--quick` for a short run, `--only=tell` for the
// benches whose file name starts so, `--compare[=file]` to set each ratio beside a stored run
// (bench/results/baseline.json unless named), `--readme` to write the tables into the docs.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseFlags, usageExit } from '../examples/flags.js';
import { ratioChart } from './chart.js';
import type { BenchReport } from './lib.js';
import { PERFORMANCE_PAGE, writePerformancePage } from './readme.js';

const { quick, only, compare, readme } = parseFlags('bench', {
  quick: { type: 'boolean' },
  only: { type: 'string' },
  compare: { type: 'string', valueOptional: true },
  readme: { type: 'boolean' },
}).values;
const baselineFile = typeof compare === 'string' ? compare : fileURLToPath(new URL('./results/baseline.json', import.meta.url));
// A file named on the command line must be there before a run of minutes, not after it.
if (typeof compare === 'string' && !existsSync(compare)) usageExit('bench', `--compare names no file, got '${compare}'`);
const allBenches = [
  { file: 'tell.bench.ts', flags: [] as string[] },
  { file: 'ask.bench.ts', flags: [] },
  { file: 'local.bench.ts', flags: [] },
  { file: 'spawn.bench.ts', flags: ['--expose-gc'] },
  { file: 'control.bench.ts', flags: ['--expose-gc'] },
  { file: 'mq.bench.ts', flags: ['--expose-gc'] },
  { file: 'supervision.bench.ts', flags: [] },
  { file: 'custody.bench.ts', flags: [] },
  { file: 'entities.bench.ts', flags: [] },
  { file: 'savina.bench.ts', flags: [] },
  { file: 'scaling.bench.ts', flags: [] },
  { file: 'replacement.bench.ts', flags: [] },
  { file: 'cluster.bench.ts', flags: [] },
];
const benches = allBenches.filter((b) => only === undefined || b.file.startsWith(only));
if (benches.length === 0) usageExit('bench', `--only matches no bench, got '${only}' (try ${allBenches.map((b) => b.file.replace('.bench.ts', '')).join(', ')})`);

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
const started = performance.now();
for (const [i, bench] of benches.entries()) {
  // Progress on stderr (the tables go to stdout): which bench, and the time so far.
  const bar = '#'.repeat(i) + '.'.repeat(benches.length - i);
  process.stderr.write(`[${bar}] ${i + 1}/${benches.length} ${bench.file} (${((performance.now() - started) / 1000).toFixed(0)} s elapsed)\n`);
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
if (compare !== undefined) {
  if (!existsSync(baselineFile)) {
    console.log(`\nno baseline at ${baselineFile}: copy bench/results/latest.json there to make one`);
  } else {
    const baseline = JSON.parse(readFileSync(baselineFile, 'utf8')) as { machine: typeof machine; reports: BenchReport[] };
    const key = (r: BenchReport, i: number): string => `${r.bench}: ${r.ratios[i]!.subject} / ${r.ratios[i]!.baseline}`;
    const before = new Map<string, number>();
    for (const r of baseline.reports) r.ratios.forEach((x, i) => before.set(key(r, i), x.ratio));
    console.log(`\n## Against the baseline of ${baseline.machine.date} (${baseline.machine.mode} run, Node ${baseline.machine.node}, ${baseline.machine.cores} cores)`);
    console.table(
      reports.flatMap((r) =>
        r.ratios.map((x, i) => {
          const was = before.get(key(r, i));
          const change = was === undefined ? undefined : x.ratio / was;
          return {
            comparison: key(r, i),
            baseline: was === undefined ? '–' : `${was.toFixed(2)}x`,
            now: `${x.ratio.toFixed(2)}x`,
            change: change === undefined ? '' : `${change >= 1 ? '+' : ''}${((change - 1) * 100).toFixed(0)}%`,
            verdict: change === undefined ? 'new' : change < 0.8 ? 'REGRESSION' : change > 1.25 ? 'better' : 'same',
          };
        }),
      ),
    );
  }
}

const out = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(`${out}latest.json`, `${JSON.stringify({ machine, reports }, null, 2)}\n`);
writeFileSync(`${out}ratios.svg`, ratioChart(reports, `troupe vs. baselines, same run: Node ${machine.node}, ${machine.cores} cores, ${machine.mode} run`));
console.log(`results written to bench/results/latest.json and bench/results/ratios.svg`);
if (readme) {
  writePerformancePage(`${out}latest.json`);
  console.log(`${PERFORMANCE_PAGE} benchmark tables and docs/ charts updated from this run`);
}
