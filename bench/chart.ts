// An SVG bar chart of the ratios from one run (log scale, a line at 1x and a tick at each floor),
// written next to the JSON results so a person can open it in a browser.

import type { BenchReport } from './lib.js';

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function ratioChart(reports: readonly BenchReport[], title: string): string {
  const rows = reports.flatMap((r) => r.ratios.map((x) => ({ label: `${r.bench}: ${x.subject} / ${x.baseline}`, ratio: x.ratio, floor: x.floor })));
  const width = 980;
  const labelWidth = 520;
  const barArea = width - labelWidth - 90;
  const rowHeight = 26;
  const top = 48;
  const height = top + rows.length * rowHeight + 40;
  const maxLog = Math.log10(Math.max(100, ...rows.map((r) => r.ratio)));
  const minLog = Math.log10(Math.min(0.1, ...rows.map((r) => r.ratio)));
  const x = (ratio: number): number => labelWidth + ((Math.log10(ratio) - minLog) / (maxLog - minLog)) * barArea;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="16" y="26" font-size="16" font-weight="bold">${escape(title)}</text>`,
  ];
  for (const tick of [0.1, 0.3, 1, 3, 10, 30, 100]) {
    if (Math.log10(tick) < minLog || Math.log10(tick) > maxLog) continue;
    parts.push(
      `<line x1="${x(tick)}" y1="${top - 6}" x2="${x(tick)}" y2="${height - 30}" stroke="${tick === 1 ? '#444' : '#ddd'}"/>`,
      `<text x="${x(tick)}" y="${height - 12}" text-anchor="middle" fill="#666">${tick}x</text>`,
    );
  }
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    const met = row.floor === undefined || row.ratio >= row.floor;
    const color = row.ratio >= 1 ? (met ? '#2f7d32' : '#c77700') : met ? '#607d8b' : '#c62828';
    const from = Math.min(x(1), x(row.ratio));
    parts.push(
      `<text x="${labelWidth - 10}" y="${y + 16}" text-anchor="end">${escape(row.label)}</text>`,
      `<rect x="${from}" y="${y + 4}" width="${Math.max(1, Math.abs(x(row.ratio) - x(1)))}" height="16" fill="${color}"/>`,
      `<text x="${Math.max(x(1), x(row.ratio)) + 6}" y="${y + 16}">${row.ratio.toFixed(2)}x${row.floor === undefined ? '' : met ? '' : ` (floor ${row.floor}x)`}</text>`,
    );
    if (row.floor !== undefined) parts.push(`<line x1="${x(row.floor)}" y1="${y + 1}" x2="${x(row.floor)}" y2="${y + 23}" stroke="#000" stroke-width="2"/>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** An SVG line chart of speedup against worker threads, one line per workload (1 thread = 1x). */
export function scalingChart(series: readonly { name: string; points: readonly { threads: number; speedup: number }[] }[], title: string): string {
  const width = 760;
  const height = 420;
  const left = 60;
  const right = 260;
  const top = 50;
  const bottom = 50;
  const maxThreads = Math.max(2, ...series.flatMap((s) => s.points.map((p) => p.threads)));
  const maxSpeedup = Math.max(2, ...series.flatMap((s) => s.points.map((p) => p.speedup)));
  const x = (t: number): number => left + ((t - 1) / (maxThreads - 1)) * (width - left - right);
  const y = (v: number): number => height - bottom - (v / maxSpeedup) * (height - top - bottom);
  const colours = ['#1565c0', '#2e7d32', '#c62828', '#6a1b9a', '#ef6c00', '#00838f'];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="16" y="26" font-size="16" font-weight="bold">${escape(title)}</text>`,
    `<line x1="${left}" y1="${y(0)}" x2="${x(maxThreads)}" y2="${y(0)}" stroke="#444"/>`,
    `<line x1="${left}" y1="${y(0)}" x2="${left}" y2="${y(maxSpeedup)}" stroke="#444"/>`,
    `<text x="${(left + x(maxThreads)) / 2}" y="${height - 12}" text-anchor="middle" fill="#444">worker threads</text>`,
    `<text x="18" y="${top - 10}" fill="#444">speedup over 1 thread</text>`,
    // The ideal: linear in the threads.
    `<line x1="${x(1)}" y1="${y(1)}" x2="${x(maxThreads)}" y2="${y(Math.min(maxThreads, maxSpeedup))}" stroke="#bbb" stroke-dasharray="4 4"/>`,
  ];
  for (let t = 1; t <= maxThreads; t++) parts.push(`<text x="${x(t)}" y="${y(0) + 18}" text-anchor="middle" fill="#666">${t}</text>`);
  for (let v = 0; v <= Math.ceil(maxSpeedup); v++) parts.push(`<text x="${left - 8}" y="${y(v) + 4}" text-anchor="end" fill="#666">${v}x</text>`);
  series.forEach((s, i) => {
    const colour = colours[i % colours.length]!;
    const path = s.points.map((p, k) => `${k === 0 ? 'M' : 'L'}${x(p.threads).toFixed(1)},${y(p.speedup).toFixed(1)}`).join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const p of s.points) parts.push(`<circle cx="${x(p.threads)}" cy="${y(p.speedup)}" r="3" fill="${colour}"/>`);
    parts.push(`<rect x="${width - right + 20}" y="${top + i * 22}" width="12" height="12" fill="${colour}"/>`, `<text x="${width - right + 38}" y="${top + i * 22 + 11}">${escape(s.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
