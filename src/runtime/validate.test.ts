import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../errors/index.js';
import { validateRuntimeSpec } from './_validate.js';
import { buildRuntimeSpec } from './spec.js';

// biome-ignore lint/suspicious/noExplicitAny: the cases below reach into nested fields to break them.
type Loose = Record<string, any>;

function good(): Loose {
  return {
    ociVersion: '1.0.2',
    root: { path: 'rootfs' },
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/', env: ['PATH=/bin'] },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network', path: '/run/netns/x' }],
      resources: {
        memory: { limit: 1 << 25 },
        pids: { limit: 10 },
        devices: [{ allow: false, access: 'rwm' }],
      },
    },
  };
}

test('a minimal valid spec, and the one buildRuntimeSpec writes, pass', () => {
  assert.equal(validateRuntimeSpec(good()).ociVersion, '1.0.2');
  const spec = buildRuntimeSpec({
    rootfs: '/r',
    args: ['true'],
    env: [],
    user: { uid: 0, gid: 0 },
    cgroupsPath: '/berth/x',
    network: { mode: 'none' },
    resources: { memory: 1 << 25, pidsLimit: 5, cpuQuota: 50000, cpuPeriod: 100000 },
    ulimits: [{ name: 'nofile', soft: 100, hard: 100 }],
  });
  assert.deepEqual(validateRuntimeSpec(JSON.parse(JSON.stringify(spec))), spec);
});

test('bad specs are refused with the field named', () => {
  const cases: [(s: Loose) => void, RegExp][] = [
    [(s) => delete s.ociVersion, /ociVersion must be a string/],
    [(s) => (s.ociVersion = '2.0.0'), /ociVersion "2.0.0" is not a 1.x version/],
    [(s) => delete s.root, /root must be an object/],
    [(s) => (s.root.path = ''), /root.path must not be empty/],
    [(s) => (s.process.args = []), /process.args must name a program/],
    [(s) => (s.process.args = ['sh', 3]), /process.args\[1\] must be a string/],
    [(s) => (s.process.cwd = 'tmp'), /process.cwd "tmp" is not an absolute path/],
    [(s) => (s.process.env = ['NOEQUALS']), /process.env\[0\]/],
    [(s) => (s.process.user.uid = -1), /process.user.uid/],
    [(s) => (s.process.user.gid = 2 ** 33), /process.user.gid/],
    [(s) => delete s.process.user.uid, /process.user.uid is required/],
    [
      (s) => (s.process.capabilities = { bounding: ['CAP_FLY'] }),
      /process.capabilities.bounding\[0\] "CAP_FLY"/,
    ],
    [(s) => (s.process.capabilities = { effective: ['chown'] }), /not a capability/],
    [(s) => (s.process.rlimits = [{ type: 'RLIMIT_FOO', soft: 1, hard: 1 }]), /process.rlimits\[0\].type/],
    [(s) => (s.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 2, hard: 1 }]), /soft 2 is above hard 1/],
    [
      (s) =>
        (s.process.rlimits = [
          { type: 'RLIMIT_NOFILE', soft: 1, hard: 1 },
          { type: 'RLIMIT_NOFILE', soft: 1, hard: 1 },
        ]),
      /RLIMIT_NOFILE appears twice/,
    ],
    [
      (s) => (s.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: -1, hard: 1 }]),
      /process.rlimits\[0\].soft/,
    ],
    [(s) => (s.process.oomScoreAdj = 1001), /process.oomScoreAdj/],
    [(s) => (s.process.terminal = 'yes'), /process.terminal must be a boolean/],
    [(s) => (s.mounts[0].destination = 'proc'), /mounts\[0\].destination "proc" is not an absolute path/],
    [(s) => (s.mounts[0].options = 'ro'), /mounts\[0\].options must be an array/],
    [(s) => (s.hooks = { createContainer: {} }), /hooks.createContainer must be an array/],
    [(s) => (s.hooks = { createContainer: [{ path: 'mount' }] }), /hooks.createContainer\[0\].path "mount"/],
    [
      (s) => (s.hooks = { createContainer: [{ path: '/m', args: [1] }] }),
      /hooks.createContainer\[0\].args\[0\]/,
    ],
    [
      (s) => (s.linux.namespaces = [{ type: 'fs' }]),
      /linux.namespaces\[0\].type "fs" is not a namespace type/,
    ],
    [
      (s) => (s.linux.namespaces = [{ type: 'pid' }, { type: 'pid' }]),
      /linux.namespaces\[1\].type pid appears twice/,
    ],
    [(s) => (s.linux.namespaces = [{ type: 'network', path: 'netns' }]), /linux.namespaces\[0\].path/],
    [(s) => (s.linux.resources.memory.limit = '32m'), /linux.resources.memory.limit/],
    [
      (s) => (s.linux.resources.memory = { limit: 100, swap: 50 }),
      /memory.swap 50 is below the memory limit/,
    ],
    [(s) => (s.linux.resources.memory.swappiness = 101), /linux.resources.memory.swappiness/],
    [(s) => (s.linux.resources.cpu = { shares: -1 }), /linux.resources.cpu.shares/],
    [(s) => (s.linux.resources.cpu = { cpus: 'all' }), /linux.resources.cpu.cpus/],
    [(s) => (s.linux.resources.pids = {}), /linux.resources.pids.limit is required/],
    [(s) => (s.linux.resources.pids = { limit: 'many' }), /linux.resources.pids.limit/],
    [(s) => (s.linux.resources.devices = [{ allow: 'yes' }]), /linux.resources.devices\[0\].allow/],
    [
      (s) => (s.linux.resources.devices = [{ allow: true, access: 'rwx' }]),
      /linux.resources.devices\[0\].access/,
    ],
    [(s) => (s.linux.resources.devices = [{ allow: true, type: 'z' }]), /linux.resources.devices\[0\].type/],
    [(s) => (s.linux.maskedPaths = ['proc/kcore']), /linux.maskedPaths\[0\]/],
    [(s) => (s.linux.devices = [{ path: '/dev/x', type: 'q' }]), /linux.devices\[0\].type/],
    [(s) => (s.linux.seccomp = { defaultAction: 'SCMP_ACT_NOPE' }), /linux.seccomp.defaultAction/],
    [
      (s) => (s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_Z80'] }),
      /linux.seccomp.architectures\[0\]/,
    ],
    [
      (s) =>
        (s.linux.seccomp = {
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [{ names: [], action: 'SCMP_ACT_ERRNO' }],
        }),
      /linux.seccomp.syscalls\[0\].names must not be empty/,
    ],
    [
      (s) =>
        (s.linux.seccomp = {
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [
            { names: ['x'], action: 'SCMP_ACT_ERRNO', args: [{ index: 9, value: 0, op: 'SCMP_CMP_EQ' }] },
          ],
        }),
      /linux.seccomp.syscalls\[0\].args\[0\].index/,
    ],
    [(s) => (s.annotations = { a: 1 }), /annotations.a must be a string/],
  ];
  for (const [mutate, message] of cases) {
    const spec = good();
    mutate(spec);
    assert.throws(
      () => validateRuntimeSpec(spec),
      (err: unknown) => {
        assert.ok(err instanceof InvalidArgumentError);
        assert.match(err.message, /^invalid runtime spec: /);
        assert.match(err.message, message);
        return true;
      },
      String(message),
    );
  }
  for (const bad of [null, [], 'config', 42])
    assert.throws(() => validateRuntimeSpec(bad), InvalidArgumentError);
});
