// Timing for bench/api.sh, with the contenders alternating run by run (A B C A B C …), so the
// drift of this shared 2-core VM lands on all of them alike, which hyperfine's one-command-
// after-the-other order does not give. Two kinds of contender:
//   --api 'LABEL=SOCKET[,RUNTIME]'  a resident Docker API client (dockerode, no CLI start-up):
//                                   create + start + wait + remove of one container, `--network
//                                   none`, in this process
//   -n LABEL 'COMMAND ARGS…'        a command, spawned and waited for (split on spaces, no shell)
// Before each run, background cleanups of the previous one finish first (see settle).
// Writes hyperfine's --export-json shape, so bench/summarise.mjs makes the table.
//   node bench/api-client.mjs --image IMG --into FILE.json [--runs 20] [--warmup 3] CONTENDERS…
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';

const { values: o, tokens } = parseArgs({
  options: {
    image: { type: 'string' },
    into: { type: 'string' },
    runs: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    api: { type: 'string', multiple: true, default: [] },
    n: { type: 'string', short: 'n', multiple: true, default: [] },
  },
  allowPositionals: true,
  tokens: true,
});
if (!o.into) {
  console.error(
    'usage: api-client.mjs --into FILE.json [--image IMG] [--api LABEL=SOCK[,RT]] [-n LABEL CMD]…',
  );
  process.exit(2);
}

/** Each contender's one run; resolves to a failure's description, or undefined. */
/** @type {{ name: string, once: () => Promise<string | undefined> }[]} */
const contenders = [];
for (const spec of o.api) {
  const eq = spec.indexOf('=');
  const [socketPath, runtime] = spec.slice(eq + 1).split(',');
  const docker = new Docker({ socketPath });
  contenders.push({
    name: spec.slice(0, eq),
    once: async () => {
      const c = await docker.createContainer({
        // dockerode repeats the body in the query string unless given the query; berth refused
        // unknown query parameters before the compose fixes, so the query is given (empty)
        _query: {},
        Image: o.image,
        Cmd: ['true'],
        HostConfig: { NetworkMode: 'none', ...(runtime ? { Runtime: runtime } : {}) },
      });
      await c.start();
      const { StatusCode } = await c.wait();
      await c.remove();
      if (StatusCode !== 0) return `the container exited ${StatusCode}`;
    },
  });
}
// -n LABEL COMMAND: the label is the option's value, the command the positional after it
const toks = tokens ?? [];
for (let i = 0; i < toks.length; i++) {
  const t = toks[i];
  if (t.kind !== 'option' || t.name !== 'n') continue;
  const next = toks[i + 1];
  if (next?.kind !== 'positional') throw new Error(`-n ${t.value}: no command after the label`);
  const [cmd, ...args] = next.value.split(' ').filter(Boolean);
  contenders.push({
    name: t.value,
    once: async () => {
      const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.status !== 0) return `exited ${r.status}: ${r.stderr.toString().trim()}`;
    },
  });
}

// What a run leaves to finish in the background (conmon's exit command: `berth container
// cleanup`, `podman container cleanup`) would be charged to the next contender's run: wait
// (bounded) until none is left before the next run starts.
function cleanupsRunning() {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('container\0cleanup')) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}
async function settle() {
  const deadline = Date.now() + 5000;
  while (cleanupsRunning() && Date.now() < deadline) await sleep(5);
}

for (let i = 0; i < Number(o.warmup); i++) for (const c of contenders) await c.once();
const times = contenders.map(() => []);
// a failed run is timed all the same (it did the work), and reported under the table
const failures = contenders.map(() => []);
for (let i = 0; i < Number(o.runs); i++) {
  for (const [k, c] of contenders.entries()) {
    await settle();
    const t0 = process.hrtime.bigint();
    const failed = await c.once();
    times[k].push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (failed) failures[k].push(failed);
  }
}
for (const [k, f] of failures.entries()) {
  if (f.length)
    console.log(
      `- ${contenders[k].name}: ${f.length} of ${o.runs} runs failed (${[...new Set(f)].join('; ')})`,
    );
}
const results = contenders.map((c, k) => {
  const ts = times[k];
  const mean = ts.reduce((a, b) => a + b, 0) / ts.length;
  const stddev = Math.sqrt(ts.reduce((a, t) => a + (t - mean) ** 2, 0) / Math.max(1, ts.length - 1));
  return { command: c.name, mean, stddev, times: ts };
});
writeFileSync(o.into, JSON.stringify({ results }, null, 2));
