// Runs real containers with runc from specs that buildRuntimeSpec writes, and probes them
// from inside: capabilities, seccomp, masked /proc, namespaces, and enforced cgroup limits.
// Needs root, runc and gcc (for the probe); skips with the reason otherwise, fails under CI=true.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { makeBusyboxBundle } from '../../test/helpers/bundle.js';
import { requireOrSkip } from '../../test/helpers/prereq.js';
import { findRuntimes } from './binaries.js';
import { capabilityMask, DEFAULT_CAPABILITIES } from './capabilities.js';
import { detectCgroups } from './cgroups.js';
import { buildRuntimeSpec, type ContainerSpecOptions } from './spec.js';

const MiB = 1024 * 1024;
const CGROUP_PARENT = 'berth-test';
const runc = findRuntimes(['runc'])[0];
const stateRoot = mkdtempSync(join(tmpdir(), 'berth-runc-state-'));
after(() => rmSync(stateRoot, { recursive: true, force: true }));

/** What the machine lacks to run these tests, or undefined. */
function missingPrerequisite(): string | undefined {
  if (process.platform !== 'linux') return 'Linux';
  if (process.getuid?.() !== 0) return 'root to run runc';
  if (!runc) return 'runc';
  return undefined;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 120_000, maxBuffer: 16 * MiB }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** runc leaves its cgroup parents behind: remove ours from every hierarchy (only if empty). */
function removeCgroups(name: string): void {
  const base = '/sys/fs/cgroup';
  let hierarchies: string[];
  try {
    hierarchies = [base, ...readdirSync(base).map((d) => join(base, d))];
  } catch {
    return;
  }
  for (const h of hierarchies) {
    for (const dir of [join(h, CGROUP_PARENT, name), join(h, CGROUP_PARENT)]) {
      try {
        rmdirSync(dir);
      } catch {
        // absent, not a cgroup hierarchy, or still used by another test
      }
    }
  }
}

type Overrides = Partial<Omit<ContainerSpecOptions, 'rootfs' | 'cgroupsPath'>>;

/**
 * Runs `args` in a fresh busybox bundle under runc, with a spec from buildRuntimeSpec, and
 * cleans up the container, the bundle and the cgroups whatever happens. Returns undefined
 * (after t.skip) when the machine cannot run it; under CI=true that is a failure instead.
 */
async function runInContainer(
  t: { skip: (msg: string) => void },
  args: string[],
  overrides: Overrides = {},
): Promise<RunResult | undefined> {
  const lacking = missingPrerequisite();
  if (!requireOrSkip(t, lacking ?? '', lacking === undefined)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'berth-bundle-'));
  const id = `berth-sec-${randomBytes(6).toString('hex')}`;
  try {
    let rootfs: string;
    try {
      ({ rootfs } = await makeBusyboxBundle(dir));
    } catch (err) {
      requireOrSkip(t, `gcc and busybox for the probe bundle (${(err as Error).message})`, false);
      return undefined;
    }
    const spec = buildRuntimeSpec({
      rootfs,
      args,
      env: ['PATH=/bin'],
      user: { uid: 0, gid: 0 },
      terminal: false,
      hostname: 'probe',
      cgroupsPath: `/${CGROUP_PARENT}/${id}`,
      network: { mode: 'none' },
      ...overrides,
    });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
    return await exec(runc!.path, ['--root', stateRoot, 'run', '--bundle', dir, id]);
  } finally {
    await exec(runc!.path, ['--root', stateRoot, 'delete', '--force', id]);
    rmSync(dir, { recursive: true, force: true });
    removeCgroups(id);
  }
}

const PROBES = [
  'capeff',
  'seccomp-mode',
  'mount',
  'unshare-user',
  'clone-newns',
  'clone3',
  'keyctl',
  'read-kcore',
  'write-proc-sys',
  'bpf',
  'userfaultfd',
  'io_uring',
  'kexec',
  'open_by_handle_at',
  'ptrace',
];

// One shell script runs every probe and lists the PIDs the container can see.
const SCRIPT = [
  `for p in ${PROBES.join(' ')}; do echo "$p: $(probe $p)"; done`,
  'echo "pids: $(ls /proc | grep -E "^[0-9]+$" | tr "\\n" " ")"',
  'echo "pid1: $(tr "\\0" " " < /proc/1/cmdline)"',
  'echo "nofile: $(ulimit -n) $(ulimit -Hn)"',
].join('\n');

function parseProbes(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^([a-z0-9_-]+): ?(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!.trim());
  }
  return out;
}

function ownCapBnd(): bigint {
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]!;
  return BigInt(`0x${hex}`);
}

test('a default container is confined like Docker: 14 caps, seccomp, masked /proc, own PIDs', async (t) => {
  const r = await runInContainer(t, ['/bin/sh', '-c', SCRIPT]);
  if (!r) return;
  assert.equal(r.code, 0, `runc run failed: ${r.stderr}`);
  const p = parseProbes(r.stdout);
  t.diagnostic(`default: ${JSON.stringify(Object.fromEntries(p))}`);
  assert.equal(p.get('capeff'), capabilityMask(DEFAULT_CAPABILITIES).toString(16).padStart(16, '0'));
  assert.equal(p.get('capeff'), '00000000a80425fb');
  assert.equal(p.get('seccomp-mode'), 'Seccomp:\t2');
  for (const name of [
    'mount',
    'unshare-user',
    'clone-newns',
    'keyctl',
    'read-kcore',
    'bpf',
    'userfaultfd',
    'io_uring',
    'kexec',
    'open_by_handle_at',
  ]) {
    assert.match(p.get(name) ?? '', /^ERR /, `${name} should fail inside a default container`);
  }
  // The seccomp profile, not just missing capabilities, refuses these.
  for (const name of ['mount', 'unshare-user', 'clone-newns', 'keyctl', 'bpf', 'io_uring']) {
    assert.equal(p.get(name), 'ERR EPERM', name);
  }
  assert.equal(p.get('clone3'), 'ERR ENOSYS');
  // /proc/kcore is masked (or absent on kernels built without it): never readable.
  assert.match(p.get('read-kcore')!, /^ERR (EMPTY|ENOENT|EPERM|EACCES)$/);
  assert.match(p.get('write-proc-sys')!, /^ERR (EROFS|EACCES|EPERM)$/);
  // A new PID namespace: pid 1 is the container's shell and no host PID shows up.
  const pids = p.get('pids')!.split(/\s+/).filter(Boolean).map(Number);
  assert.ok(pids.includes(1), `pid 1 missing: ${pids}`);
  assert.ok(pids.length <= 5, `the container sees ${pids.length} PIDs: ${pids}`);
  assert.ok(
    pids.every((pid) => pid < 100),
    `host-looking PIDs: ${pids}`,
  );
  assert.match(p.get('pid1')!, /^\/bin\/sh -c /);
  // nofile is what the host can give, never above its hard limit.
  const [soft, hard] = p.get('nofile')!.split(' ').map(Number);
  const hostHard = Number(
    /^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))![1],
  );
  assert.equal(hard, Math.min(1048576, hostHard));
  assert.equal(soft, hard);
});

test('a privileged container gets every host capability, no seccomp, and may mount', async (t) => {
  const r = await runInContainer(t, ['/bin/sh', '-c', SCRIPT], { privileged: true });
  if (!r) return;
  assert.equal(r.code, 0, `runc run failed: ${r.stderr}`);
  const p = parseProbes(r.stdout);
  t.diagnostic(`privileged: ${JSON.stringify(Object.fromEntries(p))}`);
  const known = (1n << 41n) - 1n;
  assert.equal(BigInt(`0x${p.get('capeff')}`), ownCapBnd() & known);
  assert.equal(p.get('seccomp-mode'), 'Seccomp:\t0');
  assert.equal(p.get('mount'), 'OK');
  assert.equal(p.get('unshare-user'), 'OK');
  assert.equal(p.get('clone-newns'), 'OK');
  assert.notEqual(p.get('keyctl'), 'ERR EPERM');
  assert.equal(p.get('write-proc-sys'), 'OK');
  // Still its own PID namespace.
  assert.match(p.get('pid1')!, /^\/bin\/sh -c /);
});

test('--cap-add SYS_ADMIN widens seccomp: mount works without --privileged', async (t) => {
  const r = await runInContainer(t, ['/bin/sh', '-c', 'probe mount; probe capeff; probe seccomp-mode'], {
    capAdd: ['SYS_ADMIN'],
  });
  if (!r) return;
  assert.equal(r.code, 0, r.stderr);
  const [mount, capeff, mode] = r.stdout.trim().split('\n');
  assert.equal(mount, 'OK');
  assert.equal(BigInt(`0x${capeff}`), capabilityMask([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']));
  assert.equal(mode, 'Seccomp:\t2');
});

test('the pids limit stops a fork loop', async (t) => {
  const r = await runInContainer(t, ['/bin/probe', 'forks', '200'], { resources: { pidsLimit: 20 } });
  if (!r) return;
  t.diagnostic(`forks: ${r.stdout.trim()}`);
  const m = /^(OK|ERR \S+) forked=(\d+)$/m.exec(r.stdout);
  assert.ok(m, `unexpected output: ${r.stdout} ${r.stderr}`);
  assert.equal(m[1], 'ERR EAGAIN');
  assert.ok(Number(m[2]) < 20, `forked ${m[2]} children under a limit of 20`);
});

test('the memory limit is visible inside and a memory hog is OOM-killed (exit 137)', async (t) => {
  const v2 = detectCgroups().mode === 'v2';
  const file = v2 ? '/sys/fs/cgroup/memory.max' : '/sys/fs/cgroup/memory/memory.limit_in_bytes';
  const shown = await runInContainer(t, ['/bin/cat', file], { resources: { memory: 32 * MiB } });
  if (!shown) return;
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(shown.stdout.trim(), String(32 * MiB));
  const hog = await runInContainer(t, ['/bin/probe', 'hog', '512'], { resources: { memory: 32 * MiB } });
  if (!hog) return;
  t.diagnostic(`hog: exit ${hog.code} ${hog.stdout.trim()}`);
  assert.equal(hog.code, 137, `expected an OOM kill, got exit ${hog.code}: ${hog.stdout} ${hog.stderr}`);
  assert.doesNotMatch(hog.stdout, /^OK/m);
});
