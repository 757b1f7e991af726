// Before/after comparison of two berth builds on the same machine in the same run:
//   BERTH_BASELINE=/path/to/old/dist/berth.mjs [RUNS=15] [CASES=pull] node bench/compare.mjs
// hyperfine runs all iterations of one command before the next, so slow drift of this shared VM
// (and the ext4 discard stalls after deletes) lands on whichever command runs second. Here the
// two builds alternate run by run (ABBA order), every run gets the same prepare step, and the
// table reports medians and the after/before ratio. Needs the peers' registry (bench/_lib.sh).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const repo = new URL('..', import.meta.url).pathname;
const after = join(repo, 'dist/berth.mjs');
const before = process.env.BERTH_BASELINE;
if (!before || !existsSync(before)) {
  console.error('set BERTH_BASELINE to the baseline build (dist/berth.mjs of the old checkout)');
  process.exit(2);
}
const RUNS = Number(process.env.RUNS ?? 15);
const REG = '127.0.0.1:5000';
const work = mkdtempSync('/var/tmp/berth-compare.');
const trash = join(work, 'trash');
mkdirSync(trash);
let trashN = 0;
const moveAside = (p) => {
  if (existsSync(p)) renameSync(p, join(trash, String(trashN++)));
};

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.toString();
}
function timed(cmd, args) {
  const t0 = process.hrtime.bigint();
  sh(cmd, args);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const builds = { before, after };
const roots = {};
for (const k of Object.keys(builds))
  roots[k] = { root: join(work, `${k}-root`), runroot: `/run/berth-compare-${k}-${process.pid}` };
const berth = (k, ...args) => [
  'node',
  [builds[k], '--root', roots[k].root, '--runroot', roots[k].runroot, ...args],
];

// context for the build case: a two-stage Dockerfile with many files, as bench/build.sh
const ctx = join(work, 'ctx');
mkdirSync(join(ctx, 'files'), { recursive: true });
for (let d = 1; d <= 20; d++) {
  mkdirSync(join(ctx, 'files', `d${d}`));
  for (let f = 1; f <= 100; f++) writeFileSync(join(ctx, 'files', `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`);
}
writeFileSync(
  join(ctx, 'Dockerfile'),
  `ARG BASE
FROM \${BASE} AS build
RUN mkdir -p /gen && cd /gen && for i in $(seq 1 3000); do echo "$i" > "f$i"; done
RUN cp -a /usr/share/doc /gen/doc && cp -a /usr/share/zoneinfo /gen/zoneinfo
COPY files/ /ctx/
RUN find /ctx /gen -type f | wc -l > /count

FROM \${BASE}
COPY --from=build /gen /gen
COPY --from=build /count /count
CMD ["cat", "/count"]
`,
);
for (const k of Object.keys(builds)) {
  sh(...berth(k, 'pull', '-q', `${REG}/bb:latest`));
  sh(...berth(k, 'pull', '-q', `${REG}/debian:bookworm`));
}
const crunOk =
  spawnSync(
    ...berth('after', 'run', '--rm', '--runtime', 'crun', '--network', 'none', `${REG}/bb:latest`, 'true'),
  ).status === 0;
const settle = () => {
  execFileSync('sync');
  execFileSync('sleep', [process.env.SETTLE ?? '10']);
};
const buildArgs = (noCache) => [
  'build',
  '-q',
  '--network',
  'none',
  '--build-arg',
  `BASE=${REG}/debian:bookworm`,
  ...(noCache ? ['--no-cache'] : []),
  '-t',
  'cmp:latest',
  ctx,
];

const cases = [
  ...['runc', ...(crunOk ? ['crun'] : [])].map((rt) => ({
    name: `run --rm (${rt})`,
    runs: RUNS,
    run: (k) =>
      timed(...berth(k, 'run', '--rm', '--runtime', rt, '--network', 'none', `${REG}/bb:latest`, 'true')),
  })),
  ...['bb:latest', 'debian:bookworm'].map((img) => ({
    name: `pull ${img} (empty root)`,
    runs: Math.max(5, Math.round(RUNS / 2)),
    prepare: (k) => {
      moveAside(join(work, `pull-${k}`));
    },
    run: (k) =>
      timed('node', [
        builds[k],
        '--root',
        join(work, `pull-${k}`),
        '--runroot',
        join(work, `pull-${k}-run`),
        'pull',
        '-q',
        `${REG}/${img}`,
      ]),
    settle: img.startsWith('debian'),
  })),
  {
    name: 'build, cold (--no-cache)',
    runs: Math.max(3, Math.round(RUNS / 4)),
    prepare: (k) => {
      spawnSync(...berth(k, 'rmi', '-f', 'cmp:latest'));
      sh(...berth(k, 'builder', 'prune', '-f'));
    },
    run: (k) => timed(...berth(k, ...buildArgs(true))),
    settle: true,
  },
  {
    name: 'build, fully cached',
    runs: RUNS,
    once: (k) => sh(...berth(k, ...buildArgs(false))),
    run: (k) => timed(...berth(k, ...buildArgs(false))),
  },
];

// CASES=pull (a substring of case names) runs only the matching cases
const only = process.env.CASES;
const rows = [];
try {
  for (const c of cases.filter((x) => !only || x.name.includes(only))) {
    const times = { before: [], after: [] };
    for (const k of Object.keys(builds)) {
      c.once?.(k);
      c.prepare?.(k);
      c.run(k); // warm-up, not counted
    }
    for (let i = 0; i < c.runs; i++) {
      const order = i % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
      for (const k of order) {
        c.prepare?.(k);
        if (c.settle) settle();
        times[k].push(c.run(k));
      }
    }
    const b = median(times.before);
    const a = median(times.after);
    const row = `| ${c.name} | ${b.toFixed(0)} ms | ${a.toFixed(0)} ms | ${(a / b).toFixed(2)}× | ${c.runs} |`;
    console.log(row);
    rows.push(row);
  }
} finally {
  for (const k of Object.keys(builds)) {
    const ids = spawnSync(...berth(k, 'ps', '-aq'))
      .stdout?.toString()
      .trim();
    if (ids) spawnSync(...berth(k, 'rm', '-f', ...ids.split(/\s+/)));
    rmSync(roots[k].runroot, { recursive: true, force: true });
  }
  rmSync(work, { recursive: true, force: true });
}
const table = [
  `### before/after, alternating runs (${new Date().toISOString().slice(0, 10)}, ${sh('nproc', []).trim()} cores)`,
  '',
  '| case | before (median) | after (median) | after ÷ before | runs each |',
  '|---|---|---|---|---|',
  ...rows,
].join('\n');
mkdirSync(join(repo, 'bench/results'), { recursive: true });
writeFileSync(join(repo, 'bench/results/compare.md'), `${table}\n`);
console.log(`\n${table}`);
