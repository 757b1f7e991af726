// Network teardown on every exit path, with real runc, conmon, CNI plugins and namespaces:
// --rm, a container exiting on its own, restart policies, kill -9 of the container, a crash of
// conmon, and kill -9 of berth in the middle of setup. A counter of the host state a container's
// network leaves (veth, namespaces, iptables rules, leases, CNI cache records) must read the
// same before and after. Also: a podman container and a berth container publish ports side by
// side and both serve.
//
// Other berth roots (and podman) may run containers on this host at the same time, so the
// counts are scoped to this file's own network: its bridge, its subnet, its name, its runroot.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Berth, hasCommand, runProcess } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import { missing, requireOrSkip, skipUnless } from '../helpers/prereq.js';
import { killWhen, waitFor } from '../helpers/wait.js';

const NEEDS = missing({ root: true, commands: ['runc', 'conmon', 'ip', 'iptables-save', 'ip6tables-save'] });
const work = mkdtempSync(join(tmpdir(), 'berth-netdown-it-'));
const b = new Berth();
const IMG = 'local/bb:netdown';
const tag = randomBytes(3).toString('hex');
const NET = `netdown-${tag}`;
const BRIDGE = `bnd${tag}`;
const IPAM_DIR = '/run/berth-cni/ipam';
const RULES_DIR = '/run/berth-cni/rules';
/** The /24 subnet of NET, as "10.231.X." (set in before). */
let prefix = '';
let subnet = '';

const ID_RE = /^[0-9a-f]{64}$/;

before(async () => {
  if (NEEDS) return;
  const bundle = await makeBusyboxBundle(join(work, 'bundle'));
  mkdirSync(join(bundle.rootfs, 'www'), { recursive: true });
  writeFileSync(join(bundle.rootfs, 'www', 'index.html'), 'hello from busybox\n');
  await b.importRootfs(bundle.rootfs, join(work, 'rootfs.tar'), IMG);
  // a subnet of our own, so the rules we count are ours
  subnet = await createTestNetwork(NET, BRIDGE);
  prefix = subnet.slice(0, subnet.lastIndexOf('.') + 1);
});

after(async () => {
  if (!NEEDS) {
    const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
    if (ids.length) await b.run(['rm', '-f', ...ids]);
    await b.run(['network', 'rm', NET]);
    // should `network rm` leave the bridge or its rules (the test at the end checks it does
    // not), take ours away so that runs of this file do not pile them up
    if (subnet) scrubHostNetwork(BRIDGE, prefix);
  }
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

/** Removes a bridge and every iptables rule and chain naming it or its subnet, and its marker. */
function scrubHostNetwork(bridge: string, subnetPrefix: string): void {
  for (const cmd of ['iptables', 'ip6tables']) {
    for (const table of ['filter', 'nat']) {
      const save = spawnSync(`${cmd}-save`, ['-t', table], { encoding: 'utf8' }).stdout ?? '';
      const rules = save
        .split('\n')
        .filter((l) => l.startsWith('-A ') && (l.includes(bridge) || l.includes(subnetPrefix)));
      const chains = new Set(rules.map((l) => l.split(' ')[1]!).filter((c) => /^BERTH-(FWD|NAT)-/.test(c)));
      for (const l of rules) spawnSync('sh', ['-c', `${cmd} -w -t ${table} -D ${l.slice(3)}`]);
      for (const c of chains) {
        for (const from of ['FORWARD', 'POSTROUTING'])
          spawnSync('sh', [
            '-c',
            `for i in 1 2 3 4 5 6 7 8; do ${cmd} -w -t ${table} -D ${from} -j ${c} 2>/dev/null || break; done`,
          ]);
        spawnSync(cmd, ['-w', '-t', table, '-X', c]);
      }
    }
  }
  spawnSync('ip', ['link', 'del', bridge]);
  for (const f of listDir(RULES_DIR))
    if (f.startsWith(`${bridge}-`)) rmSync(join(RULES_DIR, f), { force: true });
}

/** `network create` on a random 10.231.X.0/24 (another root may hold the one picked: retry). */
async function createTestNetwork(name: string, bridge: string): Promise<string> {
  let lastError = '';
  for (let i = 0; i < 8; i++) {
    const net = `10.231.${100 + (randomBytes(1)[0]! % 150)}.0/24`;
    const r = await b.run([
      'network',
      'create',
      '--subnet',
      net,
      '-o',
      `com.docker.network.bridge.name=${bridge}`,
      name,
    ]);
    if (r.code === 0) return net;
    lastError = r.stderr;
  }
  throw new Error(`cannot create the test network ${name}: ${lastError}`);
}

// ------------------------------------------------------------------ counting

export interface NetworkState {
  veth: number;
  netnsMounts: number;
  netnsFiles: number;
  rules4: number;
  rules6: number;
  leases: number;
  cache: number;
}

/** Chains portmap/firewall/dnsname make once and keep, and berth's own per-network chains. */
const SHARED_CHAIN =
  /^(CNI-HOSTPORT-DNAT|CNI-HOSTPORT-SETMARK|CNI-HOSTPORT-MASQ|CNI-FORWARD|CNI-ADMIN|BERTH-FWD-\w+|BERTH-NAT-\w+)$/;

/**
 * The rules of one family that belong to this file's containers: every rule that names our
 * subnet, bridge or network (but not in the shared chains' fixed rules), plus every chain such
 * a rule jumps to (CNI-DN-xxxx of portmap) with all its rules and its declaration.
 */
function ourRules(save: string): string[] {
  const mine = (line: string) => line.includes(prefix) || line.includes(BRIDGE) || line.includes(`"${NET}"`);
  const lines = save.split('\n').filter((l) => l.startsWith('-A ') || l.startsWith(':'));
  const chainOf = (l: string) => l.split(' ')[1] ?? '';
  const jumpOf = (l: string) => / -j (\S+)/.exec(l)?.[1];
  // per-container chains: jumped to by one of our rules, or holding one of our rules
  const chains = new Set<string>();
  for (const l of lines) {
    if (!l.startsWith('-A ') || !mine(l)) continue;
    const chain = chainOf(l);
    if (
      !SHARED_CHAIN.test(chain) &&
      !['PREROUTING', 'POSTROUTING', 'OUTPUT', 'INPUT', 'FORWARD'].includes(chain)
    )
      chains.add(chain);
    const j = jumpOf(l);
    if (j && !SHARED_CHAIN.test(j) && /^CNI-/.test(j)) chains.add(j);
  }
  const ours: string[] = [];
  for (const l of lines) {
    if (l.startsWith(':')) {
      if (chains.has(l.slice(1).split(' ')[0]!)) ours.push(l);
      continue;
    }
    const chain = chainOf(l);
    if (/^BERTH-(FWD|NAT)-/.test(chain)) continue; // the network's own, kept while it exists
    if (chains.has(chain) || mine(l)) ours.push(l);
  }
  return ours;
}

function iptablesSave(cmd: string): string {
  const out: string[] = [];
  for (const table of ['filter', 'nat']) out.push(execFileSync(cmd, ['-t', table], { encoding: 'utf8' }));
  return out.join('\n');
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** What container networks leave on the host, for this file's network and runroot. */
export function countNetworkState(berth: Berth): NetworkState {
  const veths = execFileSync('ip', ['-o', 'link', 'show', 'master', BRIDGE, 'type', 'veth'], {
    encoding: 'utf8',
  });
  const netnsDir = join(berth.runroot, 'netns');
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => (l.split(' ')[4] ?? '').startsWith(`${netnsDir}/`));
  return {
    veth: veths.split('\n').filter((l) => l.trim()).length,
    netnsMounts: mounts.length,
    netnsFiles: listDir(netnsDir).length,
    rules4: ourRules(iptablesSave('iptables-save')).length,
    rules6: ourRules(iptablesSave('ip6tables-save')).length,
    // host-local names a lease after its address (beside lock and last_reserved_ip.N)
    leases: listDir(join(IPAM_DIR, NET)).filter((f) => /^\d+\.\d+\.\d+\.\d+$|^[0-9a-f]*:[0-9a-f:]*$/.test(f))
      .length,
    cache: listDir(join(berth.runroot, 'networks', 'cache')).length,
  };
}

/** The names of the files left in the runroot's netns and CNI cache dirs (for messages). */
function leftFiles(berth: Berth): string {
  const netns = listDir(join(berth.runroot, 'netns'));
  const cache = listDir(join(berth.runroot, 'networks', 'cache'));
  return `netns: [${netns.join(', ')}], cache: [${cache.join(', ')}]`;
}

/** Waits (bounded) until the state reads `want`, then asserts it (for the message). */
async function expectState(want: NetworkState, what: string): Promise<void> {
  await waitFor(() => JSON.stringify(countNetworkState(b)) === JSON.stringify(want), {
    timeoutMs: 20_000,
    what: `${what}: network state back to ${JSON.stringify(want)}`,
  }).catch(() => {});
  assert.deepEqual(countNetworkState(b), want, `${what} (${leftFiles(b)})`);
}

/** A TCP port free on 127.0.0.1 right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** GET http://127.0.0.1:port/ until it answers (the server may still be starting). */
function httpBody(port: number): Promise<string> {
  return waitFor(
    async () => {
      const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
      return r.ok ? await r.text() : undefined;
    },
    { timeoutMs: 20_000, what: `an HTTP answer on 127.0.0.1:${port}` },
  );
}

/** The parts of `inspect` these tests read. */
interface Inspected {
  State: { Status: string; Pid: number; ExitCode: number };
  RestartCount: number;
  NetworkSettings: { IPAddress: string; Networks: Record<string, { IPAddress: string } | undefined> };
}

async function inspect(id: string): Promise<Inspected> {
  return JSON.parse(await b.ok(['inspect', id]))[0];
}

function netnsOf(id: string): string {
  return join(b.runroot, 'netns', id);
}

function vethCount(): number {
  return countNetworkState(b).veth;
}

let baseline: NetworkState;

describe('network teardown', { skip: skipUnless(NEEDS ?? '', NEEDS === undefined) }, () => {
  before(async () => {
    // warm up: the first container with a published port makes the chains kept forever
    await b.ok(['run', '--rm', '--network', NET, '-p', '127.0.0.1::80', IMG, 'true']);
    baseline = countNetworkState(b);
    assert.equal(baseline.veth, 0);
    assert.equal(baseline.netnsFiles, 0);
    assert.equal(baseline.leases, 0);
  });

  test('50 sequential `run --rm -p` leave nothing behind', async (t) => {
    t.diagnostic(
      `baseline ${JSON.stringify(baseline)}; rules kept: ${ourRules(iptablesSave('iptables-save')).join(' | ')}`,
    );
    for (let i = 0; i < 50; i++) {
      // the container reports its own address: the network really was there
      const out = await b.ok([
        'run',
        '--rm',
        '--network',
        NET,
        '-p',
        '127.0.0.1::80',
        IMG,
        'sh',
        '-c',
        'ip -o -4 addr show eth0',
      ]);
      assert.ok(out.includes(prefix), `run ${i}: eth0 has an address in ${subnet}: ${out}`);
    }
    await expectState(baseline, 'after 50 run --rm');
  });

  test('10 `run -d -p` + `rm -f` leave nothing behind', async () => {
    for (let i = 0; i < 10; i++) {
      const port = await freePort();
      const id = (
        await b.ok([
          'run',
          '-d',
          '--network',
          NET,
          '-p',
          `127.0.0.1:${port}:80`,
          IMG,
          'httpd',
          '-f',
          '-p',
          '80',
          '-h',
          '/www',
        ])
      ).trim();
      assert.equal(await httpBody(port), 'hello from busybox\n');
      const up = countNetworkState(b);
      assert.equal(up.veth, baseline.veth + 1);
      assert.equal(up.leases, baseline.leases + 1);
      assert.equal(up.cache, baseline.cache + 1);
      // portmap's per-container chain and the jump to it are counted
      assert.ok(up.rules4 > baseline.rules4, `rules while publishing: ${up.rules4} > ${baseline.rules4}`);
      await b.ok(['rm', '-f', id]);
    }
    await expectState(baseline, 'after 10 run -d + rm -f');
  });

  test('a detached container that exits on its own: after `wait` its network is gone', async () => {
    const dir = mkdtempSync(join(work, 'exit-'));
    const id = (
      await b.ok([
        'run',
        '-d',
        '--network',
        NET,
        '-v',
        `${dir}:/out`,
        IMG,
        'sh',
        '-c',
        'i=0; while [ ! -e /out/go ] && [ $i -lt 6000 ]; do usleep 10000; i=$((i+1)); done',
      ])
    ).trim();
    const running = await inspect(id);
    assert.equal(running.State.Status, 'running');
    assert.ok(running.NetworkSettings.IPAddress.startsWith(prefix), running.NetworkSettings.IPAddress);
    assert.ok(existsSync(netnsOf(id)));
    assert.equal(vethCount(), baseline.veth + 1);
    writeFileSync(join(dir, 'go'), '');
    assert.equal((await b.ok(['wait', id])).trim(), '0');
    assert.equal(existsSync(netnsOf(id)), false, 'the namespace is gone after wait');
    assert.equal(vethCount(), baseline.veth, 'the veth is gone after wait');
    const done = await inspect(id);
    assert.equal(done.NetworkSettings.IPAddress, '');
    assert.equal(done.NetworkSettings.Networks[NET]?.IPAddress ?? '', '');
    await b.ok(['rm', id]);
    await expectState(baseline, 'after a container exited on its own');
  });

  test('once `inspect` shows a container exited it shows no address; after `wait` the network is gone', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      const dir = mkdtempSync(join(work, 'exited-'));
      const id = (
        await b.ok([
          'run',
          '-d',
          '--network',
          NET,
          '-p',
          '127.0.0.1::80',
          '-v',
          `${dir}:/out`,
          IMG,
          'sh',
          '-c',
          'i=0; while [ ! -e /out/go ] && [ $i -lt 6000 ]; do usleep 10000; i=$((i+1)); done',
        ])
      ).trim();
      writeFileSync(join(dir, 'go'), '');
      const s = await waitFor(
        async () => {
          const r = await inspect(id);
          return r.State.Status === 'exited' ? r : undefined;
        },
        { intervalMs: 5, what: 'the container to exit' },
      );
      // the exit is recorded before the recorder (conmon's exit command) tears the network
      // down, so the namespace may be there a moment longer; the address is not shown
      const ip = s.NetworkSettings.IPAddress || (s.NetworkSettings.Networks[NET]?.IPAddress ?? '');
      if (ip !== '') seen.push(`run ${i}: exited with IPAddress "${ip}"`);
      // and `wait` on an exited container returns only once its network is down
      await b.ok(['wait', id]);
      if (existsSync(netnsOf(id))) seen.push(`run ${i}: namespace still there after wait`);
      await b.ok(['rm', id]);
    }
    assert.deepEqual(seen, []);
    await expectState(baseline, 'after the exited containers were removed');
  });

  test('restart on-failure:2: attached on every run, nothing left after the last exit', async () => {
    const dir = mkdtempSync(join(work, 'restart-'));
    const id = (
      await b.ok([
        'run',
        '-d',
        '--restart',
        'on-failure:2',
        '--network',
        NET,
        '-p',
        '127.0.0.1::80',
        '-v',
        `${dir}:/out`,
        IMG,
        'sh',
        '-c',
        'ip -o -4 addr show eth0 >> /out/addrs; exit 3',
      ])
    ).trim();
    const lines = () => (existsSync(join(dir, 'addrs')) ? readFileSync(join(dir, 'addrs'), 'utf8') : '');
    // the count goes up before the restart runs, with the state "exited" in between: wait for
    // the third run's line too
    const final = await waitFor(
      async () => {
        const s = await inspect(id);
        const done =
          s.State.Status === 'exited' && s.RestartCount === 2 && lines().trim().split('\n').length >= 3;
        return done ? s : undefined;
      },
      { timeoutMs: 60_000, what: 'the container to exit after two restarts' },
    );
    assert.equal(final.State.ExitCode, 3);
    const addrs = readFileSync(join(dir, 'addrs'), 'utf8').trim().split('\n');
    assert.equal(addrs.length, 3, `one address per run: ${addrs.join(' | ')}`);
    for (const a of addrs) assert.ok(a.includes(`inet ${prefix}`), a);
    await expectState(baseline, 'after the restarts ended');
    assert.equal((await inspect(id)).NetworkSettings.IPAddress, '');
    await b.ok(['rm', id]);
  });

  test('kill -9 of the container process: conmon runs the cleanup, the network goes', async () => {
    const id = (
      await b.ok(['run', '-d', '--network', NET, '-p', '127.0.0.1::80', IMG, 'sleep', '1000'])
    ).trim();
    const s = await inspect(id);
    assert.ok(s.State.Pid > 0);
    assert.equal(vethCount(), baseline.veth + 1);
    process.kill(s.State.Pid, 'SIGKILL');
    // no berth command is run: the exit command conmon runs must do it
    await expectState(baseline, 'after kill -9 of the container');
    assert.equal((await inspect(id)).State.Status, 'exited');
    await b.ok(['rm', id]);
  });

  test('a crash of conmon: the next `ps -a` cleans up the network', async () => {
    const id = (
      await b.ok(['run', '-d', '--network', NET, '-p', '127.0.0.1::80', IMG, 'sleep', '1000'])
    ).trim();
    const s = await inspect(id);
    // conmon is the container process's parent (its subreaper)
    const conmonPid = Number(
      /^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${s.State.Pid}/status`, 'utf8'))?.[1],
    );
    assert.ok(conmonPid > 1, 'the container process has a parent');
    assert.match(readFileSync(`/proc/${conmonPid}/cmdline`, 'latin1'), /conmon/);
    process.kill(conmonPid, 'SIGKILL');
    process.kill(s.State.Pid, 'SIGKILL');
    await waitFor(() => !existsSync(`/proc/${s.State.Pid}`), { what: 'the container process to die' });
    // nothing cleans up by itself now
    assert.ok(existsSync(netnsOf(id)), 'without conmon nobody has torn it down yet');
    await b.ok(['ps', '-a']);
    assert.deepEqual(countNetworkState(b), baseline, 'ps -a cleaned up the network');
    assert.equal((await inspect(id)).State.Status, 'exited');
    await b.ok(['rm', id]);
  });

  test('kill -9 of berth in the middle of setup: the next berth command cleans up', async () => {
    const netnsDir = join(b.runroot, 'netns');
    const cacheDir = join(b.runroot, 'networks', 'cache');
    const moments: [string, () => boolean][] = [
      ['the setup guard', () => listDir(netnsDir).some((f) => f.endsWith('.setup'))],
      ['the namespace file', () => listDir(netnsDir).some((f) => ID_RE.test(f))],
      ['a lease', () => countNetworkState(b).leases > 0],
      ['a cache record', () => listDir(cacheDir).length > 0],
      ['the veth', () => vethCount() > 0],
    ];
    let landed = 0;
    const failures: string[] = [];
    for (const [what, marker] of moments) {
      for (const next of [
        ['ps', '-a'],
        ['run', '--rm', '--network', NET, IMG, 'true'],
      ]) {
        const started = b.start(['run', '-d', '--network', NET, '-p', '127.0.0.1::80', IMG, 'sleep', '100']);
        const outcome = await killWhen(started, marker, { timeoutMs: 30_000, what });
        if (outcome.landed) landed++;
        await b.ok(next);
        const left = countNetworkState(b);
        if (JSON.stringify(left) !== JSON.stringify(baseline))
          failures.push(
            `berth killed at ${what} (${outcome.landed ? 'landed' : 'missed'}), then \`${next.join(' ')}\`: ${JSON.stringify(left)} ${leftFiles(b)}`,
          );
        const ids = (await b.ok(['ps', '-aq', '--no-trunc'])).trim().split('\n').filter(Boolean);
        if (ids.length) await b.ok(['rm', '-f', ...ids]);
        // a second command (another start) must clean whatever is still there
        if (JSON.stringify(countNetworkState(b)) !== JSON.stringify(baseline))
          await b.ok(['run', '--rm', '--network', NET, IMG, 'true']);
        await expectState(baseline, `after rm -f and a run, once berth was killed at ${what}`);
      }
    }
    assert.deepEqual(failures, [], `baseline: ${JSON.stringify(baseline)}`);
    assert.ok(landed >= 3, `the kill landed in the middle of setup often enough (${landed}/10)`);
  });
});

// ------------------------------------------------------------------ interop with podman

function podmanWorks(): boolean {
  return hasCommand('podman') && spawnSync('podman', ['version'], { timeout: 60_000 }).status === 0;
}

test('interop: a podman container and a berth container publish ports side by side', async (t) => {
  if (!requireOrSkip(t, NEEDS ?? 'podman', NEEDS === undefined)) return;
  if (!requireOrSkip(t, 'podman', podmanWorks())) return;
  const pimg = `localhost/berth-netdown-${tag}:latest`;
  const pname = `berth-netdown-${tag}`;
  const tar = join(work, 'bb.tar');
  await b.ok(['save', '-o', tar, IMG]);
  const podman = (args: string[]) => runProcess('podman', args, { timeoutMs: 120_000 });
  const load = await podman(['load', '-i', tar]);
  assert.equal(load.code, 0, load.stderr);
  const loaded = /Loaded image(?:\(s\))?: (\S+)/.exec(load.stdout)?.[1];
  assert.ok(loaded, load.stdout);
  assert.equal((await podman(['tag', loaded, pimg])).code, 0);
  t.after(async () => {
    await podman(['rm', '-f', pname]);
    await podman(['rmi', '-f', pimg]);
    if (loaded !== pimg) await podman(['rmi', loaded]);
  });
  const p1 = await freePort();
  const p2 = await freePort();
  const serve = ['httpd', '-f', '-p', '80', '-h', '/www'];
  let pr = await podman(['run', '-d', '--name', pname, '-p', `127.0.0.1:${p1}:80`, pimg, ...serve]);
  if (pr.code !== 0) {
    t.diagnostic(`podman run failed with its default runtime (${pr.stderr.trim()}); trying --runtime runc`);
    await podman(['rm', '-f', pname]);
    pr = await podman([
      '--runtime',
      'runc',
      'run',
      '-d',
      '--name',
      pname,
      '-p',
      `127.0.0.1:${p1}:80`,
      pimg,
      ...serve,
    ]);
  }
  assert.equal(pr.code, 0, `podman run: ${pr.stderr}`);
  const id = (await b.ok(['run', '-d', '--network', NET, '-p', `127.0.0.1:${p2}:80`, IMG, ...serve])).trim();
  assert.equal(await httpBody(p1), 'hello from busybox\n', 'podman serves');
  assert.equal(await httpBody(p2), 'hello from busybox\n', 'berth serves');
  // and each still serves once the other is gone
  await b.ok(['rm', '-f', id]);
  assert.equal(await httpBody(p1), 'hello from busybox\n', 'podman serves after berth left');
});

test('network rm takes the bridge, its firewall rules and its rules marker away', async (t) => {
  if (!requireOrSkip(t, NEEDS ?? '', NEEDS === undefined)) return;
  const name = `netrm-${tag}`;
  const bridge = `bnr${tag}`;
  const net = await createTestNetwork(name, bridge);
  const pre = net.slice(0, net.lastIndexOf('.') + 1);
  t.after(() => scrubHostNetwork(bridge, pre));
  await b.ok(['run', '--rm', '--network', name, '-p', '127.0.0.1::80', IMG, 'true']);
  await b.ok(['network', 'rm', name]);
  const left: string[] = [];
  if (spawnSync('ip', ['link', 'show', bridge]).status === 0) left.push(`bridge ${bridge}`);
  for (const cmd of ['iptables-save', 'ip6tables-save'])
    for (const l of iptablesSave(cmd).split('\n'))
      if (l.startsWith('-A ') && (l.includes(bridge) || l.includes(pre))) left.push(l);
  for (const f of listDir(RULES_DIR)) if (f.startsWith(`${bridge}-`)) left.push(`marker ${f}`);
  if (existsSync(join(IPAM_DIR, name))) left.push(`ipam dir ${name}`);
  assert.deepEqual(left, []);
});
