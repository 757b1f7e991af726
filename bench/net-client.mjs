// Host-side clients for bench/net.sh, all on 127.0.0.1 through each engine's published ports.
// The container runs a sink (`nc -ll -e` handing each connection to `dd bs=1M iflag=fullblock`,
// which reports "N+0 records in" when the client half-closes) and busybox httpd. Engines are
// interleaved round by round, so this shared VM's drift lands on all of them alike.
//   node bench/net-client.mjs ready SINK_PORT HTTP_PORT [--timeout 60]
//   node bench/net-client.mjs throughput [--mib 1024] [--rounds 5] [--out F.json] podman=PORT ...
//   node bench/net-client.mjs connrate [--conns 2000] [--concurrency 8] [--rounds 3] [--out F.json] podman=PORT ...
//   node bench/net-client.mjs bridge-cost HYPERFINE.json    ("X (bridge)" minus "X (none)", medians)
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';

const HOST = '127.0.0.1';
const MiB = 1 << 20;

function parseArgs(argv) {
  const flags = {};
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) flags[argv[i].slice(2)] = argv[++i];
    else rest.push(argv[i]);
  }
  return { flags, rest };
}
const num = (v, dflt) => {
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a whole number, got ${v}`);
  return n;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

/** Sends `mib` MiB, half-closes, and waits for the sink's dd report; resolves with the seconds. */
function transfer(port, mib, timeoutMs) {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(MiB, 0x61);
    const sock = net.connect({ host: HOST, port });
    let t0 = process.hrtime.bigint();
    let sent = 0;
    let reply = '';
    let done = false;
    const finish = (err, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(
      () => finish(new Error(`transfer to :${port} timed out after ${timeoutMs} ms (${sent} MiB written)`)),
      timeoutMs,
    );
    const pump = () => {
      while (sent < mib) {
        sent++;
        if (!sock.write(chunk)) {
          sock.once('drain', pump);
          return;
        }
      }
      sock.end();
    };
    sock.on('connect', () => {
      t0 = process.hrtime.bigint();
      pump();
    });
    sock.setEncoding('latin1');
    sock.on('data', (d) => {
      reply += d;
    });
    sock.on('end', () => {
      const s = seconds(t0);
      const expect = `${mib}+0 records in`;
      if (sent === mib && reply.startsWith(expect)) finish(null, s);
      else
        finish(
          new Error(
            `sink on :${port} answered ${JSON.stringify(reply.trim())} after ${sent} MiB written, expected "${expect}"`,
          ),
        );
    });
    sock.on('error', (err) => finish(new Error(`transfer to :${port}: ${err.message}`)));
    sock.on('close', () => finish(new Error(`connection to :${port} closed before the sink answered`)));
  });
}

/** One short HTTP/1.0 exchange: connect, GET /, read to EOF, check for a 200. */
function request(port, timeoutMs) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: HOST, port });
    let reply = '';
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(
      () => finish(new Error(`request to :${port} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    sock.on('connect', () => sock.end('GET / HTTP/1.0\r\nHost: bench\r\n\r\n'));
    sock.setEncoding('latin1');
    sock.on('data', (d) => {
      reply += d;
    });
    sock.on('end', () =>
      finish(
        /^HTTP\/1\.[01] 200 /.test(reply)
          ? null
          : new Error(`:${port} answered ${JSON.stringify(reply.slice(0, 40))}`),
      ),
    );
    sock.on('error', (err) => finish(new Error(`request to :${port}: ${err.message}`)));
    sock.on('close', () => finish(new Error(`connection to :${port} closed before the reply ended`)));
  });
}

/** `n` requests, at most `concurrency` in flight; errors are counted, not retried. */
async function connRate(port, n, concurrency, timeoutMs) {
  let started = 0;
  let errors = 0;
  let firstError;
  const t0 = process.hrtime.bigint();
  const worker = async () => {
    while (started < n) {
      started++;
      try {
        await request(port, timeoutMs);
      } catch (err) {
        errors++;
        firstError ??= err.message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  const s = seconds(t0);
  return { seconds: s, errors, firstError, rate: (n - errors) / s };
}

/** Polls both servers until they answer through the published ports (a proxy may accept early). */
async function ready(sinkPort, httpPort, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      await transfer(sinkPort, 0, 2000);
      await request(httpPort, 2000);
      return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `servers on :${sinkPort} and :${httpPort} not ready after ${timeoutMs} ms: ${last?.message ?? 'no attempt in time'}`,
  );
}

/** `name=port` arguments, in the order given. */
function engines(rest) {
  const list = rest.map((a) => {
    const m = /^([\w.-]+)=(\d+)$/.exec(a);
    if (!m) throw new Error(`expected ENGINE=PORT, got ${a}`);
    return { name: m[1], port: Number(m[2]) };
  });
  if (list.length === 0) throw new Error('no ENGINE=PORT given');
  return list;
}

/** Round r runs the engines rotated by r, so none always goes first. */
async function interleave(list, rounds, one) {
  const samples = Object.fromEntries(list.map((e) => [e.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < list.length; i++) {
      const e = list[(i + r) % list.length];
      const sample = await one(e);
      samples[e.name].push(sample);
      process.stderr.write(`[net] round ${r + 1}/${rounds} ${e.name}: ${JSON.stringify(sample)}\n`);
    }
  }
  return samples;
}

/** Markdown table of per-engine medians (higher is better) with ratios against the peers present. */
function table(values, unit, extra = () => []) {
  const names = Object.keys(values);
  const med = Object.fromEntries(names.map((n) => [n, median(values[n])]));
  const bases = ['podman', 'docker'].filter((b) => b in med);
  const fmt = (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  const head = [
    'engine',
    `median ${unit}`,
    'min – max',
    'samples',
    ...bases.map((b) => `÷ ${b}`),
    ...extra(null),
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const n of names) {
    const v = values[n];
    lines.push(
      `| ${[
        n,
        fmt(med[n]),
        `${fmt(Math.min(...v))} – ${fmt(Math.max(...v))}`,
        v.length,
        ...bases.map((b) => `${(med[n] / med[b]).toFixed(2)}×`),
        ...extra(n),
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

async function throughputCmd(flags, rest) {
  const mib = num(flags.mib, 1024);
  const rounds = num(flags.rounds, 5);
  const list = engines(rest);
  const timeoutMs = num(flags.timeout, 300) * 1000;
  const samples = await interleave(list, rounds, async (e) => {
    const s = await transfer(e.port, mib, timeoutMs);
    return { seconds: Number(s.toFixed(4)), mbps: Number(((mib * MiB) / 1e6 / s).toFixed(1)) };
  });
  if (flags.out) writeFileSync(flags.out, `${JSON.stringify({ mib, rounds, samples }, null, 2)}\n`);
  const values = Object.fromEntries(Object.entries(samples).map(([n, xs]) => [n, xs.map((x) => x.mbps)]));
  console.log(table(values, 'MB/s'));
}

async function connrateCmd(flags, rest) {
  const conns = num(flags.conns, 2000);
  const concurrency = num(flags.concurrency, 8);
  const rounds = num(flags.rounds, 3);
  const list = engines(rest);
  const timeoutMs = num(flags.timeout, 10) * 1000;
  const samples = await interleave(list, rounds, async (e) => {
    const r = await connRate(e.port, conns, concurrency, timeoutMs);
    return { ...r, seconds: Number(r.seconds.toFixed(4)), rate: Number(r.rate.toFixed(1)) };
  });
  if (flags.out)
    writeFileSync(flags.out, `${JSON.stringify({ conns, concurrency, rounds, samples }, null, 2)}\n`);
  const values = Object.fromEntries(Object.entries(samples).map(([n, xs]) => [n, xs.map((x) => x.rate)]));
  const errs = (n) => {
    if (n === null) return ['failed connections'];
    const e = samples[n].reduce((a, x) => a + x.errors, 0);
    const first = samples[n].find((x) => x.firstError)?.firstError;
    return [e === 0 ? '0' : `${e} (${first})`];
  };
  console.log(table(values, 'conn/s', errs));
  const failed = Object.values(samples)
    .flat()
    .some((x) => x.errors > 0);
  if (failed) process.exitCode = 1;
}

function bridgeCost(file) {
  const { results } = JSON.parse(readFileSync(file, 'utf8'));
  const med = Object.fromEntries(results.map((r) => [r.command, median(r.times) * 1000]));
  const lines = ['| engine | bridge (median) | none (median) | bridge − none |', '|---|---|---|---|'];
  for (const name of Object.keys(med)) {
    const m = /^(.*) \(bridge\)$/.exec(name);
    const none = m && med[`${m[1]} (none)`];
    if (none === undefined || !m) continue;
    const b = med[name];
    lines.push(`| ${m[1]} | ${b.toFixed(1)} ms | ${none.toFixed(1)} ms | ${(b - none).toFixed(1)} ms |`);
  }
  console.log(lines.join('\n'));
}

const [cmd, ...argv] = process.argv.slice(2);
const { flags, rest } = parseArgs(argv);
try {
  if (cmd === 'ready') await ready(num(rest[0]), num(rest[1]), num(flags.timeout, 60) * 1000);
  else if (cmd === 'throughput') await throughputCmd(flags, rest);
  else if (cmd === 'connrate') await connrateCmd(flags, rest);
  else if (cmd === 'bridge-cost') bridgeCost(rest[0]);
  else throw new Error(`unknown command ${cmd}; use ready, throughput, connrate or bridge-cost`);
} catch (err) {
  console.error(`[net] ${err.message}`);
  process.exit(1);
}
