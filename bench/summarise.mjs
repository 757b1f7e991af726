// Turn hyperfine --export-json output into a markdown table with medians and ratios against
// named baselines: node bench/summarise.mjs results.json "podman" "floor"
import { readFileSync } from 'node:fs';

const [file, ...baselines] = process.argv.slice(2);
const { results } = JSON.parse(readFileSync(file, 'utf8'));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const rows = results.map((r) => ({
  name: r.command,
  median: median(r.times),
  mean: r.mean,
  stddev: r.stddev ?? 0,
  runs: r.times.length,
}));
const find = (label) => rows.find((r) => r.name === label || r.name.startsWith(label));
const fmt = (s) => (s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(1)} ms`);
const head = ['command', 'median', 'mean ± σ', 'runs', ...baselines.map((b) => `÷ ${b}`)];
const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
for (const r of rows) {
  const ratios = baselines.map((b) => {
    const base = find(b);
    return base ? `${(r.median / base.median).toFixed(2)}×` : 'n/a';
  });
  lines.push(
    `| ${r.name} | ${fmt(r.median)} | ${fmt(r.mean)} ± ${fmt(r.stddev)} | ${r.runs} | ${ratios.join(' | ')} |`,
  );
}
console.log(lines.join('\n'));
