// A resident Docker API client for bench/api.sh: create + start + wait + remove of one container,
// RUNS times in a row from one process (dockerode, no CLI start-up per container), each timed.
// The times are appended to a hyperfine --export-json file as one more command, so
// bench/summarise.mjs puts them in the same table as the hyperfine-timed commands.
//   node bench/api-client.mjs --socket PATH --image IMG --name LABEL --into FILE.json
//        [--runs 30] [--warmup 3] [--runtime runc] [--network none]
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';

const { values: o } = parseArgs({
  options: {
    socket: { type: 'string' },
    image: { type: 'string' },
    name: { type: 'string' },
    into: { type: 'string' },
    runs: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '3' },
    runtime: { type: 'string' },
    network: { type: 'string', default: 'none' },
  },
});
if (!o.socket || !o.image || !o.name || !o.into) {
  console.error('usage: api-client.mjs --socket PATH --image IMG --name LABEL --into FILE.json');
  process.exit(2);
}
const docker = new Docker({ socketPath: o.socket });

async function once() {
  const c = await docker.createContainer({
    // dockerode repeats the body in the query string unless told the query; berth refused
    // unknown query parameters before the compose fixes, so the query is given (empty)
    _query: {},
    Image: o.image,
    Cmd: ['true'],
    HostConfig: { NetworkMode: o.network, ...(o.runtime ? { Runtime: o.runtime } : {}) },
  });
  await c.start();
  const { StatusCode } = await c.wait();
  if (StatusCode !== 0) throw new Error(`the container exited ${StatusCode}`);
  await c.remove();
}

for (let i = 0; i < Number(o.warmup); i++) await once();
const times = [];
for (let i = 0; i < Number(o.runs); i++) {
  const t0 = process.hrtime.bigint();
  await once();
  times.push(Number(process.hrtime.bigint() - t0) / 1e9);
}
const mean = times.reduce((a, b) => a + b, 0) / times.length;
const stddev = Math.sqrt(times.reduce((a, t) => a + (t - mean) ** 2, 0) / Math.max(1, times.length - 1));
const out = JSON.parse(readFileSync(o.into, 'utf8'));
out.results.unshift({ command: o.name, mean, stddev, times });
writeFileSync(o.into, JSON.stringify(out, null, 2));
const sorted = [...times].sort((a, b) => a - b);
console.log(
  `${o.name}: median ${(sorted[sorted.length >> 1] * 1000).toFixed(1)} ms over ${times.length} runs`,
);
