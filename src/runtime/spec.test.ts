import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seccompVerdict } from '../../test/helpers/seccomp-verdict.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { LinuxSeccomp, RuntimeSpec } from '../oci/index.js';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES } from './capabilities.js';
import {
  buildRuntimeSpec,
  type ContainerSpecOptions,
  DEFAULT_DEVICE_RULES,
  MASKED_PATHS,
  READONLY_PATHS,
  type SpecHost,
} from './spec.js';

const MiB = 1024 * 1024;
const HOST_BOUNDING = ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE');

function host(over: Partial<SpecHost> = {}): SpecHost {
  return {
    cgroupMode: 'hybrid',
    limits: {
      nofile: { soft: 20000, hard: 20000 },
      nproc: { soft: 32768, hard: 32768 },
      memlock: { soft: 8 * MiB, hard: 8 * MiB },
      core: { soft: 0, hard: Number.POSITIVE_INFINITY },
    },
    boundingCapabilities: HOST_BOUNDING,
    swapLimit: true,
    arch: 'amd64',
    kernel: '6.1.0-18-amd64',
    devices: () => [{ path: '/dev/sda', type: 'b', major: 8, minor: 0, fileMode: 0o660, uid: 0, gid: 6 }],
    ...over,
  };
}

function options(over: Partial<ContainerSpecOptions> = {}): ContainerSpecOptions {
  return {
    rootfs: '/var/lib/berth/c/abc/rootfs',
    args: ['/bin/sh', '-c', 'true'],
    env: ['PATH=/usr/bin:/bin'],
    user: { uid: 0, gid: 0 },
    cgroupsPath: '/berth/abc',
    network: { mode: 'none' },
    ...over,
  };
}

function build(over: Partial<ContainerSpecOptions> = {}, h: Partial<SpecHost> = {}): RuntimeSpec {
  return buildRuntimeSpec(options(over), host(h));
}

function rejects(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${err}`);
    assert.match(err.message, message);
    return true;
  });
}

test('namespaces follow the network mode; cgroup namespace only on cgroup v2', () => {
  const types = (s: RuntimeSpec) =>
    s.linux!.namespaces!.map((n) => (n.path ? `${n.type}=${n.path}` : n.type));
  assert.deepEqual(types(build()), ['pid', 'ipc', 'uts', 'mount', 'network']);
  assert.deepEqual(types(build({ network: { mode: 'host' } })), ['pid', 'ipc', 'uts', 'mount']);
  assert.deepEqual(types(build({ network: { mode: 'path', path: '/run/netns/x' } })), [
    'pid',
    'ipc',
    'uts',
    'mount',
    'network=/run/netns/x',
  ]);
  assert.deepEqual(types(build({}, { cgroupMode: 'v2' })), [
    'pid',
    'ipc',
    'uts',
    'mount',
    'network',
    'cgroup',
  ]);
  assert.deepEqual(types(build({}, { cgroupMode: 'v1' })), ['pid', 'ipc', 'uts', 'mount', 'network']);
  rejects(() => build({ network: { mode: 'path', path: 'netns' } }), /not absolute/);
  // Only a container's own network namespace gets Docker's unprivileged-port sysctls.
  assert.equal(build().linux!.sysctl!['net.ipv4.ip_unprivileged_port_start'], '0');
  assert.equal(build({ network: { mode: 'host' } }).linux!.sysctl, undefined);
});

test("the default process: Docker's 14 capabilities, no inheritable or ambient ones", () => {
  const spec = build();
  const caps = spec.process.capabilities!;
  for (const set of [caps.bounding, caps.effective, caps.permitted]) {
    assert.deepEqual([...set!].sort(), [...DEFAULT_CAPABILITIES].sort());
  }
  assert.equal(caps.inheritable, undefined);
  assert.equal(caps.ambient, undefined);
  assert.equal(DEFAULT_CAPABILITIES.length, 14);
  assert.equal(spec.process.noNewPrivileges, false);
  assert.equal(spec.process.cwd, '/');
  assert.equal(spec.process.terminal, false);
  assert.equal(spec.root.readonly, false);
  assert.equal(spec.linux!.cgroupsPath, '/berth/abc');
  assert.deepEqual(spec.linux!.maskedPaths, MASKED_PATHS);
  assert.deepEqual(spec.linux!.readonlyPaths, READONLY_PATHS);
  assert.ok(spec.linux!.maskedPaths!.includes('/proc/kcore'));
  assert.ok(spec.linux!.readonlyPaths!.includes('/proc/sys'));
  assert.deepEqual(spec.linux!.resources!.devices, DEFAULT_DEVICE_RULES);
  assert.deepEqual(spec.linux!.resources!.devices![0], { allow: false, access: 'rwm' });
  assert.equal(spec.linux!.devices, undefined);
  assert.equal(spec.linux!.seccomp!.defaultAction, 'SCMP_ACT_ERRNO');
  // What we write is plain JSON.
  assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec);
});

test('cap-add and cap-drop follow Docker, including ALL', () => {
  const caps = (over: Partial<ContainerSpecOptions>) => build(over).process.capabilities!.effective!;
  const added = caps({ capAdd: ['sys_admin', 'NET_ADMIN'] });
  assert.ok(added.includes('CAP_SYS_ADMIN') && added.includes('CAP_NET_ADMIN'));
  assert.equal(added.length, 16);
  const dropped = caps({ capDrop: ['chown', 'CAP_KILL'] });
  assert.equal(dropped.length, 12);
  assert.ok(!dropped.includes('CAP_CHOWN') && !dropped.includes('CAP_KILL'));
  assert.deepEqual(caps({ capDrop: ['ALL'], capAdd: ['net_bind_service'] }), ['CAP_NET_BIND_SERVICE']);
  assert.deepEqual(caps({ capDrop: ['all'] }), []);
  const all = caps({ capAdd: ['ALL'], capDrop: ['mknod'] });
  assert.deepEqual([...all].sort(), HOST_BOUNDING.filter((c) => c !== 'CAP_MKNOD').sort());
  // Dropping and adding the same capability keeps it (drops apply first).
  assert.ok(caps({ capDrop: ['KILL'], capAdd: ['KILL'] }).includes('CAP_KILL'));
  rejects(() => build({ capAdd: ['CAP_FLY'] }), /unknown capability: "CAP_FLY"/);
  rejects(() => build({ capDrop: ['bogus'] }), /unknown capability/);
  // The host cannot grant what its bounding set lacks; say so instead of a runc capset failure.
  rejects(() => build({ capAdd: ['SYS_RESOURCE'] }), /CAP_SYS_RESOURCE.*bounding set/);
});

test('capabilities widen the seccomp profile like Docker (CAP_SYS_ADMIN allows mount)', () => {
  const plain = build().linux!.seccomp!;
  const admin = build({ capAdd: ['SYS_ADMIN'] }).linux!.seccomp!;
  assert.equal(seccompVerdict(plain, 'mount').action, 'SCMP_ACT_ERRNO');
  assert.equal(seccompVerdict(admin, 'mount').action, 'SCMP_ACT_ALLOW');
  assert.equal(seccompVerdict(admin, 'unshare').action, 'SCMP_ACT_ALLOW');
});

test('privileged lifts the confinement as Docker does', () => {
  const spec = build({ privileged: true });
  assert.deepEqual([...spec.process.capabilities!.effective!].sort(), [...HOST_BOUNDING].sort());
  assert.equal(spec.linux!.seccomp, undefined);
  assert.equal(spec.linux!.maskedPaths, undefined);
  assert.equal(spec.linux!.readonlyPaths, undefined);
  assert.deepEqual(spec.linux!.resources!.devices, [{ allow: true, access: 'rwm' }]);
  assert.deepEqual(
    spec.linux!.devices!.map((d) => d.path),
    ['/dev/sda'],
  );
  const sys = spec.mounts!.find((m) => m.destination === '/sys')!;
  assert.ok(sys.options!.includes('rw') && !sys.options!.includes('ro'));
  // An explicitly named profile still applies.
  const withProfile = build({
    privileged: true,
    seccomp: {
      profile: {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['keyctl'], action: 'SCMP_ACT_ERRNO' }],
      },
    },
  });
  assert.equal(withProfile.linux!.seccomp!.defaultAction, 'SCMP_ACT_ALLOW');
  assert.equal(build({ seccomp: 'unconfined' }).linux!.seccomp, undefined);
  rejects(() => build({ seccomp: 'bogus' as 'default' }), /invalid seccomp option/);
});

test('default mounts: /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, read-only /sys and cgroup', () => {
  const spec = build();
  const byDest = new Map(spec.mounts!.map((m) => [m.destination, m]));
  assert.deepEqual(
    [...byDest.keys()],
    ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm'],
  );
  assert.equal(byDest.get('/proc')!.type, 'proc');
  assert.deepEqual(byDest.get('/dev')!.options, ['nosuid', 'strictatime', 'mode=755', 'size=65536k']);
  assert.ok(byDest.get('/dev/pts')!.options!.includes('newinstance'));
  assert.ok(byDest.get('/dev/pts')!.options!.includes('ptmxmode=0666'));
  assert.ok(byDest.get('/dev/pts')!.options!.includes('gid=5'));
  assert.ok(byDest.get('/sys')!.options!.includes('ro'));
  assert.ok(byDest.get('/sys/fs/cgroup')!.options!.includes('ro'));
  assert.equal(byDest.get('/sys/fs/cgroup')!.type, 'cgroup');
  assert.deepEqual(byDest.get('/dev/shm')!.options, [
    'nosuid',
    'noexec',
    'nodev',
    'mode=1777',
    'size=67108864',
  ]);
  const custom = build({ shmSize: 128 * MiB }).mounts!.find((m) => m.destination === '/dev/shm')!;
  assert.ok(custom.options!.includes(`size=${128 * MiB}`));
});

test('user mounts come after the defaults, parents first, and replace a default at the same place', () => {
  const spec = build({
    mounts: [
      { destination: '/data/inner', type: 'bind', source: '/srv/b', options: ['rbind', 'ro'] },
      { destination: '/data', type: 'bind', source: '/srv/a', options: ['rbind'] },
      { destination: '/etc/hosts', type: 'bind', source: '/run/berth/abc/hosts', options: ['rbind', 'ro'] },
      { destination: '/dev/shm', type: 'bind', source: '/run/berth/abc/shm', options: ['rbind'] },
    ],
  });
  const dests = spec.mounts!.map((m) => m.destination);
  assert.equal(dests.filter((d) => d === '/dev/shm').length, 1);
  assert.equal(spec.mounts!.find((m) => m.destination === '/dev/shm')!.source, '/run/berth/abc/shm');
  assert.ok(dests.indexOf('/data') < dests.indexOf('/data/inner'));
  assert.ok(dests.indexOf('/proc') < dests.indexOf('/data'));
  rejects(
    () => build({ mounts: [{ destination: 'data', type: 'bind', source: '/x' }] }),
    /not an absolute path/,
  );
  rejects(
    () => build({ mounts: [{ destination: '/a/../b', type: 'bind', source: '/x' }] }),
    /contains "\.\."/,
  );
});

test('rlimits: nofile is capped by the host hard limit, and a ulimit above it is refused', () => {
  const nofile = (s: RuntimeSpec) => s.process.rlimits!.find((r) => r.type === 'RLIMIT_NOFILE');
  assert.deepEqual(nofile(build()), { type: 'RLIMIT_NOFILE', soft: 20000, hard: 20000 });
  const roomy = { nofile: { soft: 1024, hard: 4194304 } };
  assert.deepEqual(nofile(build({}, { limits: roomy })), {
    type: 'RLIMIT_NOFILE',
    soft: 1048576,
    hard: 1048576,
  });
  const unlimited = { nofile: { soft: 1024, hard: Number.POSITIVE_INFINITY } };
  assert.equal(nofile(build({}, { limits: unlimited }))!.hard, 1048576);
  assert.deepEqual(nofile(build({ ulimits: [{ name: 'nofile', soft: 1024, hard: 4096 }] })), {
    type: 'RLIMIT_NOFILE',
    soft: 1024,
    hard: 4096,
  });
  const nproc = build({ ulimits: [{ name: 'nproc', soft: 100, hard: 200 }] }).process.rlimits!;
  assert.deepEqual(
    nproc.find((r) => r.type === 'RLIMIT_NPROC'),
    { type: 'RLIMIT_NPROC', soft: 100, hard: 200 },
  );
  // An unlimited host hard limit accepts any value.
  assert.equal(
    build({ ulimits: [{ name: 'core', soft: 1 << 30, hard: 1 << 30 }] }).process.rlimits!.find(
      (r) => r.type === 'RLIMIT_CORE',
    )!.hard,
    1 << 30,
  );
  rejects(
    () => build({ ulimits: [{ name: 'nofile', soft: 30000, hard: 30000 }] }),
    /^invalid --ulimit "nofile=30000": hard limit 30000 is above this host's hard limit 20000$/,
  );
  rejects(
    () => build({ ulimits: [{ name: 'nproc', soft: 10, hard: 40000 }] }),
    /"nproc=10:40000": hard limit 40000 is above this host's hard limit 32768/,
  );
  rejects(
    () => build({ ulimits: [{ name: 'nofile', soft: 10, hard: 5 }] }),
    /soft limit 10 is above hard limit 5/,
  );
  rejects(() => build({ ulimits: [{ name: 'files', soft: 1, hard: 1 }] }), /unknown resource "files"/);
  rejects(() => build({ ulimits: [{ name: 'nofile', soft: -1, hard: 5 }] }), /non-negative integer/);
  // Whatever the user asks, nothing in the spec exceeds the host's hard limits.
  const spec = build({ ulimits: [{ name: 'memlock', soft: 1024, hard: 2048 }] });
  const limits = host().limits;
  for (const r of spec.process.rlimits!) {
    const name = r.type.slice('RLIMIT_'.length).toLowerCase();
    assert.ok(r.hard <= limits[name]!.hard, `${r.type} ${r.hard} > host ${limits[name]!.hard}`);
  }
});

test('memory: Docker minimum and --memory-swap semantics', () => {
  rejects(() => build({ resources: { memory: 5 * MiB } }), /Minimum memory limit allowed is 6MB/);
  assert.deepEqual(build({ resources: { memory: 6 * MiB } }).linux!.resources!.memory, {
    limit: 6 * MiB,
    swap: 12 * MiB,
  });
  // Unset swap: twice the memory (memory + as much swap), like Docker.
  assert.deepEqual(build({ resources: { memory: 32 * MiB } }).linux!.resources!.memory, {
    limit: 32 * MiB,
    swap: 64 * MiB,
  });
  assert.equal(build({ resources: { memory: 32 * MiB, memorySwap: -1 } }).linux!.resources!.memory!.swap, -1);
  // --memory-swap is the total of memory and swap, as is the OCI field.
  assert.equal(
    build({ resources: { memory: 32 * MiB, memorySwap: 48 * MiB } }).linux!.resources!.memory!.swap,
    48 * MiB,
  );
  assert.equal(
    build({ resources: { memory: 32 * MiB, memorySwap: 32 * MiB } }).linux!.resources!.memory!.swap,
    32 * MiB,
  );
  rejects(
    () => build({ resources: { memory: 32 * MiB, memorySwap: 16 * MiB } }),
    /should be larger than memory/,
  );
  rejects(() => build({ resources: { memorySwap: 16 * MiB } }), /always set the Memory limit/);
  rejects(() => build({ resources: { memory: 32 * MiB, memorySwap: -2 } }), /--memory-swap/);
  // A host without swap accounting gets the memory limit only.
  assert.deepEqual(
    build({ resources: { memory: 32 * MiB } }, { swapLimit: false }).linux!.resources!.memory,
    {
      limit: 32 * MiB,
    },
  );
  assert.equal(build().linux!.resources!.memory, undefined);
});

test('cpu and pids limits', () => {
  const r = build({ resources: { cpuShares: 512, cpuQuota: 150000, cpuPeriod: 100000, pidsLimit: 20 } })
    .linux!.resources!;
  assert.deepEqual(r.cpu, { shares: 512, quota: 150000, period: 100000 });
  assert.deepEqual(r.pids, { limit: 20 });
  assert.equal(build({ resources: { pidsLimit: -1 } }).linux!.resources!.pids, undefined);
  assert.equal(build({ resources: { pidsLimit: 0 } }).linux!.resources!.pids, undefined);
  assert.equal(build().linux!.resources!.cpu, undefined);
  rejects(() => build({ resources: { cpuQuota: 500 } }), /less than 1ms/);
  rejects(() => build({ resources: { cpuPeriod: 2000000 } }), /larger than 1s/);
  rejects(() => build({ resources: { cpuShares: -5 } }), /--cpu-shares/);
  rejects(() => build({ resources: { pidsLimit: 1.5 } }), /--pids-limit/);
});

test('process fields come from the options', () => {
  const spec = build({
    args: ['/app', '--flag'],
    env: ['A=1'],
    cwd: '/work',
    user: { uid: 1000, gid: 1000, additionalGids: [10, 20] },
    terminal: true,
    hostname: 'box',
    readonlyRootfs: true,
    noNewPrivileges: true,
    oomScoreAdj: 500,
    annotations: { 'io.berth.id': 'abc' },
  });
  assert.deepEqual(spec.process.args, ['/app', '--flag']);
  assert.deepEqual(spec.process.env, ['A=1']);
  assert.equal(spec.process.cwd, '/work');
  assert.deepEqual(spec.process.user, { uid: 1000, gid: 1000, additionalGids: [10, 20] });
  assert.equal(spec.process.terminal, true);
  assert.equal(spec.process.noNewPrivileges, true);
  assert.equal(spec.process.oomScoreAdj, 500);
  assert.equal(spec.hostname, 'box');
  assert.equal(spec.root.readonly, true);
  assert.deepEqual(spec.annotations, { 'io.berth.id': 'abc' });
  assert.equal(spec.root.path, '/var/lib/berth/c/abc/rootfs');
  rejects(() => build({ args: [] }), /no command specified/);
  rejects(() => build({ cwd: 'work' }), /working directory "work" is invalid/);
  rejects(() => build({ rootfs: 'rootfs' }), /invalid rootfs/);
  rejects(() => build({ oomScoreAdj: 2000 }), /--oom-score-adj/);
  rejects(() => build({ user: { uid: -1, gid: 0 } }), /process\.user\.uid/);
});

test('the default seccomp profile is resolved for the host architecture', () => {
  const x86: LinuxSeccomp = build().linux!.seccomp!;
  assert.deepEqual(x86.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.equal(seccompVerdict(x86, 'arch_prctl').action, 'SCMP_ACT_ALLOW');
  const arm = build({}, { arch: 'arm64' }).linux!.seccomp!;
  assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.equal(seccompVerdict(arm, 'arch_prctl').action, 'SCMP_ACT_ERRNO');
  assert.equal(seccompVerdict(arm, 'cacheflush').action, 'SCMP_ACT_ALLOW');
});

test('read-only /proc paths get a flag-restoring createContainer hook under crun', () => {
  const tools = {
    perlBinary: '/usr/bin/perl',
    mountBinary: '/usr/bin/mount',
    procHas: (p: string) => p !== '/proc/sysrq-trigger',
  };
  const targets = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys'].map((p) => `/r/rootfs${p}`);
  const crun = build({ runtime: 'crun', rootfs: '/r/rootfs/' }, tools);
  assert.deepEqual(crun.linux?.readonlyPaths, [...READONLY_PATHS]);
  // one perl process: it reads the runtime's state first (crun fails a hook that exits before
  // taking it), then calls mount(2) (165 on amd64) with MS_REMOUNT|MS_BIND|ro|nosuid|nodev|noexec
  const [perl, ...more] = crun.hooks?.createContainer ?? [];
  assert.equal(more.length, 0);
  assert.equal(perl?.path, '/usr/bin/perl');
  assert.deepEqual(perl?.args?.slice(3), targets);
  assert.match(perl?.args?.[2] ?? '', /^local \$\/; <STDIN>; .*syscall\(165, 0, \$_, 0, 4143, 0\)/);
  assert.match(
    build({ runtime: 'crun' }, { ...tools, arch: 'arm64' }).hooks?.createContainer?.[0]?.args?.[2] ?? '',
    /syscall\(40,/,
  );
  // without perl, or on an architecture whose number berth does not know: a shell and `mount`
  for (const h of [
    { ...tools, perlBinary: undefined },
    { ...tools, arch: 'mips64le' },
  ]) {
    const [sh] = build({ runtime: 'crun', rootfs: '/r/rootfs' }, h).hooks?.createContainer ?? [];
    assert.equal(sh?.path, '/bin/sh');
    assert.match(sh?.args?.[2] ?? '', /^while read -r _; do :; done;/);
    assert.deepEqual(sh?.args?.slice(3), [
      'sh',
      '/usr/bin/mount',
      'remount,bind,ro,nosuid,nodev,noexec',
      ...targets,
    ]);
  }
  // runc keeps the flags itself (and runs hooks before it makes the paths read-only); for an
  // unknown runtime the order of hooks and read-only paths is unknown
  assert.equal(build({ runtime: 'runc' }, tools).hooks, undefined);
  assert.equal(build({ rootfs: '/r' }, tools).hooks, undefined);
  // privileged containers have no read-only paths, so nothing to fix
  assert.equal(build({ runtime: 'crun', privileged: true }, tools).hooks, undefined);
  // with neither tool there is no hook to run
  assert.equal(build({ runtime: 'crun' }, { procHas: () => true }).hooks, undefined);
});
